// Fuzzes the parsers of an OpenID provider's answers (relay/auth/upstream): the discovery
// document and the token endpoint's response, with arbitrary text. Checked beyond memory
// safety:
// - an accepted discovery document names exactly the configured issuer and three endpoints
//   that parse as https:// URLs;
// - an accepted token response has an id_token;
// - errors hold no control characters (they go to the log and quote the provider's words).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/auth/upstream/provider_metadata.h"
#include "relay/auth/upstream/token_response.h"
#include "relay/identity/jwks_fetch.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace up = tg::auth::upstream;

constexpr std::string_view kIssuer = "https://idp.test";

void check_no_controls(std::string_view text) {
  for (const char c : text) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto metadata = up::parse_provider_metadata(text, kIssuer);
  if (metadata.ok()) {
    FUZZ_CHECK(metadata->issuer == kIssuer);
    for (const std::string* url :
         {&metadata->authorization_endpoint, &metadata->token_endpoint, &metadata->jwks_uri}) {
      FUZZ_CHECK(tg::identity::parse_https_url(*url).ok());
    }
  } else {
    check_no_controls(metadata.error().message);
  }

  for (const int status : {200, 400}) {
    auto response = up::parse_token_response(status, text);
    if (response.ok()) {
      FUZZ_CHECK(status == 200 && !response->id_token.empty());
    } else {
      check_no_controls(response.error().message);
    }
  }
  return 0;
}
