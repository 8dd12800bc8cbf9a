// Fuzzes the JWKS parser with arbitrary text, then uses what it accepts: a verifier built on
// the set verifies a fixed token (whose key is not in the set unless the fuzzer rebuilt it).
// Checked beyond memory safety:
// - an accepted set holds between 1 and kMaxJwksEntries keys, each within its type's limits
//   (RSA 2048-4096 bits with no leading zero byte and an odd exponent);
// - errors and notes are printable ASCII (they go to the log and quote kids from the set);
// - a verifier over an accepted set refuses the fixed token with a short phrase or accepts it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/identity/identity.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace id = tg::identity;

// An EdDSA token for https://idp.test made by the openssl CLI (kid "openssl-ed"; see
// tests/unit/identity_openssl_test.cc).
const char kToken[] =
    "eyJhbGciOiJFZERTQSIsImtpZCI6Im9wZW5zc2wtZWQiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkc"
    "C50ZXN0IiwiYXVkIjoiaHR0cHM6Ly9hcHAudHVubmVsLnRlc3QiLCJzdWIiOiJvcGVuc3NsIiwiZXhwIjo0MTAyN"
    "DQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImdyb3VwcyI6WyJjbGkiXX0.nzAWUIjkHaprdxxO5sbZFcpjKan4KFS5l"
    "Bo283pSXgA_8mORBGIE4uDT3t5jgkMkHtDPQ1jbYL2n0TiAtJqSAQ";

void check_printable(std::string_view text) {
  for (char c : text) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
}

void check_key(const id::Jwk& key) {
  switch (key.type) {
    case id::KeyType::kRsa:
      FUZZ_CHECK(key.bits >= id::kMinRsaBits && key.bits <= id::kMaxRsaBits);
      FUZZ_CHECK(key.modulus.size() == static_cast<std::size_t>((key.bits + 7) / 8));
      FUZZ_CHECK(!key.modulus.empty() && key.modulus.front() != 0);
      FUZZ_CHECK(!key.exponent.empty() && (key.exponent.back() & 1) == 1);
      break;
    case id::KeyType::kEcP256:
    case id::KeyType::kEd25519:
      FUZZ_CHECK(key.bits == 256);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tg::fuzz::as_text(data, size);
  tg::Result<id::Jwks> jwks = id::parse_jwks(input);
  if (!jwks) {
    check_printable(jwks.error().message);
    return 0;
  }
  FUZZ_CHECK(!jwks->keys.empty() && jwks->keys.size() <= id::kMaxJwksEntries);
  for (const id::Jwk& key : jwks->keys) check_key(key);
  for (const std::string& note : jwks->notes) check_printable(note);

  tg::policy::Identity identity;
  identity.jwt.push_back({"https://idp.test", "memory", false, {}, 1});
  tg::Result<id::JwtVerifier> verifier = id::JwtVerifier::create(
      identity,
      [&](const tg::policy::JwtIssuer&) -> tg::Result<std::string> { return std::string(input); });
  FUZZ_CHECK(verifier.ok());
  tg::Result<id::VerifiedToken> verified =
      verifier->verify(kToken, "https://app.tunnel.test", 1'700'000'000);
  if (!verified) {
    FUZZ_CHECK(verified.error().message.size() <= 80);
    check_printable(verified.error().message);
  } else {
    FUZZ_CHECK(verified->subject() == "openssl");
  }
  return 0;
}
