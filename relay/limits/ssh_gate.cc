#include "relay/limits/ssh_gate.h"

namespace tg {

SshRefusal SshGate::admit(int fd, const SourceKey& source) {
  if (high_water_ != 0 && static_cast<std::uint64_t>(fd) >= high_water_) {
    return SshRefusal::kDescriptorReserve;
  }
  if (!sources_.admit(source)) return SshRefusal::kPerSource;
  // Take the place first, then decide on the count as it was: two workers admitting at once
  // then never pass `full` together.
  const std::uint32_t before = unauthenticated_.fetch_add(1, std::memory_order_relaxed);
  std::uniform_int_distribution<std::uint32_t> percent(0, 99);
  if (startups_.drops(before, percent(random_))) {
    unauthenticated_.fetch_sub(1, std::memory_order_relaxed);
    sources_.release(source);
    return SshRefusal::kStartups;
  }
  return SshRefusal::kNone;
}

void SshGate::authenticated() {
  unauthenticated_.fetch_sub(1, std::memory_order_relaxed);
}

void SshGate::closed(const SourceKey& source, bool authenticated) {
  if (!authenticated) unauthenticated_.fetch_sub(1, std::memory_order_relaxed);
  sources_.release(source);
}

}  // namespace tg
