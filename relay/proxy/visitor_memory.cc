// Memory accounting of a visitor connection: what its buffers hold, charged to its worker's
// account so the process-wide budget (relay/limits/memory_budget.h) sees every connection.

#include "relay/proxy/visitor_connection.h"
#include "relay/worker/worker.h"

namespace tg {

void VisitorConnection::account_memory() {
  // Capacities, not sizes: a buffer that grew keeps its allocation after it drains, and that
  // is what the process holds. libssh's bytes for this channel count too: a slow visitor
  // makes them pile up there (up to the channel window) rather than in our buffers.
  std::size_t held = 0;
  if (!closed_) {
    held = in_plain_.capacity() + sending_.capacity() + to_publisher_.capacity() +
           response_head_.capacity() + request_head_.capacity() + target_.capacity() +
           raw_target_.capacity() + tls_.held_bytes() +
           (channel_ != nullptr ? channel_->buffered : 0);
  }
  worker_.memory().charge(static_cast<std::int64_t>(held) -
                          static_cast<std::int64_t>(accounted_bytes_));
  accounted_bytes_ = held;
}

}  // namespace tg
