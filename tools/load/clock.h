/// The one clock every timestamp of the load generator reads: CLOCK_MONOTONIC in
/// nanoseconds. The SSE backend and the visitors are threads of one process, so an event's
/// send time and its arrival time come from the same clock and subtract exactly.
#pragma once

#include <time.h>

#include <cstdint>

namespace tg::load {

inline std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace tg::load
