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
///
/// The worker is the loop and the owner. What runs on it is split into parts, one job each,
/// each in files of its own in this folder:
///
///   visitor_intake.*  accepting, the prelude (PROXY v2 header, ClientHello), per-source
///                     caps, routing by SNI and the handoff, the visitor connections
///   publishers.*      SSH sessions, their forwards, exposure decisions, the tunnel table
///   control.*         reload, the admin API's fan-out to every worker, snapshots,
///                     close-tunnel, the admin server itself
///   worker.*          the loop, the per-core state every part uses (ring, buffers, TLS
///                     context, policy, route table, counters, logs, clock, outbox), and the
///                     mailbox: handle_message() hands each message kind to its part
///
/// The parts are plain members (no allocation, no virtual call between them) and friends of
/// the worker: they run on its thread only and reach its per-core state directly. A new
/// mailbox message kind is one case in handle_message() calling the part that owns it.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "relay/admin/inventory.h"
#include "relay/identity/token_cache.h"
#include "relay/io/buffer_ring.h"
#include "relay/io/outbox.h"
#include "relay/io/ring.h"
#include "relay/limits/memory_budget.h"
#include "relay/log/log.h"
#include "relay/policy/policy.h"
#include "relay/proxy/mcp_params.h"
#include "relay/proxy/mcp_sessions.h"
#include "relay/proxy/mcp_tasks.h"
#include "relay/routing/route_table.h"
#include "relay/worker/control.h"
#include "relay/worker/publishers.h"
#include "relay/worker/shared.h"
#include "relay/worker/visitor_intake.h"
#include "ssh/ssh.h"
#include "tls/ticket_keys.h"
#include "tls/tls.h"

namespace tg {

namespace auth {
struct Exchange;
}
class VisitorConnection;

class Worker final {
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
  Tunnel* find_tunnel(std::string_view name) { return publishers_.find_tunnel(name); }
  void forget(VisitorConnection* connection) { intake_.forget(connection); }
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

  /// Sends a request for the relay's sign-in endpoints to a sign-in thread; `visitor` hears
  /// the answer (on_signin_answer) unless it calls forget_signin first. False when sign-in is
  /// off or the thread's queue is full.
  bool ask_signin(std::shared_ptr<auth::Exchange> exchange, VisitorConnection* visitor);
  void forget_signin(std::uint64_t connection);
  /// The auth host's URL ("https://auth.DOMAIN[:port]"), "" when sign-in is off.
  const std::string& signin_issuer() const { return shared_.signin_issuer; }
  /// "https://NAME.DOMAIN[:port]/": the public URL of a name.
  std::string public_url(std::string_view name) const;
  /// Which subject each MCP session of this worker's tunnels belongs to.
  McpSessionTable& mcp_sessions() { return mcp_sessions_; }
  McpTaskTable& mcp_tasks() { return mcp_tasks_; }
  McpParamTable& mcp_params() { return mcp_params_; }

  // For the admin API (worker 0): ask every worker, answers arrive at the AdminServer.
  void ask_snapshots(std::uint64_t request_id, const std::string& name, const std::string& owner,
                     bool exposures = false, std::uint64_t since_epoch_ms = 0,
                     const std::string& actor_class = {}) {
    control_.ask_snapshots(request_id, name, owner, exposures, since_epoch_ms, actor_class);
  }
  /// False when no worker serves `name`.
  bool ask_close_tunnel(std::uint64_t request_id, const std::string& name) {
    return control_.ask_close_tunnel(request_id, name);
  }
  /// Every worker reloads its certificates and authorized keys; replies reach the admin
  /// server (request_id 0: a SIGHUP, only logged).
  void ask_reload(std::uint64_t request_id) { control_.ask_reload(request_id); }

 private:
  // The parts are this worker's own: they run on its thread and reach its shared per-core
  // state (ring, counters, logs, clock, route table, policy) directly.
  friend class VisitorIntake;
  friend class Publishers;
  friend class Control;

  Status start();
  /// One log line per second at most for refused connections, with how many it stands for.
  void log_refusal(std::string_view reason, const sockaddr_storage& peer);
  void flush_audit();

  static void on_mailbox(void* worker, const io_uring_cqe& cqe);
  /// Handles every message queued for this worker (from its wake-up, or before routing).
  void take_messages();
  /// Hands one message to the part that owns what it is about.
  void handle_message(std::unique_ptr<io::Message> message);
  void flush_outboxes();
  void send_reliably(unsigned to, std::unique_ptr<io::Message> message);
  void tick();
  void begin_shutdown();
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
  // Visitors waiting for a sign-in thread's answer, by the handle their request carried.
  std::unordered_map<std::uint64_t, VisitorConnection*> signin_waiting_;
  std::uint64_t signin_requests_ = 0;
  std::uint64_t now_ms_ = 0;
  std::uint64_t now_epoch_s_ = 0;
  std::uint64_t last_tick_ms_ = 0;
  std::uint64_t shutdown_deadline_ms_ = 0;
  bool stopping_ = false;
  bool taking_messages_ = false;  // inside take_messages()

  RouteTable routes_;
  std::shared_ptr<const PolicySet> policy_;
  std::uint64_t policy_generation_ = 1;  // bumped when policy_ changes
  identity::TokenCache token_cache_;     // bearer tokens this worker has verified
  std::uint64_t next_request_serial_ = 1;
  WorkerCounters counters_;
  WorkerMemory memory_;
  std::uint64_t refusal_logged_ms_ = 0;  // when log_refusal last wrote a line
  std::uint64_t refusals_unlogged_ = 0;  // refusals since then
  McpSessionTable mcp_sessions_;
  McpTaskTable mcp_tasks_;
  McpParamTable mcp_params_;
  // What a full mailbox refused and must not be dropped (unlike a visitor handoff), per
  // receiving worker, retried every loop round.
  io::Outbox outbox_;
  // Destroyed after the visitors (intake_ below), which use its sessions' channels.
  Publishers publishers_;
  Control control_;
  // Declared last, so destroyed first: its visitors go while everything they use still stands.
  VisitorIntake intake_;
};

}  // namespace tg
