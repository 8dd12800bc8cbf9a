/// Identity sources declared in the policy file, beside the rules they serve.
///
/// The policy loader reads and checks `[[identity.jwt]]` and `[[identity.api_key]]` so that
/// they load, fail and reload together with the rules; verifying tokens and keys is the
/// identity layer's work, which hands its results to the access decision as attributes
/// (`jwt.*`, `api_key.name`).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tg::policy {

/// Where Debian (and most distributions) keep the system's trusted CA certificates.
inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";
inline constexpr std::int64_t kDefaultJwksRefreshSeconds = 300;
inline constexpr std::int64_t kMinJwksRefreshSeconds = 30;
inline constexpr std::int64_t kMaxJwksRefreshSeconds = 86400;

/// `[[identity.jwt]]`: an issuer whose bearer tokens the relay accepts.
struct JwtIssuer {
  std::string issuer;                     // the exact `iss` value
  std::string jwks;                       // an https:// URL, or a file path (resolved against
                                          // the policy file's folder)
  bool jwks_is_url = false;               // true for https:// URLs
  std::string jwks_ca = kSystemCaBundle;  // URL only: the CA certificates (PEM) that the
                                          // JWKS server's chain must lead to (resolved
                                          // against the policy file's folder)
  std::int64_t jwks_refresh_seconds = kDefaultJwksRefreshSeconds;  // URL only: how often
                                                                   // it is fetched again
  std::vector<std::string> audiences;  // empty: the tunnel's public URL is the audience
  int line = 0;                        // where it is declared, for messages
};

/// `[[identity.api_key]]`: a named key, stored as the SHA-256 of the key.
struct ApiKey {
  std::string name;                       // becomes api_key.name
  std::array<std::uint8_t, 32> sha256{};  // from 64 hex digits (either case)
  int line = 0;
};

struct Identity {
  std::vector<JwtIssuer> jwt;
  std::vector<ApiKey> api_keys;
};

}  // namespace tg::policy
