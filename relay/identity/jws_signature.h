/// Checking one JWS signature with wolfCrypt, given a key from a JWKS.
///
/// The key is imported into a wolfCrypt object on the stack for each check (0.15 µs for RSA
/// and P-256, 12 ns for Ed25519, next to 17-57 µs for the signature itself), because wolfCrypt's
/// RsaKey and ecc_key keep state while they work: importing per call is what lets one key set serve
/// every worker without a lock. Signatures are exactly the JOSE encodings (RFC 7518 §3):
/// RS256 the modulus length, ES256 64 bytes of R||S (not DER), EdDSA 64 bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "relay/base/result.h"
#include "relay/identity/jwks.h"

namespace tg::identity {

/// True when `signature` is `key`'s signature of `signing_input` (a JWT's
/// "header.payload" text) under the key's algorithm. Never throws or allocates.
bool verify_jws_signature(const Jwk& key, std::string_view signing_input,
                          std::span<const std::uint8_t> signature) noexcept;

/// Imports `key` into wolfCrypt once and checks what wolfCrypt can (an EC point on P-256, an
/// RSA modulus it accepts), for parse_jwks.
Status check_public_key(const Jwk& key);

}  // namespace tg::identity
