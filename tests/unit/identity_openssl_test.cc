// Cross-check with an independent implementation: these keys and tokens were made by the
// openssl CLI (OpenSSL 3.0; genpkey for RSA-2048, P-256 and Ed25519; `dgst -sha256 -sign` for
// RS256 and ES256, the ES256 DER signature unpacked to R||S; `pkeyutl -sign -rawin` for EdDSA),
// with Python only joining base64url and JSON. They expire in 2100.
#include <gtest/gtest.h>

#include <string>

#include "relay/identity/base64url.h"
#include "relay/identity/jwt_verifier.h"

namespace tg::identity {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

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

const char kOpensslRs256[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6Im9wZW5zc2wtcnNhIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lk"
    "cC50ZXN0IiwiYXVkIjoiaHR0cHM6Ly9hcHAudHVubmVsLnRlc3QiLCJzdWIiOiJvcGVuc3NsIiwiZXhwIjo0MTAy"
    "NDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImdyb3VwcyI6WyJjbGkiXX0.F-lJvzQUqv89dZK78FZtNRNq4o493A9U"
    "g0l9qd3oHrPhWbdPrkItOqfSK3IqFM6GdmXRQAZoziG-FK6VyPZ4CdFj5iRcf57weVw_v8Mf3utczS66K3KgnBfK"
    "GDE1jO3gr5g7lHRugjMA-QToHqm42WAQWTET2D9j1MPx9E_9ythRzdJTuvo_hWFujT435Z_2gG3iUuEzos6ESKqD"
    "iFNWIWQRU6KMYcxESRN9qfA6pfjhuCrwcG2KhU3zD5iT1M6zlQhJvvyz-qy6veBNLiwxcFCwZ5YJ6um3M60cCVIs"
    "lqOESuzTC6eVdlZ_kgWBQCJtcumdG5abuHrMrkYuSlIhKw";

const char kOpensslEs256[] =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6Im9wZW5zc2wtZWMiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkc"
    "C50ZXN0IiwiYXVkIjoiaHR0cHM6Ly9hcHAudHVubmVsLnRlc3QiLCJzdWIiOiJvcGVuc3NsIiwiZXhwIjo0MTAyN"
    "DQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImdyb3VwcyI6WyJjbGkiXX0._rn8tctWs6nEupjQhv4zpT-jGYGP5ECsL"
    "nFQCd9956JtTjH7pb_CoOKDDBEoQgrF9D9oNfiDa0aAyZmoDG587Q";

const char kOpensslEdDsa[] =
    "eyJhbGciOiJFZERTQSIsImtpZCI6Im9wZW5zc2wtZWQiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkc"
    "C50ZXN0IiwiYXVkIjoiaHR0cHM6Ly9hcHAudHVubmVsLnRlc3QiLCJzdWIiOiJvcGVuc3NsIiwiZXhwIjo0MTAyN"
    "DQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImdyb3VwcyI6WyJjbGkiXX0.nzAWUIjkHaprdxxO5sbZFcpjKan4KFS5l"
    "Bo283pSXgA_8mORBGIE4uDT3t5jgkMkHtDPQ1jbYL2n0TiAtJqSAQ";

JwtVerifier openssl_verifier() {
  policy::Identity identity;
  identity.jwt.push_back({"https://idp.test", "memory", false, {}, 1});
  Result<JwtVerifier> verifier = JwtVerifier::create(
      identity,
      [](const policy::JwtIssuer&) -> Result<std::string> { return std::string(kOpensslJwks); });
  EXPECT_TRUE(verifier.ok()) << verifier.error().message;
  return std::move(verifier).value();
}

TEST(JwtOpenssl, VerifiesTokensSignedByOpenssl) {
  const JwtVerifier verifier = openssl_verifier();
  for (const char* token : {kOpensslRs256, kOpensslEs256, kOpensslEdDsa}) {
    Result<VerifiedToken> verified = verifier.verify(token, "https://app.tunnel.test", kNow);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->subject(), "openssl");
    ASSERT_EQ(verified->groups().size(), 1u);
    EXPECT_EQ(verified->groups()[0], "cli");
  }
}

TEST(JwtOpenssl, RefusesOpensslTokensWithAFlippedSignatureBit) {
  const JwtVerifier verifier = openssl_verifier();
  for (std::string token : {kOpensslRs256, kOpensslEs256, kOpensslEdDsa}) {
    const std::size_t dot = token.rfind('.');
    std::string signature = *decode_base64url(std::string_view(token).substr(dot + 1));
    signature[10] = static_cast<char>(signature[10] ^ 0x40);
    token = token.substr(0, dot + 1) + encode_base64url(signature);
    Result<VerifiedToken> verified = verifier.verify(token, "https://app.tunnel.test", kNow);
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().message, "signature does not verify");
  }
}

}  // namespace
}  // namespace tg::identity
