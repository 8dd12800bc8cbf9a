#include "relay/worker/worker.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>

#include "relay/admin/admin_server.h"
#include "relay/names.h"
#include "relay/net/proxy_protocol.h"
#include "relay/proxy/visitor_connection.h"
#include "relay/worker/peer_helpers.h"
#include "tls/client_hello.h"

namespace tg {
namespace {

using worker_detail::address_text;
using worker_detail::epoch_ms;
using worker_detail::set_nodelay;

constexpr std::uint64_t kTickMs = 200;

std::uint64_t steady_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::string file_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::to_string(std::hash<std::string>()(text)) + ":" + std::to_string(text.size());
}

// The certificate (or dev CA) and, with client_certs on, the CA bundle verifying visitors.
Result<std::unique_ptr<tls::ServerTlsContext>> make_tls_context(const Config& cfg) {
  const tls::ClientAuth client{cfg.https_client_certs, cfg.https_client_ca};
  return cfg.https_dev_ca.empty()
             ? tls::ServerTlsContext::from_files(cfg.https_cert, cfg.https_key, client)
             : tls::ServerTlsContext::with_dev_ca(cfg.https_dev_ca, client);
}

}  // namespace

Worker::Worker(unsigned index, Shared& shared)
    : index_(index),
      shared_(shared),
      ticket_keys_(std::make_unique<tls::TicketKeys>(shared.ticket_key_start)),
      memory_(shared.memory_budget, index),
      mcp_sessions_(shared.config.mcp_max_sessions, shared.config.mcp_session_idle_ms),
      mcp_tasks_(McpTaskTable::kMaxEntries, McpTaskTable::kDefaultTtlMs),
      outbox_(shared.mailboxes, index, shared.worker_count),
      publishers_(*this),
      intake_(*this) {}

Worker::~Worker() = default;

// --- start-up ------------------------------------------------------------------------------

Status Worker::start() {
  const Config& cfg = shared_.config;
  if (auto st = ring_.init(cfg.ring_entries); !st) return st;
  if (auto st = buffers_.init(ring_.raw(), 1, cfg.receive_buffers, cfg.receive_buffer_size); !st) {
    return st;
  }
  auto tls = make_tls_context(cfg);
  if (!tls) return tls.error();
  tls_ = std::move(*tls);
  tls_->use_ticket_keys(ticket_keys_.get());
  auto ssh_server = ssh::Server::create(cfg.ssh_host_keys, cfg.ssh_authorized_keys);
  if (!ssh_server) return ssh_server.error();
  ssh_server_ = std::shared_ptr<ssh::Server>(std::move(*ssh_server));
  certificate_digest_ = file_digest(cfg.https_dev_ca.empty() ? cfg.https_cert : cfg.https_dev_ca);
  policy_ = shared_.initial_policy;
  audit_.set_fd(shared_.audit_fd);
  mailbox_completion_ = {&Worker::on_mailbox, this};
  shared_.mailboxes.attach(index_, ring_.fd(), &mailbox_completion_);
  if (index_ == 0 && cfg.admin_enabled) {
    admin_ = std::make_unique<AdminServer>(*this, shared_);
    if (auto st = admin_->open(); !st) return st;
  }
  return intake_.open_listeners();
}

// --- the loop --------------------------------------------------------------------------------

void Worker::run() {
  if (auto st = start(); !st) {
    logs_.push(log::JsonLine("worker_failed")
                   .add("worker", index_)
                   .add("error", st.error().message)
                   .finish());
    logs_.flush();
    shared_.workers_failed.fetch_add(1);
    return;
  }
  shared_.workers_ready.fetch_add(1);
  // Messages sent while we were starting woke no one (Mailboxes::attach): take them now.
  now_ms_ = steady_ms();
  now_epoch_s_ = epoch_ms() / 1000;
  take_messages();
  for (;;) {
    now_ms_ = steady_ms();
    if (shared_.stopping.load(std::memory_order_relaxed) && !stopping_) begin_shutdown();
    if (now_ms_ - last_tick_ms_ >= kTickMs) tick();
    if (index_ == 0) {
      const std::uint64_t requested = shared_.reload_requests.load(std::memory_order_relaxed);
      if (requested != reloads_seen_) {
        reloads_seen_ = requested;
        ask_reload(0);  // SIGHUP
      }
    }
    reap();
    memory_.refresh();
    flush_outboxes();
    flush_audit();
    logs_.flush();
    if (stopping_ && intake_.idle() && publishers_.idle() &&
        (admin_ == nullptr || admin_->idle())) {
      break;
    }
    // Deferred session work must not wait behind a blocking wait: only peek then.
    if (shared_.abort_now.load(std::memory_order_relaxed) && shutdown_deadline_ms_ > now_ms_) {
      shutdown_deadline_ms_ = now_ms_;  // a second SIGTERM: the drain is over
      last_tick_ms_ = 0;
    }
    publishers_.flush_sessions();
    const bool more_now = publishers_.work_pending();
    ring_.submit_and_wait(more_now ? 0 : static_cast<unsigned>(kTickMs));
    now_ms_ = steady_ms();
    now_epoch_s_ = epoch_ms() / 1000;
    ring_.dispatch();
    publishers_.run_deferred_sessions();
  }
  // The last round's requests are only queued, a mailbox wake-up for a worker still draining
  // among them (flush_outboxes above): submit them, or that worker's wake-up stays marked as
  // sent and its mailbox waits until it happens to route a visitor.
  io_uring_submit(ring_.raw());
  logs_.flush();
  shared_.workers_done.fetch_add(1);
}

void Worker::flush_audit() {
  if (audit_.empty()) return;
  if (audit_.flush()) {
    if (!audit_ok_) {
      logs_.push(log::JsonLine("audit_recovered").add("worker", index_).finish());
      shared_.audit_failing_workers.fetch_sub(1, std::memory_order_relaxed);
    }
    audit_ok_ = true;
    return;
  }
  if (audit_ok_) {
    shared_.audit_failing_workers.fetch_add(1, std::memory_order_relaxed);
    // Loudly, once per failure spell: decisions are being lost from the trail.
    logs_.push(log::JsonLine("audit_write_failed")
                   .add("worker", index_)
                   .add("file", shared_.config.audit_file)
                   .add("error", std::strerror(errno))
                   .add("refusing_exposures", shared_.config.audit_required)
                   .finish());
    std::fprintf(stderr, "tunnelgate: cannot write the audit trail %s: %s\n",
                 shared_.config.audit_file.c_str(), std::strerror(errno));
  }
  audit_ok_ = false;
}

void Worker::tick() {
  last_tick_ms_ = now_ms_;
  intake_.resume_accepts();
  mcp_sessions_.expire(now_ms_);
  if (admin_ != nullptr) admin_->tick(now_ms_);
  const bool grace_over = stopping_ && now_ms_ >= shutdown_deadline_ms_;
  intake_.tick(grace_over);
  publishers_.tick(grace_over);
}

void Worker::begin_shutdown() {
  stopping_ = true;
  if (admin_ != nullptr) admin_->stop_listening();
  publishers_.tell_draining();
  shutdown_deadline_ms_ = now_ms_ + shared_.config.drain_timeout_ms;
  intake_.stop_listening();
  last_tick_ms_ = 0;  // run a tick now
}

void Worker::reap() {
  intake_.reap();
  publishers_.reap();
}

void Worker::log_refusal(std::string_view reason, const sockaddr_storage& peer) {
  // A flood of refusals must not become a flood of log lines: one per second per worker.
  ++refusals_unlogged_;
  if (refusal_logged_ms_ != 0 && now_ms_ - refusal_logged_ms_ < 1000) return;
  logs_.push(log::JsonLine("connection_refused")
                 .add("reason", reason)
                 .add("client", address_text(peer))
                 .add("refusals", refusals_unlogged_)
                 .add("worker", index_)
                 .finish());
  refusal_logged_ms_ = now_ms_;
  refusals_unlogged_ = 0;
}

std::string Worker::next_request_id() {
  char text[32];
  std::snprintf(text, sizeof text, "w%u-%llx", index_,
                static_cast<unsigned long long>(next_request_serial_++));
  return text;
}

// --- messages from other workers -------------------------------------------------------------

void Worker::send_reliably(unsigned to, std::unique_ptr<io::Message> message) {
  outbox_.send(ring_, to, std::move(message));
}

// --- the admin API's questions ----------------------------------------------------------------

void Worker::ask_snapshots(std::uint64_t request_id, const std::string& name,
                           const std::string& owner, bool exposures, std::uint64_t since_epoch_ms,
                           const std::string& actor_class) {
  for (unsigned other = 0; other < shared_.worker_count; ++other) {
    auto request = std::make_unique<io::Message>();
    request->kind = io::Message::Kind::kSnapshot;
    request->request_id = request_id;
    request->worker = index_;
    request->name = name;
    request->bytes = owner;
    request->exposures = exposures;
    request->since_epoch_ms = since_epoch_ms;
    request->actor_class = actor_class;
    if (other == index_) {
      admin_->on_snapshot_reply(snapshot(*request));
    } else {
      send_reliably(other, std::move(request));
    }
  }
}

void Worker::ask_reload(std::uint64_t request_id) {
  // The policy is compiled once, here, and shared: a broken one stops the whole reload
  // before any worker changes anything.
  std::shared_ptr<const PolicySet> new_policy = policy_;
  if (!shared_.config.policy_file.empty()) {
    auto loaded = shared_.jwks->load(shared_.config.policy_file);
    if (!loaded) {
      logs_.push(log::JsonLine("reload_failed").add("error", loaded.error().message).finish());
      for (unsigned worker = 0; request_id != 0 && worker < shared_.worker_count; ++worker) {
        auto reply = std::make_unique<io::Message>();
        reply->kind = io::Message::Kind::kReloadReply;
        reply->request_id = request_id;
        reply->worker = worker;
        reply->online = false;
        reply->bytes = loaded.error().message;
        if (admin_ != nullptr) admin_->on_reload_reply(std::move(reply));
      }
      return;
    }
    new_policy = std::move(*loaded);
  }
  for (unsigned other = 0; other < shared_.worker_count; ++other) {
    if (other == index_) continue;
    auto request = std::make_unique<io::Message>();
    request->kind = io::Message::Kind::kReload;
    request->request_id = request_id;
    request->worker = index_;
    request->payload = new_policy;
    send_reliably(other, std::move(request));
  }
  auto result = reload(new_policy);
  if (request_id != 0 && admin_ != nullptr) {
    auto reply = std::make_unique<io::Message>();
    reply->kind = io::Message::Kind::kReloadReply;
    reply->request_id = request_id;
    reply->worker = index_;
    reply->online = result.ok();
    reply->bytes = result.ok() ? *result : result.error().message;
    admin_->on_reload_reply(std::move(reply));
  }
}

Result<std::string> Worker::reload(std::shared_ptr<const PolicySet> new_policy) {
  const Config& cfg = shared_.config;
  auto tls = make_tls_context(cfg);
  auto ssh_server = ssh::Server::create(cfg.ssh_host_keys, cfg.ssh_authorized_keys);
  if (!tls || !ssh_server) {
    const std::string error = !tls ? tls.error().message : ssh_server.error().message;
    logs_.push(log::JsonLine("reload_failed").add("worker", index_).add("error", error).finish());
    return make_error(error);
  }
  const std::string digest =
      file_digest(cfg.https_dev_ca.empty() ? cfg.https_cert : cfg.https_dev_ca);
  const bool certificate_changed = digest != certificate_digest_;
  certificate_digest_ = digest;
  // New handshakes use the new context; connections keep the one they started with (wolfSSL
  // counts references from each session to its context).
  tls_ = std::move(*tls);
  tls_->use_ticket_keys(ticket_keys_.get());  // tickets issued before the reload still open
  const std::size_t keys_before = ssh_server_->authorized().size();
  ssh_server_ = std::shared_ptr<ssh::Server>(std::move(*ssh_server));
  // A key taken out of authorized_keys loses its sessions now, not at its next reconnect.
  const unsigned closed = publishers_.disconnect_unauthorized(*ssh_server_);
  if (closed > 0) last_tick_ms_ = 0;  // tear them down on this round
  const bool policy_changed = new_policy != nullptr && new_policy != policy_;
  unsigned unpublished = 0;
  unsigned revoked = 0;
  if (policy_changed) {
    policy_ = std::move(new_policy);
    ++policy_generation_;
    unpublished = publishers_.recheck_exposures(nullptr);
    // Requests are decided one by one, but an event stream or a WebSocket is one request
    // that never ends: decide those again now, so a revoked caller is cut at once.
    revoked = intake_.recheck_access();
  }
  const std::string summary =
      std::string("certificate ") + (certificate_changed ? "reloaded" : "unchanged") +
      "; authorized keys " + std::to_string(keys_before) + " -> " +
      std::to_string(ssh_server_->authorized().size()) + "; sessions closed " +
      std::to_string(closed) + "; policy " + (policy_changed ? "reloaded" : "unchanged") +
      "; tunnels no longer allowed " + std::to_string(unpublished) + "; streams revoked " +
      std::to_string(revoked);
  logs_.push(log::JsonLine("reloaded").add("worker", index_).add("changes", summary).finish());
  return summary;
}

bool Worker::ask_close_tunnel(std::uint64_t request_id, const std::string& name) {
  const std::optional<NameOwner> owner =
      route_owner(routes_, shared_.registry, name, shared_.mailboxes.late_routes(index_) > 0);
  if (!owner || !owner->online) return false;
  if (owner->worker == index_) {
    auto reply = std::make_unique<io::Message>();
    reply->kind = io::Message::Kind::kCloseTunnelReply;
    reply->request_id = request_id;
    reply->online = publishers_.close_tunnel(name, "an operator closed it");
    admin_->on_close_reply(std::move(reply));
    return true;
  }
  auto request = std::make_unique<io::Message>();
  request->kind = io::Message::Kind::kCloseTunnel;
  request->request_id = request_id;
  request->worker = index_;
  request->name = name;
  send_reliably(owner->worker, std::move(request));
  return true;
}

std::unique_ptr<io::Message> Worker::snapshot(const io::Message& request) {
  auto reply = std::make_unique<io::Message>();
  reply->kind = io::Message::Kind::kSnapshotReply;
  reply->request_id = request.request_id;
  reply->worker = index_;
  if (request.exposures) {
    publishers_.append_exposures(request.since_epoch_ms, reply->tunnels_json);
    return reply;
  }
  publishers_.append_tunnels(request, reply->tunnels_json);
  WorkerGauges gauges;
  gauges.tunnels = publishers_.tunnel_count();
  gauges.sessions = publishers_.session_count();
  gauges.ssh_unauthenticated = publishers_.unauthenticated_count();
  gauges.visitor_connections = intake_.visitor_count();
  gauges.handoff_queue_depth = shared_.mailboxes.depth(index_);
  gauges.buffered_bytes = memory_.held();
  gauges.mcp_sessions = mcp_sessions_.size();
  gauges.mcp_tasks = mcp_tasks_.size();
  reply->counters = encode_counters(counters_, gauges);
  return reply;
}

void Worker::flush_outboxes() {
  outbox_.flush(ring_);
}

void Worker::on_mailbox(void* worker_ptr, const io_uring_cqe&) {
  static_cast<Worker*>(worker_ptr)->take_messages();
}

void Worker::take_messages() {
  // The drain commits its progress only at its end: a handler that led back here would take
  // the same messages twice. None does today; this keeps it so.
  if (taking_messages_) return;
  taking_messages_ = true;
  shared_.mailboxes.drain(
      index_, [this](std::unique_ptr<io::Message> message) { handle_message(std::move(message)); });
  taking_messages_ = false;
}

void Worker::handle_message(std::unique_ptr<io::Message> message) {
  switch (message->kind) {
    case io::Message::Kind::kVisitor:
      intake_.on_handoff(std::move(message));
      return;
    case io::Message::Kind::kReleaseSource:
      intake_.on_source_released(message->peer);
      return;
    case io::Message::Kind::kRoute:
      if (message->online) {
        routes_.set_online(
            message->name,
            NameOwner{message->worker, message->session_id, {}, true, message->generation});
      } else {
        routes_.set_offline(message->name, message->session_id, message->generation);
      }
      return;
    case io::Message::Kind::kSnapshot:
      send_reliably(message->worker, snapshot(*message));
      return;
    case io::Message::Kind::kSnapshotReply:
      if (admin_ != nullptr) admin_->on_snapshot_reply(std::move(message));
      return;
    case io::Message::Kind::kCloseTunnel: {
      auto reply = std::make_unique<io::Message>();
      reply->kind = io::Message::Kind::kCloseTunnelReply;
      reply->request_id = message->request_id;
      reply->worker = index_;
      reply->online = publishers_.close_tunnel(message->name, "an operator closed it");
      send_reliably(message->worker, std::move(reply));
      return;
    }
    case io::Message::Kind::kCloseTunnelReply:
      if (admin_ != nullptr) admin_->on_close_reply(std::move(message));
      return;
    case io::Message::Kind::kReload: {
      auto result = reload(std::static_pointer_cast<const PolicySet>(std::move(message->payload)));
      auto reply = std::make_unique<io::Message>();
      reply->kind = io::Message::Kind::kReloadReply;
      reply->request_id = message->request_id;
      reply->worker = index_;
      reply->online = result.ok();
      reply->bytes = result.ok() ? *result : result.error().message;
      send_reliably(message->worker, std::move(reply));
      return;
    }
    case io::Message::Kind::kReloadReply:
      if (admin_ != nullptr && message->request_id != 0) {
        admin_->on_reload_reply(std::move(message));
      }
      return;
    case io::Message::Kind::kCloseSession:
      publishers_.close_taken_over(message->session_id, message->name);
      return;
  }
}

}  // namespace tg
