// LeaseKeeper: the arithmetic of lease_keeper.h.
#include "relay/cluster/lease_keeper.h"

#include <algorithm>

namespace tg::cluster {

LeaseKeeper::TimePoint fence_time(LeaseKeeper::TimePoint sent_at, std::chrono::seconds ttl,
                                  std::chrono::milliseconds request_deadline) {
  return sent_at + ttl - request_deadline;
}

LeaseKeeper::LeaseKeeper(std::chrono::seconds ttl, std::chrono::milliseconds request_deadline)
    : ttl_(ttl), request_deadline_(request_deadline) {}

void LeaseKeeper::lose() {
  state_ = State::kNone;
  lease_ = 0;
  ++losses_;
}

LeaseKeeper::Action LeaseKeeper::next_action(TimePoint now) {
  if (state_ == State::kHeld && now >= serve_until_) lose();
  if (now < retry_at_) return Action::kWait;
  if (state_ == State::kNone) return Action::kGrant;
  return now >= last_sent_ + renew_interval() ? Action::kRenew : Action::kWait;
}

LeaseKeeper::TimePoint LeaseKeeper::next_action_at(TimePoint now) const {
  if (state_ == State::kNone) return std::max(now, retry_at_);
  const TimePoint renew = std::max(last_sent_ + renew_interval(), retry_at_);
  return std::max(now, std::min(renew, serve_until_));
}

void LeaseKeeper::on_granted(std::int64_t lease, std::chrono::seconds granted_ttl,
                             TimePoint sent_at) {
  state_ = State::kHeld;
  lease_ = lease;
  // etcd may grant more than asked (its minimum TTL), never trust it for less than asked.
  granted_ttl_ = std::min(granted_ttl, ttl_);
  if (granted_ttl_.count() <= 0) granted_ttl_ = ttl_;
  last_sent_ = sent_at;
  serve_until_ = fence_time(sent_at, granted_ttl_, request_deadline_);
  retry_at_ = {};
}

void LeaseKeeper::on_renewed(std::chrono::seconds ttl, TimePoint sent_at) {
  if (state_ != State::kHeld) return;
  if (ttl.count() <= 0) {
    lose();  // etcd says the lease is gone: whatever the fence says, the names are not ours
    return;
  }
  // An answer to a keepalive sent before the fence passed, arriving after it, changes
  // nothing: next_action has already declared the lease lost.
  if (sent_at >= serve_until_) return;
  const std::chrono::seconds renewed = std::min(ttl, granted_ttl_);
  last_sent_ = std::max(last_sent_, sent_at);
  serve_until_ = std::max(serve_until_, fence_time(sent_at, renewed, request_deadline_));
  retry_at_ = {};
}

void LeaseKeeper::on_failed(TimePoint now) {
  retry_at_ = now + request_deadline_ / 2;
}

}  // namespace tg::cluster
