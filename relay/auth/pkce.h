/// Proof Key for Code Exchange (RFC 7636), S256 only: what binds an authorization code to the
/// client instance that asked for it, so a code intercepted on its way back is useless.
///
/// The authorization endpoint stores the client's `code_challenge`; the token endpoint
/// receives the `code_verifier` and checks that BASE64URL(SHA-256(verifier)) equals it. The
/// plain method is refused: OAuth 2.1 and the MCP authorization spec require S256. Pure
/// functions; the comparison takes the same time wherever the strings differ.
#pragma once

#include <string>
#include <string_view>

namespace tg::auth {

/// RFC 7636 §4.1: 43 to 128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~".
bool is_code_verifier(std::string_view verifier);
/// An S256 challenge: 43 base64url characters (the encoding of 32 bytes).
bool is_s256_challenge(std::string_view challenge);
/// True when `verifier` is well formed and BASE64URL(SHA-256(verifier)) == `challenge`.
bool s256_matches(std::string_view verifier, std::string_view challenge);
/// The challenge for `verifier` (for clients the tests write, and for benchmarks).
std::string s256_challenge(std::string_view verifier);

}  // namespace tg::auth
