// Fuzzes what strangers hand the sign-in endpoints beyond form fields: Cookie headers, Dynamic
// Client Registration bodies and Client ID Metadata Documents, and the text inside sealed
// grants. Checked beyond memory safety:
// - without_cookie never leaves the removed cookie readable, and keeps every other cookie's
//   value as cookie_value reads it;
// - a parsed registration has 1 to kMaxRedirectUris redirect URIs, each one that may be
//   registered, and a client name within bounds without control bytes;
// - a metadata document that parses names exactly the URL it was checked against;
// - a grant that decodes encodes to text that decodes to the same grant.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/auth/auth.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void check_cookies(std::string_view header) {
  using tg::auth::kTunnelSessionCookie;
  const std::string rest = tg::auth::without_cookie(header, kTunnelSessionCookie);
  bool repeated = false;
  FUZZ_CHECK(tg::auth::cookie_value(rest, kTunnelSessionCookie, &repeated).empty());
  FUZZ_CHECK(!repeated);
  for (std::string_view name : {"a", "theme", "__Host-tg_auth"}) {
    bool twice = false;
    const std::string_view before = tg::auth::cookie_value(header, name, &twice);
    if (!twice) FUZZ_CHECK(tg::auth::cookie_value(rest, name) == before);
  }
}

void check_registration(std::string_view json) {
  auto parsed = tg::auth::parse_registration_request(json);
  if (!parsed) return;
  FUZZ_CHECK(!parsed->redirect_uris.empty());
  FUZZ_CHECK(parsed->redirect_uris.size() <= tg::auth::kMaxRedirectUris);
  FUZZ_CHECK(parsed->client_name.size() <= tg::auth::kMaxClientNameBytes);
  for (const char c : parsed->client_name) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20);
  for (const auto& uri : parsed->redirect_uris) FUZZ_CHECK(tg::auth::check_redirect_uri(uri));
  FUZZ_CHECK(parsed->client_id.empty());
  auto document = tg::auth::parse_client_metadata_document(json, "https://app.example/c.json");
  if (document) FUZZ_CHECK(document->client_id == "https://app.example/c.json");
}

void check_grants(std::string_view text) {
  if (auto code = tg::auth::decode_code(text)) {
    auto again = tg::auth::decode_code(tg::auth::encode(*code));
    FUZZ_CHECK(again && again->id == code->id && again->expires == code->expires &&
               again->person.sub == code->person.sub && again->redirect_uri == code->redirect_uri);
  }
  if (auto refresh = tg::auth::decode_refresh(text)) {
    auto again = tg::auth::decode_refresh(tg::auth::encode(*refresh));
    FUZZ_CHECK(again && again->family == refresh->family &&
               again->generation == refresh->generation && again->scope == refresh->scope);
  }
  if (auto registration = tg::auth::decode_registration(text)) {
    auto again = tg::auth::decode_registration(tg::auth::encode(*registration));
    FUZZ_CHECK(again && again->redirect_uris == registration->redirect_uris);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tg::fuzz::as_text(data, size);
  check_cookies(input);
  check_registration(input);
  check_grants(input);
  return 0;
}
