/// Signing JWTs with a key the relay holds: the other half of verification.
///
/// The relay signs the short-lived identity assertion it hands to published services (ES256)
/// and publishes the public half as a JWKS; the tests and benchmarks sign tokens for every
/// accepted algorithm the same way. A `SigningKey` generates its key pair with wolfCrypt
/// (RSA 2048-4096, P-256, Ed25519), signs in the JOSE encodings (RS256 PKCS#1 v1.5 over the
/// SHA-256 DigestInfo, ES256 raw R||S, EdDSA Ed25519) and writes its public JWK.
///
/// Not thread-safe: it owns a random generator and wolfCrypt key state. Keep one per worker
/// (generate once, then pass the JWKS around). Signing a short token costs 20 µs (ES256),
/// 14 µs (EdDSA) or 0.5 ms (RS256-2048); generating an RSA-2048 key takes a fraction of a
/// second.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "relay/base/result.h"
#include "relay/identity/jws_algorithm.h"

namespace tg::identity {

class SigningKey {
 public:
  /// A new key pair for `algorithm`; `rsa_bits` applies to RS256 only.
  static Result<SigningKey> generate(JwsAlgorithm algorithm, std::string kid, int rsa_bits = 2048);

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  JwsAlgorithm algorithm() const;
  const std::string& kid() const;

  /// The JOSE signature of `message` (bytes, not base64url).
  Result<std::string> sign(std::string_view message);
  /// base64url(header_json) "." base64url(payload_json) "." base64url(signature): any header,
  /// so tests can write wrong ones.
  Result<std::string> sign_compact(std::string_view header_json, std::string_view payload_json);
  /// As sign_compact with the header {"alg":…,"typ":"JWT","kid":…}.
  Result<std::string> sign_jwt(std::string_view payload_json);

  /// The public key as a JWK object: kty, crv or n/e, x/y, kid, alg, use "sig".
  std::string public_jwk() const;

 private:
  struct State;
  explicit SigningKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// {"keys":[…]} over the keys' public JWKs.
std::string jwks_json(std::span<const SigningKey* const> keys);

/// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

}  // namespace tg::identity
