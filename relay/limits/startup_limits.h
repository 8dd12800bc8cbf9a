/// How many SSH connections may wait unauthenticated, OpenSSH's `MaxStartups` "start:rate:full".
///
/// A connection that has not authenticated costs a descriptor, a libssh session and, for the
/// key exchange, CPU, and anyone can open one. Below `start` unauthenticated connections every
/// new one is admitted; from `start` on a new one is dropped with probability `rate` percent,
/// rising linearly to 100 % at `full`; at `full` and beyond every new one is dropped. The
/// random early drop keeps a flood from owning the last slots outright: a real publisher still
/// gets in with some probability while the flood holds the count between start and full, and
/// the login grace time keeps turning the flood's connections over. A dropped connection is
/// closed before the relay sends any SSH bytes.
///
/// The relay counts unauthenticated connections over all workers (one atomic in `Shared`); the
/// decision itself is this pure function, so it can be tested apart from the event loop.
#pragma once

#include <cstdint>
#include <string_view>

#include "relay/base/result.h"

namespace tg {

struct StartupLimits {
  std::uint32_t start = 64;  // unauthenticated connections admitted without a draw
  std::uint32_t rate = 30;   // percent dropped at `start`
  std::uint32_t full = 256;  // from here on every new connection is dropped

  /// Whether a new connection is dropped when `unauthenticated` are already waiting, given
  /// `draw`, a uniformly random number in [0, 100).
  bool drops(std::uint32_t unauthenticated, std::uint32_t draw) const;
};

/// Parses "start:rate:full" (e.g. "10:30:100") or a single number N (= "N:100:N": every
/// connection beyond N is dropped). Needs 1 <= start <= full and rate <= 100.
Result<StartupLimits> parse_startup_limits(std::string_view text);

}  // namespace tg
