#include "relay/worker/control.h"

#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "relay/admin/admin_server.h"
#include "relay/worker/worker.h"

namespace tg {
namespace {

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

Control::Control(Worker& worker) : worker_(worker) {}

Control::~Control() = default;

// --- start-up and the loop's calls ----------------------------------------------------------

Status Control::load_credentials() {
  const Config& cfg = worker_.shared_.config;
  auto tls = make_tls_context(cfg);
  if (!tls) return tls.error();
  worker_.tls_ = std::move(*tls);
  worker_.tls_->use_ticket_keys(worker_.ticket_keys_.get());
  auto ssh_server = ssh::Server::create(cfg.ssh_host_keys, cfg.ssh_authorized_keys);
  if (!ssh_server) return ssh_server.error();
  worker_.ssh_server_ = std::shared_ptr<ssh::Server>(std::move(*ssh_server));
  certificate_digest_ = file_digest(cfg.https_dev_ca.empty() ? cfg.https_cert : cfg.https_dev_ca);
  return Ok{};
}

Status Control::open_admin() {
  const Config& cfg = worker_.shared_.config;
  if (worker_.index_ == 0 && cfg.admin_enabled) {
    admin_ = std::make_unique<AdminServer>(worker_, worker_.shared_);
    if (auto st = admin_->open(); !st) return st;
  }
  return Ok{};
}

void Control::tick(std::uint64_t now_ms) {
  if (admin_ != nullptr) admin_->tick(now_ms);
}

void Control::stop_listening() {
  if (admin_ != nullptr) admin_->stop_listening();
}

bool Control::idle() const {
  return admin_ == nullptr || admin_->idle();
}

void Control::poll_reload_signal() {
  const std::uint64_t requested = worker_.shared_.reload_requests.load(std::memory_order_relaxed);
  if (requested != reloads_seen_) {
    reloads_seen_ = requested;
    ask_reload(0);  // SIGHUP
  }
}

// --- messages from other workers -------------------------------------------------------------

void Control::on_snapshot(const io::Message& request) {
  worker_.send_reliably(request.worker, snapshot(request));
}

void Control::on_close_tunnel(const io::Message& request) {
  auto reply = std::make_unique<io::Message>();
  reply->kind = io::Message::Kind::kCloseTunnelReply;
  reply->request_id = request.request_id;
  reply->worker = worker_.index_;
  reply->online = worker_.publishers_.close_tunnel(request.name, "an operator closed it");
  worker_.send_reliably(request.worker, std::move(reply));
}

void Control::on_reload(std::unique_ptr<io::Message> request) {
  auto result = reload(std::static_pointer_cast<const PolicySet>(std::move(request->payload)));
  auto reply = std::make_unique<io::Message>();
  reply->kind = io::Message::Kind::kReloadReply;
  reply->request_id = request->request_id;
  reply->worker = worker_.index_;
  reply->online = result.ok();
  reply->bytes = result.ok() ? *result : result.error().message;
  worker_.send_reliably(request->worker, std::move(reply));
}

void Control::on_snapshot_reply(std::unique_ptr<io::Message> reply) {
  if (admin_ != nullptr) admin_->on_snapshot_reply(std::move(reply));
}

void Control::on_close_tunnel_reply(std::unique_ptr<io::Message> reply) {
  if (admin_ != nullptr) admin_->on_close_reply(std::move(reply));
}

void Control::on_reload_reply(std::unique_ptr<io::Message> reply) {
  if (admin_ != nullptr && reply->request_id != 0) admin_->on_reload_reply(std::move(reply));
}

// --- the admin API's questions, fanned out to every worker ------------------------------------

void Control::ask_snapshots(std::uint64_t request_id, const std::string& name,
                            const std::string& owner, bool exposures, std::uint64_t since_epoch_ms,
                            const std::string& actor_class) {
  for (unsigned other = 0; other < worker_.shared_.worker_count; ++other) {
    auto request = std::make_unique<io::Message>();
    request->kind = io::Message::Kind::kSnapshot;
    request->request_id = request_id;
    request->worker = worker_.index_;
    request->name = name;
    request->bytes = owner;
    request->exposures = exposures;
    request->since_epoch_ms = since_epoch_ms;
    request->actor_class = actor_class;
    if (other == worker_.index_) {
      admin_->on_snapshot_reply(snapshot(*request));
    } else {
      worker_.send_reliably(other, std::move(request));
    }
  }
}

void Control::ask_reload(std::uint64_t request_id) {
  // The policy is compiled once, here, and shared: a broken one stops the whole reload
  // before any worker changes anything.
  std::shared_ptr<const PolicySet> new_policy = worker_.policy_;
  if (!worker_.shared_.config.policy_file.empty()) {
    auto loaded = worker_.shared_.jwks->load(worker_.shared_.config.policy_file);
    if (!loaded) {
      worker_.logs_.push(
          log::JsonLine("reload_failed").add("error", loaded.error().message).finish());
      for (unsigned worker = 0; request_id != 0 && worker < worker_.shared_.worker_count;
           ++worker) {
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
  for (unsigned other = 0; other < worker_.shared_.worker_count; ++other) {
    if (other == worker_.index_) continue;
    auto request = std::make_unique<io::Message>();
    request->kind = io::Message::Kind::kReload;
    request->request_id = request_id;
    request->worker = worker_.index_;
    request->payload = new_policy;
    worker_.send_reliably(other, std::move(request));
  }
  auto result = reload(new_policy);
  if (request_id != 0 && admin_ != nullptr) {
    auto reply = std::make_unique<io::Message>();
    reply->kind = io::Message::Kind::kReloadReply;
    reply->request_id = request_id;
    reply->worker = worker_.index_;
    reply->online = result.ok();
    reply->bytes = result.ok() ? *result : result.error().message;
    admin_->on_reload_reply(std::move(reply));
  }
}

Result<std::string> Control::reload(std::shared_ptr<const PolicySet> new_policy) {
  const Config& cfg = worker_.shared_.config;
  auto tls = make_tls_context(cfg);
  auto ssh_server = ssh::Server::create(cfg.ssh_host_keys, cfg.ssh_authorized_keys);
  if (!tls || !ssh_server) {
    const std::string error = !tls ? tls.error().message : ssh_server.error().message;
    worker_.logs_.push(
        log::JsonLine("reload_failed").add("worker", worker_.index_).add("error", error).finish());
    return make_error(error);
  }
  const std::string digest =
      file_digest(cfg.https_dev_ca.empty() ? cfg.https_cert : cfg.https_dev_ca);
  const bool certificate_changed = digest != certificate_digest_;
  certificate_digest_ = digest;
  // New handshakes use the new context; connections keep the one they started with (wolfSSL
  // counts references from each session to its context).
  worker_.tls_ = std::move(*tls);
  // Tickets issued before the reload still open.
  worker_.tls_->use_ticket_keys(worker_.ticket_keys_.get());
  const std::size_t keys_before = worker_.ssh_server_->authorized().size();
  worker_.ssh_server_ = std::shared_ptr<ssh::Server>(std::move(*ssh_server));
  // A key taken out of authorized_keys loses its sessions now, not at its next reconnect.
  const unsigned closed = worker_.publishers_.disconnect_unauthorized(*worker_.ssh_server_);
  if (closed > 0) worker_.last_tick_ms_ = 0;  // tear them down on this round
  const bool policy_changed = new_policy != nullptr && new_policy != worker_.policy_;
  unsigned unpublished = 0;
  unsigned revoked = 0;
  if (policy_changed) {
    worker_.policy_ = std::move(new_policy);
    ++worker_.policy_generation_;
    unpublished = worker_.publishers_.recheck_exposures(nullptr);
    // Requests are decided one by one, but an event stream or a WebSocket is one request
    // that never ends: decide those again now, so a revoked caller is cut at once.
    revoked = worker_.intake_.recheck_access();
  }
  const std::string summary =
      std::string("certificate ") + (certificate_changed ? "reloaded" : "unchanged") +
      "; authorized keys " + std::to_string(keys_before) + " -> " +
      std::to_string(worker_.ssh_server_->authorized().size()) + "; sessions closed " +
      std::to_string(closed) + "; policy " + (policy_changed ? "reloaded" : "unchanged") +
      "; tunnels no longer allowed " + std::to_string(unpublished) + "; streams revoked " +
      std::to_string(revoked);
  worker_.logs_.push(
      log::JsonLine("reloaded").add("worker", worker_.index_).add("changes", summary).finish());
  return summary;
}

bool Control::ask_close_tunnel(std::uint64_t request_id, const std::string& name) {
  const std::optional<NameOwner> owner =
      route_owner(worker_.routes_, worker_.shared_.registry, name,
                  worker_.shared_.mailboxes.late_routes(worker_.index_) > 0);
  if (!owner || !owner->online) return false;
  if (owner->worker == worker_.index_) {
    auto reply = std::make_unique<io::Message>();
    reply->kind = io::Message::Kind::kCloseTunnelReply;
    reply->request_id = request_id;
    reply->online = worker_.publishers_.close_tunnel(name, "an operator closed it");
    admin_->on_close_reply(std::move(reply));
    return true;
  }
  auto request = std::make_unique<io::Message>();
  request->kind = io::Message::Kind::kCloseTunnel;
  request->request_id = request_id;
  request->worker = worker_.index_;
  request->name = name;
  worker_.send_reliably(owner->worker, std::move(request));
  return true;
}

std::unique_ptr<io::Message> Control::snapshot(const io::Message& request) {
  auto reply = std::make_unique<io::Message>();
  reply->kind = io::Message::Kind::kSnapshotReply;
  reply->request_id = request.request_id;
  reply->worker = worker_.index_;
  if (request.exposures) {
    worker_.publishers_.append_exposures(request.since_epoch_ms, reply->tunnels_json);
    return reply;
  }
  worker_.publishers_.append_tunnels(request, reply->tunnels_json);
  WorkerGauges gauges;
  gauges.tunnels = worker_.publishers_.tunnel_count();
  gauges.sessions = worker_.publishers_.session_count();
  gauges.ssh_unauthenticated = worker_.publishers_.unauthenticated_count();
  gauges.visitor_connections = worker_.intake_.visitor_count();
  gauges.handoff_queue_depth = worker_.shared_.mailboxes.depth(worker_.index_);
  gauges.buffered_bytes = worker_.memory_.held();
  gauges.mcp_sessions = worker_.mcp_sessions_.size();
  gauges.mcp_tasks = worker_.mcp_tasks_.size();
  reply->counters = encode_counters(worker_.counters_, gauges);
  if (worker_.index_ == 0 && worker_.shared_.signin_counters != nullptr) {
    reply->counters += encode_signin_counters(*worker_.shared_.signin_counters);
  }
  return reply;
}

}  // namespace tg
