#include "relay/limits/source_limiter.h"

#include <netinet/in.h>

#include <cstring>

namespace tg {

SourceKey SourceKey::of(const sockaddr_storage& peer) {
  SourceKey key;
  if (peer.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(peer);
    key.bytes[10] = 0xff;
    key.bytes[11] = 0xff;
    std::memcpy(key.bytes.data() + 12, &in4.sin_addr, 4);
  } else if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    std::memcpy(key.bytes.data(), &in6.sin6_addr, 16);
    // An IPv4-mapped address is one IPv4 host: keep it whole. Any other IPv6 source is
    // counted by its /64, the unit a single subscriber is usually given.
    if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) std::memset(key.bytes.data() + 8, 0, 8);
  }
  return key;
}

std::size_t SourceLimiter::Hash::operator()(const SourceKey& key) const {
  // FNV-1a over the 16 bytes: the table is per worker and sized by open connections, and the
  // attacker does not choose collisions cheaply enough to matter next to the cap itself.
  std::uint64_t hash = 14695981039346656037ULL;
  for (const std::uint8_t byte : key.bytes) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  }
  return static_cast<std::size_t>(hash);
}

bool SourceLimiter::admit(const SourceKey& key) {
  if (cap_ == 0) return true;
  auto it = counts_.find(key);
  if (it == counts_.end()) {
    if (counts_.size() >= max_sources_) return false;
    counts_.emplace(key, 1);
    return true;
  }
  if (it->second >= cap_) return false;
  ++it->second;
  return true;
}

void SourceLimiter::release(const SourceKey& key) {
  if (cap_ == 0) return;
  auto it = counts_.find(key);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

std::uint32_t SourceLimiter::open_from(const SourceKey& key) const {
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace tg
