/// JSON Web Key Sets (RFC 7517): an issuer's public keys, from the JSON text of a file or of
/// a fetched URL (fetching is the caller's work).
///
/// `parse_jwks` keeps the keys a token may be verified with: kty RSA (n, e; 2048 to 4096
/// bits), kty EC with crv P-256 (x, y; the point must lie on the curve) and kty OKP with crv
/// Ed25519 (x). Each is checked by importing it into wolfCrypt once. Keys it cannot use (a
/// symmetric `oct` key, another curve, `use` other than "sig", `key_ops` without "verify", an
/// `alg` other than the one its type verifies, a short RSA modulus, a repeated kid) are left
/// out with a note saying why, for the log; only a set with no usable key is an error. A key
/// that carries private parts (d, p, q, …) is used for its public half, with a note (the
/// operator has published a secret). The notes and errors quote nothing but kids and names
/// from the set, sanitised to printable ASCII.
///
/// Costs: microseconds per key (the EC curve check is the dearest), paid at policy load or
/// JWKS refresh; nothing here is on the request path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"
#include "relay/identity/jws_algorithm.h"

namespace tg::identity {

/// One usable public key, as raw big-endian numbers (imported into wolfCrypt per use, so a
/// key set can be shared by threads: wolfCrypt's key objects keep state while verifying).
struct Jwk {
  KeyType type = KeyType::kRsa;
  std::string kid;                       // "" when the JWK has none
  bool declares_alg = false;             // it names its alg (always algorithm_for(type))
  std::vector<std::uint8_t> modulus;     // RSA n, without leading zero bytes
  std::vector<std::uint8_t> exponent;    // RSA e, without leading zero bytes
  std::array<std::uint8_t, 64> point{};  // EC P-256: x then y; Ed25519: x in the first 32
  int bits = 0;                          // RSA modulus size; 256 for the curves

  JwsAlgorithm algorithm() const { return algorithm_for(type); }
};

struct Jwks {
  std::vector<Jwk> keys;           // in file order
  std::vector<std::string> notes;  // one line per key left out (or kept with a warning)
};

/// Limits on what a key set may hold.
inline constexpr std::size_t kMaxJwksBytes = 1 << 20;
inline constexpr std::size_t kMaxJwksEntries = 256;
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 4096;

/// Parses a JWKS document: `{"keys": [ … ]}`. Errors ("jwks: …") for text that is not such a
/// document, and for a set in which no key is usable (the notes then say why).
Result<Jwks> parse_jwks(std::string_view json);

}  // namespace tg::identity
