/// A worker: one thread, one io_uring, and everything that lives on it.
///
/// Thread per core: each worker has its own listening sockets (SO_REUSEPORT, so the kernel
/// spreads new connections), its own SSH sessions and tunnels, and its own visitor
/// connections. A visitor connection is accepted by any worker, which reads the ClientHello,
/// finds the worker that owns the named tunnel, and hands the socket over through the
/// mailboxes before any TLS work is done; from then on the connection, its TLS state and its
/// SSH channel all belong to the same worker, and its bytes never cross cores. A connection
/// from a trusted load balancer (`[https] proxy_protocol_from`) first gives its PROXY v2
/// header, whose source address then stands for the visitor's, handoff included.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "relay/admin/inventory.h"
#include "relay/identity/token_cache.h"
#include "relay/io/accept_backoff.h"
#include "relay/io/buffer_ring.h"
#include "relay/io/outbox.h"
#include "relay/io/ring.h"
#include "relay/limits/memory_budget.h"
#include "relay/limits/source_limiter.h"
#include "relay/limits/source_refusals.h"
#include "relay/limits/ssh_gate.h"
#include "relay/log/log.h"
#include "relay/policy/policy.h"
#include "relay/proxy/mcp_params.h"
#include "relay/proxy/mcp_sessions.h"
#include "relay/proxy/mcp_tasks.h"
#include "relay/routing/route_table.h"
#include "relay/worker/shared.h"
#include "ssh/ssh.h"
#include "tls/ticket_keys.h"
#include "tls/tls.h"

namespace tg {

class VisitorConnection;
class AdminServer;

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

class Worker final : public ssh::SessionEvents {
 public:
  Worker(unsigned index, Shared& shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Runs the loop on the calling thread until shutdown; creates the ring and listeners
  /// first (the ring must be created by the thread that submits to it).
  void run();

  // For visitor connections (same thread).
  unsigned index() const { return index_; }
  io::Ring& ring() { return ring_; }
  io::BufferRing& buffers() { return buffers_; }
  tls::ServerTlsContext& tls() { return *tls_; }
  const Config& config() const { return shared_.config; }
  log::Buffer& logs() { return logs_; }
  /// Records one decision in the audit trail (when configured): `line` is a finished
  /// JsonLine with event "audit".
  void audit(std::string_view line) {
    if (shared_.audit_fd >= 0) audit_.push(line);
  }
  std::uint64_t now_ms() const { return now_ms_; }
  /// Wall-clock seconds, read once per loop round (for time.hour / time.weekday in policies).
  std::uint64_t now_epoch_s() const { return now_epoch_s_; }
  Tunnel* find_tunnel(std::string_view name);
  void forget(VisitorConnection* connection);
  bool stopping() const { return stopping_; }
  WorkerCounters& counters() { return counters_; }
  /// Bytes this worker's connections hold in their buffers, against the process's budget.
  WorkerMemory& memory() { return memory_; }
  const policy::Policy& policy() const { return policy_->rules; }
  const identity::Sources& identity_sources() const { return policy_->identity; }
  identity::TokenCache& token_cache() { return token_cache_; }
  identity::SigningKey& assertion_key() { return *shared_.assertion_keys[index_]; }
  const std::string& assertion_jwks() const { return shared_.assertion_jwks; }
  /// The settings of the access rules covering `tunnel`'s name under the current policy,
  /// read again only after a reload.
  const policy::TunnelSettings& tunnel_settings(Tunnel& tunnel) const {
    if (tunnel.settings_generation != policy_generation_) {
      tunnel.settings = policy_->rules.tunnel_settings(tunnel.name);
      tunnel.settings_generation = policy_generation_;
    }
    return tunnel.settings;
  }
  /// MCP inspection applies: a rule says `mcp = true`, or the tunnel's class is agent.
  bool is_mcp(Tunnel& tunnel) const {
    return tunnel.actor_class == policy::ActorClass::kAgent || tunnel_settings(tunnel).mcp;
  }
  std::string next_request_id();
  /// Which subject each MCP session of this worker's tunnels belongs to.
  McpSessionTable& mcp_sessions() { return mcp_sessions_; }
  McpTaskTable& mcp_tasks() { return mcp_tasks_; }
  McpParamTable& mcp_params() { return mcp_params_; }

  // For the admin API (worker 0): ask every worker, answers arrive at the AdminServer.
  void ask_snapshots(std::uint64_t request_id, const std::string& name, const std::string& owner,
                     bool exposures = false, std::uint64_t since_epoch_ms = 0,
                     const std::string& actor_class = {});
  /// False when no worker serves `name`.
  bool ask_close_tunnel(std::uint64_t request_id, const std::string& name);
  /// Every worker reloads its certificates and authorized keys; replies reach the admin
  /// server (request_id 0: a SIGHUP, only logged).
  void ask_reload(std::uint64_t request_id);

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
  struct Listener;
  struct SessionSlot;
  struct Prelude;

  Status start();
  Status open_listeners();
  void arm_accept(Listener& listener);
  static void on_accept(void* listener, const io_uring_cqe& cqe);
  void accept_https(int fd);
  void accept_ssh(int fd);
  /// An accept failed for want of a descriptor: count it, and rest the listener a while.
  void pause_accepts(Listener& listener, int error);
  /// Re-arms the listeners whose pause is over (from tick()).
  void resume_accepts();

  // Visitors before routing: read the ClientHello, route by SNI.
  void arm_prelude_recv(Prelude& prelude);
  static void on_prelude_recv(void* prelude, const io_uring_cqe& cqe);
  /// Reads a trusted balancer's PROXY v2 header off the front of the prelude's bytes; true
  /// when bytes after it are there to route, false when it waits, or closed the connection.
  bool take_proxy_header(Prelude& prelude);
  void route(Prelude& prelude, std::string_view server_name);
  void start_visitor(int fd, std::string_view initial_bytes, const sockaddr_storage& peer,
                     std::string name, int fixed_status, unsigned source_worker);
  /// Counts one more connection from `peer`; false (counted, logged) when over the cap.
  bool admit_source(const sockaddr_storage& peer);
  /// A connection over the cap: true when it is to be answered 503 (a refusal slot taken),
  /// false when it is to be closed at once (source_refusals.h).
  bool take_refusal_slot();
  /// Answers a refused connection 503 with Retry-After after its TLS handshake, here.
  void answer_source_refusal(Prelude& prelude, std::string_view server_name);
  /// A visitor accepted by `source_worker` from `peer` has closed: that worker's per-source
  /// count goes down (by message when it is another worker).
  void release_source(const sockaddr_storage& peer, unsigned source_worker);
  /// One log line per second at most for refused connections, with how many it stands for.
  void log_refusal(std::string_view reason, const sockaddr_storage& peer);
  void close_prelude(Prelude& prelude);

  // Publisher sessions.
  void arm_session_poll(SessionSlot& slot, bool write);
  static void on_session_readable(void* slot, const io_uring_cqe& cqe);
  static void on_session_writable(void* slot, const io_uring_cqe& cqe);
  void after_session_io(SessionSlot& slot);
  /// Queues a flush after libssh ran: it may have buffered packets of its own.
  void flush_after_libssh(SessionSlot& slot);
  void end_session(SessionSlot& slot);
  void run_deferred_sessions();
  /// Sends each session's SSH output of the loop round, once, before the loop waits.
  void flush_sessions();
  /// Calls `visit` for each live session whose id is queued, emptying the queue.
  template <typename Visit>
  void drain_session_queue(std::vector<std::uint64_t>& queue, Visit visit);
  void flush_audit();
  SessionSlot* slot_of(std::uint64_t session_id);

  static void on_mailbox(void* worker, const io_uring_cqe& cqe);
  /// Handles every message queued for this worker (from its wake-up, or before routing).
  void take_messages();
  void handle_message(std::unique_ptr<io::Message> message);
  /// Tells every worker (this one included) that `name` is now served here by claim
  /// `generation` of `session_id`, or no longer.
  void publish_route(const std::string& name, std::uint64_t session_id, std::uint64_t generation,
                     bool online);
  /// Frees `name` in the registry if `session_id` still holds it, and publishes "offline".
  void release_name(const std::string& name, std::uint64_t session_id);
  void flush_outboxes();
  void send_reliably(unsigned to, std::unique_ptr<io::Message> message);
  std::unique_ptr<io::Message> snapshot(const io::Message& request);
  bool close_tunnel(const std::string& name, std::string_view why);
  /// Remembers an exposure event (opened, closed, refused) for GET /v1/exposures.
  /// Reloads this worker's TLS context and SSH server from the configured files; on error
  /// the running ones stay. Returns what changed.
  Result<std::string> reload(std::shared_ptr<const PolicySet> new_policy);
  /// Asks the policy whether `session` may expose `name` (with the class it asked for).
  policy::ExposeDecision decide_expose(const ssh::PublisherSession& session,
                                       std::string_view name) const;
  /// Re-decides every tunnel of `only` (or of all sessions when null) after a policy or class
  /// change; tunnels no longer allowed are closed with the reason on their session.
  unsigned recheck_exposures(const ssh::PublisherSession* only);
  void record_exposure(std::string_view event, std::string_view name,
                       const ssh::PublisherSession& session, std::string_view reason);
  void tick();
  void begin_shutdown();
  std::string public_url(std::string_view name) const;
  void reap();

  unsigned index_;
  Shared& shared_;
  io::Ring ring_;
  io::BufferRing buffers_;
  std::unique_ptr<tls::TicketKeys> ticket_keys_;  // outlives every TLS context of this worker
  std::unique_ptr<tls::ServerTlsContext> tls_;
  std::shared_ptr<ssh::Server> ssh_server_;
  log::Buffer logs_;
  log::Buffer audit_{-1};
  bool audit_ok_ = true;  // the last audit write went through
  io::Completion mailbox_completion_{};
  std::uint64_t now_ms_ = 0;
  std::uint64_t now_epoch_s_ = 0;
  std::uint64_t next_session_serial_ = 1;
  std::uint64_t next_tunnel_serial_ = 1;
  std::uint64_t last_tick_ms_ = 0;
  std::uint64_t shutdown_deadline_ms_ = 0;
  bool stopping_ = false;
  bool taking_messages_ = false;  // inside take_messages()

  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<std::uint64_t, std::unique_ptr<SessionSlot>> sessions_;
  std::unordered_map<std::string, std::unique_ptr<Tunnel>> tunnels_;
  std::unordered_set<Prelude*> preludes_;
  std::unordered_set<VisitorConnection*> visitors_;
  std::vector<SessionSlot*> dying_sessions_;
  std::vector<std::uint64_t> deferred_sessions_;  // sessions whose run_deferred is due
  std::vector<std::uint64_t> sessions_to_flush_;  // sessions whose output leaves this round
  RouteTable routes_;
  std::shared_ptr<const PolicySet> policy_;
  std::uint64_t policy_generation_ = 1;  // bumped when policy_ changes
  identity::TokenCache token_cache_;     // bearer tokens this worker has verified
  std::uint64_t next_request_serial_ = 1;
  WorkerCounters counters_;
  SourceLimiter sources_;           // HTTPS connections this worker accepted, per source address
  SshGate ssh_gate_;                // the SSH port's limits before authentication
  SourceRefusals source_refusals_;  // connections over that cap being answered 503
  WorkerMemory memory_;
  std::uint64_t refusal_logged_ms_ = 0;  // when log_refusal last wrote a line
  std::uint64_t refusals_unlogged_ = 0;  // refusals since then
  McpSessionTable mcp_sessions_;
  McpTaskTable mcp_tasks_;
  McpParamTable mcp_params_;
  // Recent exposure events as JSON objects with their wall-clock time, oldest first; bounded
  // so a busy relay keeps the last kMaxExposures per worker.
  std::deque<std::pair<std::uint64_t, std::string>> exposures_;
  std::unique_ptr<AdminServer> admin_;  // worker 0, when [admin] is configured
  std::uint64_t reloads_seen_ = 0;      // worker 0: SIGHUPs acted on
  std::string certificate_digest_;      // to tell whether a reload changed the certificate
  // What a full mailbox refused and must not be dropped (unlike a visitor handoff), per
  // receiving worker, retried every loop round.
  io::Outbox outbox_;
  std::vector<Prelude*> dying_preludes_;
  std::vector<VisitorConnection*> dying_visitors_;
};

}  // namespace tg
