/// Which accepted SSH connections may become sessions: the SSH port's limits before
/// authentication, in the order they are checked.
///
/// 1. The descriptor reserve: a socket numbered at or above the high-water mark
///    (relay/base/file_limit.h) is refused, so SSH never takes the descriptors visitors need.
/// 2. Per source: open SSH connections from one address (IPv6: one /64), authenticated or not,
///    counted by this worker with the same `SourceLimiter` as the HTTPS port's cap.
/// 3. Max startups: connections not yet authenticated, counted over all workers in one shared
///    atomic, dropped early at random between start and full (relay/limits/startup_limits.h).
///
/// A refused connection is closed by the caller before any SSH bytes, and nothing stays
/// counted for it. An admitted one holds a place in both counts: its place among the
/// unauthenticated is given back when it authenticates or closes, its source's when it closes.
/// One gate per worker, used by that worker's thread only (the shared count is atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <random>

#include "relay/limits/source_limiter.h"
#include "relay/limits/startup_limits.h"

namespace tg {

enum class SshRefusal : std::uint8_t { kNone, kDescriptorReserve, kPerSource, kStartups };

class SshGate {
 public:
  /// `per_source` 0: no per-source cap. `high_water` 0: no descriptor check.
  SshGate(std::uint32_t per_source, StartupLimits startups,
          std::atomic<std::uint32_t>& unauthenticated, std::uint64_t high_water, std::uint64_t seed)
      : sources_(per_source),
        startups_(startups),
        unauthenticated_(unauthenticated),
        high_water_(high_water),
        random_(static_cast<std::uint_fast32_t>(seed)) {}

  /// Decides on the socket `fd` accepted from `source`; kNone admits it (and counts it).
  SshRefusal admit(int fd, const SourceKey& source);
  /// An admitted connection authenticated: it no longer counts against max_startups.
  void authenticated();
  /// An admitted connection closed; `authenticated` says whether `authenticated()` was called.
  void closed(const SourceKey& source, bool authenticated);

  std::uint32_t open_from(const SourceKey& source) const { return sources_.open_from(source); }

 private:
  SourceLimiter sources_;
  StartupLimits startups_;
  std::atomic<std::uint32_t>& unauthenticated_;
  std::uint64_t high_water_;
  std::minstd_rand random_;
};

}  // namespace tg
