// PKCE S256 with wolfCrypt's SHA-256.
#include "relay/auth/pkce.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
// clang-format on

#include <cstdint>

#include "relay/identity/base64url.h"

namespace tg::auth {
namespace {

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char differences = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    differences |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return differences == 0;
}

}  // namespace

bool is_code_verifier(std::string_view verifier) {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  for (char c : verifier) {
    if (!is_unreserved(c)) return false;
  }
  return true;
}

bool is_s256_challenge(std::string_view challenge) {
  if (challenge.size() != 43) return false;
  for (char c : challenge) {
    if (!is_base64url_char(c)) return false;
  }
  // 43 characters carry 258 bits: the last one's low two bits must be zero for 32 bytes.
  return identity::decode_base64url(challenge).has_value();
}

std::string s256_challenge(std::string_view verifier) {
  std::uint8_t digest[WC_SHA256_DIGEST_SIZE];
  if (wc_Sha256Hash(reinterpret_cast<const byte*>(verifier.data()),
                    static_cast<word32>(verifier.size()), digest) != 0) {
    return {};
  }
  return identity::encode_base64url(std::span<const std::uint8_t>(digest, sizeof digest));
}

bool s256_matches(std::string_view verifier, std::string_view challenge) {
  if (!is_code_verifier(verifier) || !is_s256_challenge(challenge)) return false;
  const std::string expected = s256_challenge(verifier);
  return !expected.empty() && equal_in_constant_time(expected, challenge);
}

}  // namespace tg::auth
