/// The node's etcd lease as a state machine with fencing: when to grant, when to renew, and
/// until when this node may serve the names it claimed under the lease. Pure: every input is
/// a time the caller passes in (a steady clock), so the rules are tested without etcd or sleep.
///
/// Why the fence holds. etcd sets a lease's expiry to (the moment its leader handles a grant
/// or keepalive) + TTL, and a new leader extends every lease on taking office. The leader
/// handles a request after this node sent it, so the lease cannot expire before
/// `sent_at + TTL` of the last request that succeeded, as measured by a clock running at the
/// rate of this node's. The keeper stops serving at
///
///     serve_until = sent_at + TTL − request_deadline
///
/// where the request deadline (about 1 s) is the margin for everything the fence does not
/// see: the time workers take to stop serving once told, and clock-rate drift between this
/// node and etcd's leader. Another node can claim a name only after the lease is gone at etcd,
/// so two sessions of different owners never serve one name at once.
///
/// Renewals are due every TTL/3 after the last successful one was sent; a failed renewal is
/// tried again after half a request deadline, until the fence passes: then the lease counts as
/// lost (its names are no longer ours: workers close their sessions and tell the publishers
/// to reconnect), and the keeper grants a new lease. A keepalive answered with TTL 0 (etcd says
/// the lease is gone) fences at once. The config keeps TTL ≥ 3 request deadlines, so at least
/// two renewals can fail before the fence.
#pragma once

#include <chrono>
#include <cstdint>

namespace tg::cluster {

class LeaseKeeper {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  enum class State {
    kNone,  // no lease: grant one (nothing may be served)
    kHeld,  // a lease whose fence has not passed: serve, renew when due
  };
  enum class Action { kGrant, kRenew, kWait };

  LeaseKeeper(std::chrono::seconds ttl, std::chrono::milliseconds request_deadline);

  /// What to do at `now`. Also moves a held lease past its fence to kNone (a lease lost).
  Action next_action(TimePoint now);
  /// When next_action will next ask for something (now when it already does).
  TimePoint next_action_at(TimePoint now) const;

  /// A grant sent at `sent_at` was answered with `lease` and `granted_ttl`.
  void on_granted(std::int64_t lease, std::chrono::seconds granted_ttl, TimePoint sent_at);
  /// A keepalive sent at `sent_at` was answered with `ttl` (0: the lease is gone).
  void on_renewed(std::chrono::seconds ttl, TimePoint sent_at);
  /// A grant or keepalive got no answer within its deadline; `now` is when that was known.
  void on_failed(TimePoint now);

  /// Names claimed under the lease may be served at `now`.
  bool may_serve(TimePoint now) const { return state_ == State::kHeld && now < serve_until_; }
  TimePoint serve_until() const { return serve_until_; }
  State state() const { return state_; }
  std::int64_t lease() const { return lease_; }
  /// Leases lost to a passed fence or to etcd saying they are gone, since construction.
  std::uint64_t losses() const { return losses_; }

 private:
  void lose();
  std::chrono::milliseconds renew_interval() const {
    return std::chrono::milliseconds(granted_ttl_) / 3;
  }

  const std::chrono::seconds ttl_;
  const std::chrono::milliseconds request_deadline_;
  State state_ = State::kNone;
  std::int64_t lease_ = 0;
  std::chrono::seconds granted_ttl_{0};
  TimePoint last_sent_{};    // of the last grant or keepalive that succeeded
  TimePoint serve_until_{};  // the fence
  TimePoint retry_at_{};     // after a failure: not before this
  std::uint64_t losses_ = 0;
};

/// The fence on its own: the instant from which a node whose last successful grant or
/// keepalive was sent at `sent_at` must not serve.
LeaseKeeper::TimePoint fence_time(LeaseKeeper::TimePoint sent_at, std::chrono::seconds ttl,
                                  std::chrono::milliseconds request_deadline);

}  // namespace tg::cluster
