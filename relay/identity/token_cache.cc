// TokenCache: an open-addressing index (linear probing, deletion by backward shift) over a
// fixed set of entries replaced by the clock algorithm.
#include "relay/identity/token_cache.h"

#include <bit>
#include <functional>

namespace tg::identity {

TokenCache::TokenCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {
  // At most half full, so probes stay short.
  index_.assign(std::bit_ceil(capacity_ * 2), kEmpty);
}

void TokenCache::clear() {
  entries_.clear();
  std::fill(index_.begin(), index_.end(), kEmpty);
  hand_ = 0;
  live_ = 0;
}

std::size_t TokenCache::find(std::uint64_t hash, std::string_view token) const {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const std::uint32_t slot = index_[i];
    if (slot == kEmpty) return std::string_view::npos;
    const Entry& entry = entries_[slot - 1];
    if (entry.hash == hash && entry.token == token) return slot - 1;
  }
}

void TokenCache::link(std::size_t entry) {
  const std::size_t mask = index_.size() - 1;
  std::size_t i = entries_[entry].hash & mask;
  while (index_[i] != kEmpty) i = (i + 1) & mask;
  index_[i] = static_cast<std::uint32_t>(entry + 1);
}

void TokenCache::unlink(std::size_t entry) {
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = entries_[entry].hash & mask;
  while (index_[hole] != entry + 1) hole = (hole + 1) & mask;
  index_[hole] = kEmpty;
  // Backward shift: pull later members of the probe run into the hole when their home
  // position does not lie cyclically in (hole, j].
  for (std::size_t j = (hole + 1) & mask; index_[j] != kEmpty; j = (j + 1) & mask) {
    const std::size_t home = entries_[index_[j] - 1].hash & mask;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    index_[hole] = index_[j];
    index_[j] = kEmpty;
    hole = j;
  }
  entries_[entry].live = false;
  --live_;
}

std::size_t TokenCache::take_slot(std::int64_t now) {
  if (entries_.size() < capacity_) {
    entries_.emplace_back();
    return entries_.size() - 1;
  }
  // The clock: a referenced entry gets a second chance; an expired one goes at once. Ends
  // within two turns, since every pass clears the bits it skips.
  for (;;) {
    const std::size_t at = hand_;
    hand_ = (hand_ + 1) % entries_.size();
    Entry& entry = entries_[at];
    if (!entry.live) return at;
    if (entry.last_valid < now || !entry.referenced) {
      ++(entry.last_valid < now ? stats_.expirations : stats_.evictions);
      unlink(at);
      return at;
    }
    entry.referenced = false;
  }
}

Result<const VerifiedToken*> TokenCache::verify(const JwtVerifier& verifier, std::string_view token,
                                                std::string_view tunnel_url, std::int64_t now) {
  if (verifier.id() != verifier_id_) {
    clear();
    verifier_id_ = verifier.id();
  }
  const std::uint64_t hash = std::hash<std::string_view>{}(token);
  if (const std::size_t at = find(hash, token); at != std::string_view::npos) {
    Entry& entry = entries_[at];
    if (now > entry.last_valid) {
      ++stats_.expirations;
      unlink(at);
      return make_error("expired");
    }
    ++stats_.hits;
    entry.referenced = true;
    if (Status audience = verifier.check_audience(entry.claims, tunnel_url); !audience) {
      return audience.error();
    }
    return &entry.claims;
  }

  ++stats_.misses;
  Result<VerifiedToken> verified = verifier.verify(token, tunnel_url, now);
  if (!verified) return verified.error();
  const std::size_t at = take_slot(now);
  Entry& entry = entries_[at];
  entry.hash = hash;
  entry.token.assign(token);
  entry.claims = std::move(verified).value();
  entry.last_valid = verifier.last_valid_second(entry.claims.expires_at());
  entry.live = true;
  entry.referenced = false;
  link(at);
  ++live_;
  return &entry.claims;
}

}  // namespace tg::identity
