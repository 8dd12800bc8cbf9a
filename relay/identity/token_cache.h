/// Verified tokens remembered until they expire, so repeat requests skip the signature.
///
/// One `TokenCache` per worker, used only by that worker's thread (no locks). It maps a
/// token's exact bytes (a 64-bit hash to find the entry, then a full comparison) to the
/// claims its verification produced, until the token's `exp` (plus the verifier's leeway).
/// A hit still checks the audience against the tunnel asked for, since one token may be
/// presented to several tunnels; so a hit answers exactly what `JwtVerifier::verify` would,
/// errors included ("expired" once the time has come). Only tokens that verified are
/// stored; failures are not remembered (a forged token costs a signature check every time).
/// When the verifier changes (policy reload, JWKS refresh) the cache empties itself, so a
/// key removed from a JWKS stops admitting its tokens at once.
///
/// Bounded: at most `capacity` tokens (default 4096), replaced by the clock algorithm (an
/// approximation of least-recently-used; expired entries go first). Memory is about the token
/// plus its claims per entry, some 2-3 KB for a typical 1 KB token, so ~10 MB per worker when
/// full. A hit costs a hash of the token, one comparison and the audience check: 0.13-0.17 µs
/// for a 750-byte to 1 KB token (0.25-0.45 µs in a full cache), against 17-57 µs for a
/// verification (bench/identity_benchmark.cc). A hit does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"
#include "relay/identity/jwt_verifier.h"
#include "relay/identity/verified_token.h"

namespace tg::identity {

class TokenCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 4096;

  struct Stats {
    std::uint64_t hits = 0;         // answered without verifying
    std::uint64_t misses = 0;       // verified (successfully or not)
    std::uint64_t evictions = 0;    // live entries replaced to make room
    std::uint64_t expirations = 0;  // entries found expired
  };

  explicit TokenCache(std::size_t capacity = kDefaultCapacity);

  /// As `verifier.verify(token, tunnel_url, now)`, from the cache when it can. The token
  /// returned stays valid until the next call on this cache (copy it to keep it longer).
  Result<const VerifiedToken*> verify(const JwtVerifier& verifier, std::string_view token,
                                      std::string_view tunnel_url, std::int64_t now);

  void clear();
  std::size_t size() const { return live_; }
  std::size_t capacity() const { return capacity_; }
  const Stats& stats() const { return stats_; }

 private:
  struct Entry {
    std::uint64_t hash = 0;
    std::string token;
    VerifiedToken claims;
    std::int64_t last_valid = 0;  // last second the token is accepted
    bool live = false;
    bool referenced = false;  // the clock's second chance
  };
  static constexpr std::uint32_t kEmpty = 0;  // index_ holds entry number + 1

  std::size_t find(std::uint64_t hash, std::string_view token) const;  // entry or npos
  void unlink(std::size_t entry);
  void link(std::size_t entry);
  std::size_t take_slot(std::int64_t now);

  std::size_t capacity_;
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> index_;  // open addressing, linear probing, power of two
  std::size_t hand_ = 0;
  std::size_t live_ = 0;
  std::uint64_t verifier_id_ = 0;
  Stats stats_;
};

}  // namespace tg::identity
