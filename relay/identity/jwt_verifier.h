/// Verifying bearer JWTs (JWS compact serialization, RFC 7515/7519) against the issuers of the
/// policy's `[[identity.jwt]]` tables.
///
/// A `JwtVerifier` is built from a policy's Identity and the text of each issuer's JWKS (a
/// loader hands it over: read from a file, or the last successful fetch of a URL), and is
/// immutable afterwards: every worker may call `verify` on one shared instance at once (the
/// wolfCrypt key is imported per call, simdjson's parser is per thread). Rebuild it when the
/// policy or a JWKS changes; a TokenCache notices the new verifier and forgets what the old
/// one verified.
///
/// `verify` accepts a token only when all of these hold, checked in this order:
///  1. at most 8 KiB, three strict base64url parts, header and payload JSON objects with no
///     member named twice, no `crit` header;
///  2. header alg RS256, ES256 or EdDSA (never `none`, never HS*);
///  3. `iss` names a configured issuer; `kid` selects one of its keys (without a kid, the one
///     key that fits the alg), whose type fits the alg;
///  4. the signature verifies;
///  5. `exp` is present and after now - leeway; `nbf` and `iat`, if present, are before
///     now + leeway;
///  6. `aud` (a string or an array) holds one of the issuer's configured audiences or, when
///     it has none, the tunnel's public URL (a trailing "/" on either side is ignored).
/// Header members other than alg and kid (jku, x5u, jwk, …) are never used: keys come only
/// from the configured JWKS.
///
/// One side effect: when a token's kid is not in the key set of an issuer whose JWKS is fetched
/// from an https:// URL, and the verifier was built with `JwtOptions::refresh_requests`, it asks
/// there for an early fetch of that document (one atomic operation, no lock, no wait; see
/// jwks_refresh_requests.h). The token is refused all the same: a retry after the refresh, which
/// rebuilds the verifier, may succeed.
///
/// Errors are one short phrase, safe to log and to count by (they never quote the token or
/// its claims): "token larger than 8 KiB", "malformed: …", "alg none refused", "alg HS*
/// refused", "alg not accepted", "crit header not supported", "duplicate member in header",
/// "duplicate claim in payload", "no iss", "unknown issuer", "unknown kid", "alg does not
/// match the key", "no key for this alg", "kid required: several keys fit", "signature does
/// not verify", "exp missing", "expired", "not yet valid", "issued in the future", "aud
/// missing", "wrong audience", "no JWT issuer is configured".
///
/// Costs (RelWithDebInfo, CPU time on one core; bench/identity_benchmark.cc): the signature
/// dominates, 17 µs for RS256-2048, 57 µs for ES256, 43 µs for EdDSA; decoding, parsing and
/// checking a typical 750-byte token is 1.5 µs of that. A verification allocates a few times
/// (the claims' buffer and lists) and uses about 16 KB of stack (the decode buffer and a
/// wolfCrypt RsaKey). Put a TokenCache in front for repeat requests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"
#include "relay/identity/jwks.h"
#include "relay/identity/jwks_refresh_requests.h"
#include "relay/identity/verified_token.h"
#include "relay/policy/identity.h"

namespace tg::identity {

inline constexpr std::size_t kMaxTokenBytes = 8192;

struct JwtOptions {
  /// Clock skew tolerated on exp, nbf and iat (0 to 86400; values outside are clamped).
  std::int64_t leeway_seconds = 60;
  /// Where an unknown kid from a URL issuer asks for an early JWKS fetch; null: nowhere. Must
  /// outlive the verifier.
  JwksRefreshRequests* refresh_requests = nullptr;
};

/// Returns the JWKS text of one issuer, or an error saying why it has none.
using JwksLoader = std::function<Result<std::string>(const policy::JwtIssuer& issuer)>;

/// The default loader: reads `issuer.jwks` when it is a file (the policy loader has resolved
/// it against the policy's folder); for an https:// URL it answers an error, since fetching is
/// the caller's work (pass a loader that returns the last document fetched).
Result<std::string> read_jwks_file(const policy::JwtIssuer& issuer);

class JwtVerifier {
 public:
  /// Parses every issuer's JWKS. An issuer whose loader fails, or whose JWKS has no usable
  /// key, fails the whole verifier with "issuer "…" (line N): …", so a policy never loads
  /// with an issuer it cannot check.
  static Result<JwtVerifier> create(const policy::Identity& identity,
                                    const JwksLoader& load = read_jwks_file,
                                    JwtOptions options = {});

  /// Checks `token` (the text after "Bearer ") at `now` (seconds since the epoch) for a
  /// request to the tunnel whose public URL is `tunnel_url` ("https://name.domain[:port]").
  Result<VerifiedToken> verify(std::string_view token, std::string_view tunnel_url,
                               std::int64_t now) const;

  /// The audience check of `verify` alone, for a token verified earlier (the cache's hits:
  /// one token may be presented to several tunnels).
  Status check_audience(const VerifiedToken& token, std::string_view tunnel_url) const;

  /// Last second at which a token expiring at `exp` is still accepted.
  std::int64_t last_valid_second(std::int64_t exp) const { return exp + leeway_ - 1; }

  /// Unique per created verifier (copies share it): the cache's way to notice a new one.
  std::uint64_t id() const { return id_; }
  /// What parse_jwks noted about the issuers' keys (left out, or published with private
  /// parts), one line each, prefixed with the issuer: for the log.
  const std::vector<std::string>& notes() const { return notes_; }
  std::size_t issuer_count() const { return issuers_.size(); }

 private:
  struct Issuer {
    std::string name;
    std::vector<std::string> audiences;
    Jwks jwks;
    std::uint64_t document_bit = 0;  // a URL issuer's bit in refresh_requests_; 0 for a file
  };

  JwtVerifier() = default;
  Result<const Jwk*> select_key(const Issuer& issuer, JwsAlgorithm algorithm, bool has_kid,
                                std::string_view kid) const;

  std::vector<Issuer> issuers_;
  std::vector<std::string> notes_;
  std::int64_t leeway_ = 60;
  JwksRefreshRequests* refresh_requests_ = nullptr;
  std::uint64_t id_ = 0;
};

}  // namespace tg::identity
