/// The three JWS signature algorithms the relay accepts, and the key type each needs.
///
/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RSA keys of 2048 to 4096 bits), ES256 (ECDSA on
/// P-256 with SHA-256, signatures as raw R||S) and EdDSA (Ed25519). Everything else is
/// refused: `none` because it is no signature, HS* because a shared secret cannot be
/// configured as a public JWKS (and the classic attack verifies an HMAC keyed with the public
/// key), and the rest because nothing here needs them. Each key type verifies exactly one
/// algorithm, so "does this key fit this alg" is an equality.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tg::identity {

enum class JwsAlgorithm : std::uint8_t { kRS256, kES256, kEdDSA };

/// The supported key types: kty RSA; kty EC with crv P-256; kty OKP with crv Ed25519.
enum class KeyType : std::uint8_t { kRsa, kEcP256, kEd25519 };

/// "RS256", "ES256", "EdDSA".
std::string_view to_string(JwsAlgorithm algorithm);
/// "RSA", "EC P-256", "OKP Ed25519".
std::string_view to_string(KeyType type);

/// The algorithm named exactly `name`, if it is one of the three.
std::optional<JwsAlgorithm> parse_jws_algorithm(std::string_view name);

constexpr KeyType key_type_for(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::kRS256:
      return KeyType::kRsa;
    case JwsAlgorithm::kES256:
      return KeyType::kEcP256;
    case JwsAlgorithm::kEdDSA:
      return KeyType::kEd25519;
  }
  return KeyType::kRsa;
}

constexpr JwsAlgorithm algorithm_for(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return JwsAlgorithm::kRS256;
    case KeyType::kEcP256:
      return JwsAlgorithm::kES256;
    case KeyType::kEd25519:
      return JwsAlgorithm::kEdDSA;
  }
  return JwsAlgorithm::kRS256;
}

}  // namespace tg::identity
