/// The worker's publishers: the SSH sessions it accepted, the forwards they asked for, the
/// policy's decision on each, and the tunnel table those decisions fill.
///
/// It owns every publisher session pinned to this worker (libssh, non-blocking, driven by
/// one-shot polls on the worker's ring), the SSH port's limits before authentication, the
/// table of names this worker serves (`Tunnel`), and the recent exposure events kept for
/// GET /v1/exposures. A granted forward claims its name in the process-wide registry and
/// announces the route to every worker; a closed one releases it. It is libssh's callback
/// target (`ssh::SessionEvents`), so everything here runs on the owning worker's thread;
/// other workers reach it only by message (kCloseSession, kCloseTunnel), dispatched by Worker.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "relay/io/mailbox.h"
#include "relay/io/ring.h"
#include "relay/limits/ssh_gate.h"
#include "relay/policy/policy.h"
#include "ssh/ssh.h"

namespace tg {

class Worker;

/// A published name on this worker: the session that serves it and its traffic counters.
struct Tunnel {
  // Tells this tunnel from an earlier or later one of the same name on this worker (a takeover,
  // or a name closed and published again): what a visitor connection is counted on.
  std::uint64_t serial = 0;
  std::string name;
  std::string url;
  ssh::PublisherSession* session = nullptr;
  ssh::Forward forward;
  std::string target_host = "localhost";  // Host header the publisher's service sees
  policy::ActorClass actor_class = policy::ActorClass::kHuman;
  std::string expose_rule;            // the rule that admitted it
  std::uint64_t opened_ms = 0;        // steady clock
  std::uint64_t opened_epoch_ms = 0;  // wall clock, for people
  std::uint64_t last_request_epoch_ms = 0;
  std::uint64_t open_connections = 0;
  // Open visitor connections to all tunnels of the publisher's key, across workers.
  std::shared_ptr<std::atomic<std::uint32_t>> key_connections;
  std::uint64_t requests = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  // What the access rules covering the name say (Worker::tunnel_settings keeps it current).
  policy::TunnelSettings settings;
  std::uint64_t settings_generation = 0;  // the policy generation `settings` was read from
};

class Publishers final : public ssh::SessionEvents {
 public:
  /// "https://NAME.DOMAIN[:port]/": the public URL of a name.
  std::string public_url(std::string_view name) const;
  explicit Publishers(Worker& worker);
  ~Publishers();
  Publishers(const Publishers&) = delete;
  Publishers& operator=(const Publishers&) = delete;

  /// A connection accepted on the SSH port: admitted by the gate, or closed before libssh
  /// says a word.
  void accept_ssh(int fd);
  /// Ends sessions whose authentication is late, or all of them when the drain is over.
  void tick(bool grace_over);
  /// Tells every authenticated session that the relay is draining.
  void tell_draining();
  /// Frees the sessions that have ended and have no completion in flight.
  void reap();
  bool idle() const { return sessions_.empty() && dying_sessions_.empty(); }
  /// Session work is queued for this round: the loop's wait must only peek.
  bool work_pending() const { return !deferred_sessions_.empty() || !sessions_to_flush_.empty(); }
  /// Sends each session's SSH output of the loop round, once, before the loop waits.
  void flush_sessions();
  void run_deferred_sessions();

  Tunnel* find_tunnel(std::string_view name) {
    if (name.empty()) return nullptr;
    auto it = tunnels_.find(std::string(name));
    return it == tunnels_.end() ? nullptr : it->second.get();
  }
  /// Closes the tunnel `name` with the reason on its session; false when none is served here.
  bool close_tunnel(const std::string& name, std::string_view why);
  /// Another worker granted this session's name to a new session of the same key.
  void close_taken_over(std::uint64_t session_id, const std::string& name);
  /// Re-decides every tunnel of `only` (or of all sessions when null) after a policy or class
  /// change; tunnels no longer allowed are closed with the reason on their session.
  unsigned recheck_exposures(const ssh::PublisherSession* only);
  /// Disconnects the sessions whose key `server` no longer authorizes; returns how many.
  unsigned disconnect_unauthorized(const ssh::Server& server);

  // For snapshots (GET /v1/tunnels, /v1/exposures, /v1/metrics).
  /// Appends, comma-separated, the exposure events at or after `since_epoch_ms`.
  void append_exposures(std::uint64_t since_epoch_ms, std::string& json) const;
  /// Appends, comma-separated and by name, the tunnels the request's filters select.
  void append_tunnels(const io::Message& request, std::string& json) const;
  std::size_t tunnel_count() const { return tunnels_.size(); }
  std::size_t session_count() const { return sessions_.size(); }
  std::size_t unauthenticated_count() const;

  // ssh::SessionEvents
  ssh::ForwardDecision on_forward_request(ssh::PublisherSession& session,
                                          const ssh::Forward& requested) override;
  void on_forward_cancelled(ssh::PublisherSession& session, const ssh::Forward& forward) override;
  void on_authenticated(ssh::PublisherSession& session) override;
  void on_auth_refused(ssh::PublisherSession& session) override;
  void on_options(ssh::PublisherSession& session) override;
  void on_output_pending(ssh::PublisherSession& session) override;
  void on_deferred_work(ssh::PublisherSession& session) override;

 private:
  struct SessionSlot;

  void arm_session_poll(SessionSlot& slot, bool write);
  static void on_session_readable(void* slot, const io_uring_cqe& cqe);
  static void on_session_writable(void* slot, const io_uring_cqe& cqe);
  void after_session_io(SessionSlot& slot);
  /// Queues a flush after libssh ran: it may have buffered packets of its own.
  void flush_after_libssh(SessionSlot& slot);
  void end_session(SessionSlot& slot);
  /// Calls `visit` for each live session whose id is queued, emptying the queue.
  template <typename Visit>
  void drain_session_queue(std::vector<std::uint64_t>& queue, Visit visit);
  SessionSlot* slot_of(std::uint64_t session_id);
  /// Asks the policy whether `session` may expose `name` (with the class it asked for).
  policy::ExposeDecision decide_expose(const ssh::PublisherSession& session,
                                       std::string_view name) const;
  /// Remembers an exposure event (opened, closed, refused) for GET /v1/exposures.
  void record_exposure(std::string_view event, std::string_view name,
                       const ssh::PublisherSession& session, std::string_view reason);
  /// Tells every worker (this one included) that `name` is now served here by claim
  /// `generation` of `session_id`, or no longer.
  void publish_route(const std::string& name, std::uint64_t session_id, std::uint64_t generation,
                     bool online);
  /// Frees `name` in the registry if `session_id` still holds it, and publishes "offline".
  void release_name(const std::string& name, std::uint64_t session_id);

  Worker& worker_;
  std::uint64_t next_session_serial_ = 1;
  std::uint64_t next_tunnel_serial_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<SessionSlot>> sessions_;
  std::unordered_map<std::string, std::unique_ptr<Tunnel>> tunnels_;
  std::vector<SessionSlot*> dying_sessions_;
  std::vector<std::uint64_t> deferred_sessions_;  // sessions whose run_deferred is due
  std::vector<std::uint64_t> sessions_to_flush_;  // sessions whose output leaves this round
  SshGate ssh_gate_;                              // the SSH port's limits before authentication
  // Recent exposure events as JSON objects with their wall-clock time, oldest first; bounded
  // so a busy relay keeps the last kMaxExposures per worker.
  std::deque<std::pair<std::uint64_t, std::string>> exposures_;
};

}  // namespace tg
