// Fuzzes the authorization server's input parsers: form fields (token, registration and
// consent bodies, the authorization query), redirect URI registration and matching, PKCE, and
// opening sealed values. Checked beyond memory safety:
// - a parsed form has at most kMaxFormFields fields, no repeated name, no NUL, and encoding
//   every field back and parsing again gives the same fields (decoding loses nothing);
// - a redirect URI that may be registered matches itself; a match between two different
//   URIs happens only for loopback http:// URIs, and then both are loopback http://;
// - a PKCE verifier matches only its own challenge;
// - arbitrary text never opens as a sealed value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/auth/auth.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void check_form(std::string_view input) {
  auto form = tg::auth::FormFields::parse(input);
  if (!form) {
    FUZZ_CHECK(!form.error().message.empty());
    return;
  }
  const auto& fields = form->fields();
  FUZZ_CHECK(fields.size() <= tg::auth::kMaxFormFields);
  std::string again;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    FUZZ_CHECK(fields[i].name.find('\0') == std::string::npos);
    FUZZ_CHECK(fields[i].value.find('\0') == std::string::npos);
    for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(fields[i].name != fields[j].name);
    if (fields[i].name.empty() && fields[i].value.empty()) continue;
    again +=
        tg::auth::form_encode(fields[i].name) + "=" + tg::auth::form_encode(fields[i].value) + "&";
  }
  auto reparsed = tg::auth::FormFields::parse(again);
  FUZZ_CHECK(reparsed);
  for (const auto& field : fields) {
    if (field.name.empty() && field.value.empty()) continue;
    const std::string* value = reparsed->find(field.name);
    FUZZ_CHECK(value != nullptr && *value == field.value);
  }
}

void check_redirects(std::string_view registered, std::string_view presented) {
  using tg::auth::RedirectUriKind;
  const auto kind = tg::auth::check_redirect_uri(registered);
  if (kind) FUZZ_CHECK(tg::auth::redirect_uri_matches(registered, registered));
  if (registered != presented && tg::auth::redirect_uri_matches(registered, presented)) {
    FUZZ_CHECK(kind && *kind == RedirectUriKind::kLoopbackHttp);
    const auto other = tg::auth::check_redirect_uri(presented);
    FUZZ_CHECK(other && *other == RedirectUriKind::kLoopbackHttp);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tg::fuzz::as_text(data, size);
  check_form(input);
  const std::size_t newline = input.find('\n');
  const std::string_view first = input.substr(0, newline);
  const std::string_view second =
      newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
  check_redirects(first, second);
  check_redirects(second, first);

  if (tg::auth::is_code_verifier(first)) {
    FUZZ_CHECK(tg::auth::s256_matches(first, tg::auth::s256_challenge(first)));
    if (first != second)
      FUZZ_CHECK(!tg::auth::s256_matches(second, tg::auth::s256_challenge(first)));
  }

  static tg::auth::SealKeyring ring = [] {
    tg::auth::SealKey key;
    key.id = 1;
    return *tg::auth::SealKeyring::create({key});
  }();
  FUZZ_CHECK(!ring.open("code", input));
  return 0;
}
