// Fuzzes JWT verification against a fixed JWKS (an RSA, a P-256 and an Ed25519 key made by
// the openssl CLI, as in tests/unit/identity_openssl_test.cc). Two modes, by the first byte:
// - '{': the input is a payload. It is signed with an Ed25519 key made at start-up and the
//   token verified, so the claims checks after the signature (exp, nbf, iat, aud, claim
//   types, duplicates) see arbitrary JSON;
// - anything else: the input is the token itself (the seeds are real tokens, so mutations
//   reach the header, payload and signature parsers).
// Checked beyond memory safety:
// - an accepted token names the configured issuer, has not expired at `now` and carries the
//   tunnel's URL among its audiences (give or take a trailing "/"); its copy and its filled
//   AccessContext agree with it;
// - an error is a short printable phrase (it is logged; it never quotes the token);
// - a TokenCache answers exactly what the verifier answers, on a miss and on a hit.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "relay/identity/identity.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace id = tg::identity;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::string_view kTunnel = "https://app.tunnel.test";

const char kOpensslJwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"openssl-rsa\",\"n\":"
    "\"oAvq52Dys3TqtXjhPWyKE3NYPWrH8jO8qrWjOZrVV"
    "Qo-V8SUDp2vKxtRRp1LOmV6ngqserznfKYRy-6u8mi67Yp4MoHFWdwXdnLAnFL2k68zL4JbUOdeNboaCVhJ2lSfQ"
    "eyfmRuHhov-LKEQ_YDvYj5FblkESb7yVBBdo7F6P2Jsh1lWlO8WmCUHIhYwQpMdu9MEUu9T_JS1C4a_LQH60T-A9"
    "yVVS8UUCgm-V5wmf_U39NaQlpSnOiijn3Gsy8V1kIsKUq9ZaPz-DWTZBjwQaEEeMqaLEk7XbmyrilPyhkt9sMyoP"
    "lBv52SzjuutQSkIfU5M1_OgTeMFtRUe3Mgh-Q\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"openssl-"
    "ec\",\"crv\":"
    "\"P-256\",\"x\":\"v9rf4znMaARn1O64zMntcGut4aHh5pq0_4WoOnN2UKk\",\"y\":\"IUyzQfOIas424EkAzW_"
    "QvzXQP"
    "Xq8NUwPjzdKsU2RkvA\"},{\"kty\":\"OKP\",\"kid\":\"openssl-ed\",\"crv\":\"Ed25519\",\"x\":"
    "\"WPclawU0tuy4FZ"
    "T7LTDYJ2PlQMt4T5tfMCozAwU5zQg\"}]}";

struct Fixture {
  std::unique_ptr<id::JwtVerifier> verifier;
  std::unique_ptr<id::SigningKey> signer;
};

Fixture& fixture() {
  static Fixture* instance = [] {
    auto* made = new Fixture;
    tg::Result<id::SigningKey> signer = id::SigningKey::generate(id::JwsAlgorithm::kEdDSA, "fuzz");
    FUZZ_CHECK(signer.ok());
    made->signer = std::make_unique<id::SigningKey>(std::move(signer).value());
    std::string jwks(kOpensslJwks);
    jwks.insert(jwks.size() - 2, "," + made->signer->public_jwk());
    tg::policy::Identity identity;
    identity.jwt.push_back({"https://idp.test", "memory", false, {}, 1});
    tg::Result<id::JwtVerifier> verifier = id::JwtVerifier::create(
        identity, [&](const tg::policy::JwtIssuer&) -> tg::Result<std::string> { return jwks; });
    FUZZ_CHECK(verifier.ok());
    made->verifier = std::make_unique<id::JwtVerifier>(std::move(verifier).value());
    return made;
  }();
  return *instance;
}

void check_error(const std::string& message) {
  FUZZ_CHECK(!message.empty() && message.size() <= 80);
  for (char c : message) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
}

void check_token(const id::VerifiedToken& token, const id::JwtVerifier& verifier) {
  FUZZ_CHECK(token.issuer() == "https://idp.test");
  FUZZ_CHECK(kNow <= verifier.last_valid_second(token.expires_at()));
  bool has_tunnel = false;  // (a trailing "/" on the audience is ignored)
  for (std::string_view aud : token.audiences()) {
    if (aud.ends_with('/')) aud.remove_suffix(1);
    has_tunnel = has_tunnel || aud == kTunnel;
  }
  FUZZ_CHECK(has_tunnel);
  const id::VerifiedToken copy = token;
  tg::policy::AccessContext context;
  copy.fill(context);
  FUZZ_CHECK(context.jwt_iss == token.issuer() && context.jwt_sub == token.subject());
  FUZZ_CHECK(context.jwt_email == token.email());
  FUZZ_CHECK(context.jwt_claims("iss").value == token.issuer());
  for (std::string_view group : token.groups()) {
    FUZZ_CHECK(group.empty() || context.jwt_groups.contains(group));  // lists skip ""
  }
  FUZZ_CHECK(copy.claim("sub").value == token.claim("sub").value);
}

std::string outcome(const tg::Result<id::VerifiedToken>& result) {
  return result.ok() ? std::string("ok") : result.error().message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  std::string_view input = tg::fuzz::as_text(data, size);
  std::string token(input);
  if (!input.empty() && input[0] == '{') {
    tg::Result<std::string> signed_token = f.signer->sign_jwt(input);
    FUZZ_CHECK(signed_token.ok());
    token = std::move(signed_token).value();
  }

  tg::Result<id::VerifiedToken> verified = f.verifier->verify(token, kTunnel, kNow);
  if (verified) {
    check_token(*verified, *f.verifier);
  } else {
    check_error(verified.error().message);
  }

  // The cache agrees with the verifier, on the miss and on the hit.
  id::TokenCache cache(4);
  for (int round = 0; round < 2; ++round) {
    tg::Result<const id::VerifiedToken*> cached = cache.verify(*f.verifier, token, kTunnel, kNow);
    FUZZ_CHECK(cached.ok() == verified.ok());
    if (cached) {
      FUZZ_CHECK((*cached)->subject() == verified->subject());
      FUZZ_CHECK((*cached)->expires_at() == verified->expires_at());
    } else {
      FUZZ_CHECK(cached.error().message == outcome(verified));
    }
  }
  return 0;
}
