#include "relay/worker/publishers.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "relay/names.h"
#include "relay/worker/peer_helpers.h"
#include "relay/worker/worker.h"

namespace tg {
namespace {

using worker_detail::address_text;
using worker_detail::epoch_ms;
using worker_detail::set_nodelay;

constexpr std::size_t kMaxExposures = 10'000;

bool is_anonymous_bind_address(const std::string& address) {
  return address.empty() || address == "localhost" || address == "127.0.0.1" ||
         address == "0.0.0.0" || address == "*" || address == "::" || address == "::1";
}

}  // namespace

struct Publishers::SessionSlot {
  Publishers* publishers = nullptr;
  std::unique_ptr<ssh::PublisherSession> session;
  io::Completion read_completion{};
  io::Completion write_completion{};
  bool read_armed = false;
  bool write_armed = false;
  std::uint32_t in_flight = 0;
  bool ending = false;
  std::uint64_t auth_deadline_ms = 0;
  bool authenticated = false;
  bool flush_queued = false;  // in sessions_to_flush_
  SourceKey source;           // counted by ssh_gate_ until the session ends
};

Publishers::Publishers(Worker& worker)
    : worker_(worker),
      ssh_gate_(worker.shared_.config.ssh_max_connections_per_source,
                worker.shared_.config.ssh_max_startups, worker.shared_.ssh_unauthenticated,
                worker.shared_.ssh_descriptor_high_water, std::random_device()()) {}

Publishers::~Publishers() = default;

// --- publisher sessions ----------------------------------------------------------------------

void Publishers::accept_ssh(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length);
  const SourceKey source = SourceKey::of(peer);
  // Closed before libssh sends its banner: a flood costs an accept and a close, no session.
  if (const SshRefusal refusal = ssh_gate_.admit(fd, source); refusal != SshRefusal::kNone) {
    ::close(fd);
    switch (refusal) {
      case SshRefusal::kDescriptorReserve:
        ++worker_.counters_.ssh_refused_descriptor_reserve;
        worker_.log_refusal("ssh_descriptor_reserve", peer);
        break;
      case SshRefusal::kPerSource:
        ++worker_.counters_.ssh_refused_per_source;
        worker_.log_refusal("ssh_per_source", peer);
        break;
      case SshRefusal::kStartups:
        ++worker_.counters_.ssh_refused_startups;
        worker_.log_refusal("ssh_max_startups", peer);
        break;
      case SshRefusal::kNone:
        break;
    }
    return;
  }
  set_nodelay(fd);
  ++worker_.counters_.sessions_accepted;
  const std::uint64_t id =
      (static_cast<std::uint64_t>(worker_.index_) << 48) | next_session_serial_++;
  auto slot = std::make_unique<SessionSlot>();
  slot->publishers = this;
  slot->session = std::make_unique<ssh::PublisherSession>(worker_.ssh_server_, *this, id, fd,
                                                          address_text(peer));
  slot->read_completion = {&Publishers::on_session_readable, slot.get()};
  slot->write_completion = {&Publishers::on_session_writable, slot.get()};
  slot->auth_deadline_ms = worker_.now_ms_ + worker_.shared_.config.ssh_login_grace_time_ms;
  slot->source = source;
  SessionSlot& ref = *slot;
  sessions_.emplace(id, std::move(slot));
  ref.session->start();
  after_session_io(ref);
}

void Publishers::arm_session_poll(SessionSlot& slot, bool write) {
  io_uring_sqe* sqe = worker_.ring_.sqe();
  // One-shot polls, re-armed after libssh has run: a one-shot poll checks readiness as it is
  // armed, so bytes libssh left unread still wake us (level-triggered behaviour).
  io_uring_prep_poll_add(sqe, slot.session->fd(), write ? POLLOUT : POLLIN);
  io::Ring::set_completion(sqe, write ? &slot.write_completion : &slot.read_completion);
  (write ? slot.write_armed : slot.read_armed) = true;
  ++slot.in_flight;
}

void Publishers::on_session_readable(void* slot_ptr, const io_uring_cqe& cqe) {
  auto& slot = *static_cast<SessionSlot*>(slot_ptr);
  --slot.in_flight;
  slot.read_armed = false;
  if (slot.ending) return;
  if (cqe.res < 0 && cqe.res != -ECANCELED) {
    slot.session->disconnect("");
  } else {
    slot.session->on_ready();
    slot.publishers->flush_after_libssh(slot);
  }
  slot.publishers->after_session_io(slot);
}

void Publishers::on_session_writable(void* slot_ptr, const io_uring_cqe&) {
  auto& slot = *static_cast<SessionSlot*>(slot_ptr);
  --slot.in_flight;
  slot.write_armed = false;
  if (slot.ending) return;
  slot.session->on_ready();
  slot.publishers->flush_after_libssh(slot);
  slot.publishers->after_session_io(slot);
}

void Publishers::flush_after_libssh(SessionSlot& slot) {
  // libssh may have queued packets of its own while it ran (a channel opened for a visitor, a
  // window adjust, a reply) without our hearing of it: a flush this round sends them. Left
  // unflushed, with no POLLOUT armed, they waited for the session's next event, and with a
  // visitor's request among them that could be never (handshake-per-request load on two
  // workers stalled so). With nothing buffered the flush returns without a system call.
  on_output_pending(*slot.session);
}

void Publishers::after_session_io(SessionSlot& slot) {
  if (slot.ending) return;
  if (slot.session->dead()) {
    end_session(slot);
    return;
  }
  if (!slot.read_armed) arm_session_poll(slot, false);
  if (!slot.write_armed && slot.session->wants_write()) arm_session_poll(slot, true);
}

void Publishers::on_output_pending(ssh::PublisherSession& session) {
  SessionSlot* slot = slot_of(session.id());
  if (slot == nullptr || slot->ending || slot->flush_queued) return;
  slot->flush_queued = true;
  sessions_to_flush_.push_back(session.id());
}

template <typename Visit>
void Publishers::drain_session_queue(std::vector<std::uint64_t>& queue, Visit visit) {
  // A few rounds: what a session does for one entry can queue work for another (or itself);
  // what is still queued afterwards makes the loop's wait a peek.
  for (int round = 0; round < 4 && !queue.empty(); ++round) {
    std::vector<std::uint64_t> due;
    due.swap(queue);
    for (std::uint64_t id : due) {
      if (SessionSlot* slot = slot_of(id); slot != nullptr) visit(*slot);
    }
  }
}

void Publishers::flush_sessions() {
  // Once per loop round, before the wait: each session's packets of the round in one send.
  drain_session_queue(sessions_to_flush_, [this](SessionSlot& slot) {
    slot.flush_queued = false;
    if (slot.ending) return;
    slot.session->flush_output();
    after_session_io(slot);
  });
}

void Publishers::on_deferred_work(ssh::PublisherSession& session) {
  deferred_sessions_.push_back(session.id());
}

void Publishers::run_deferred_sessions() {
  drain_session_queue(deferred_sessions_, [this](SessionSlot& slot) {
    if (slot.ending) return;
    slot.session->run_deferred();
    after_session_io(slot);
  });
}

Publishers::SessionSlot* Publishers::slot_of(std::uint64_t session_id) {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Publishers::on_auth_refused(ssh::PublisherSession& session) {
  ++worker_.counters_.ssh_auth_failures;
  // A client may offer a few keys; a scanner may not try a keyring. Inside libssh's callback
  // the session cannot be torn down: the next tick does it, as for a session that let its
  // authentication deadline pass.
  if (session.auth_refusals() >= ssh::PublisherSession::kMaxAuthAttempts) {
    if (auto it = sessions_.find(session.id()); it != sessions_.end()) {
      it->second->auth_deadline_ms = 0;
    }
  }
}

policy::ExposeDecision Publishers::decide_expose(const ssh::PublisherSession& session,
                                                 std::string_view name) const {
  policy::ExposeContext context;
  context.name = name;
  context.requested_class =
      policy::parse_actor_class(session.requested_class()).value_or(policy::ActorClass::kNone);
  context.ssh_key = session.key_fingerprint();
  context.ssh_user = session.user();
  const std::string& peer = session.peer();  // "ip:port" or "[ip]:port"
  std::string_view host(peer);
  host = host.substr(0, host.rfind(':'));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (auto ip = policy::IpAddress::parse(host)) context.ssh_source_ip = *ip;
  context.unix_time = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return worker_.policy_->rules.decide_expose(context);
}

void Publishers::on_options(ssh::PublisherSession& session) {
  recheck_exposures(&session);
}

unsigned Publishers::recheck_exposures(const ssh::PublisherSession* only) {
  std::vector<std::string> refused_names;
  std::vector<std::string> reasons;
  for (auto& [name, tunnel] : tunnels_) {
    if (only != nullptr && tunnel->session != only) continue;
    const auto decision = decide_expose(*tunnel->session, name);
    if (decision.allowed) {
      if (decision.actor_class != tunnel->actor_class) {
        tunnel->actor_class = decision.actor_class;
        tunnel->session->tell("tunnelgate: " + tunnel->url + " is now class " +
                              std::string(policy::to_string(decision.actor_class)) + "\n");
      }
      tunnel->expose_rule = std::string(decision.rule_id);
      continue;
    }
    refused_names.push_back(name);
    reasons.push_back(decision.reason);
  }
  for (std::size_t i = 0; i < refused_names.size(); ++i) {
    close_tunnel(refused_names[i], "the policy does not allow it: " + reasons[i]);
  }
  return static_cast<unsigned>(refused_names.size());
}

void Publishers::on_authenticated(ssh::PublisherSession& session) {
  SessionSlot* slot = slot_of(session.id());
  if (slot == nullptr || slot->authenticated) return;
  slot->authenticated = true;
  ssh_gate_.authenticated();  // no longer counted against max_startups
}

void Publishers::end_session(SessionSlot& slot) {
  slot.ending = true;
  ssh_gate_.closed(slot.source, slot.authenticated);
  ssh::PublisherSession& session = *slot.session;
  for (const auto& forward : session.forwards()) {
    auto it = tunnels_.find(forward.name);
    if (it != tunnels_.end() && it->second->session == &session) {
      log::JsonLine line("tunnel_closed");
      line.add("name", forward.name)
          .add("key", session.key_fingerprint())
          .add("user", session.user())
          .add("source", session.peer())
          .add("requests", it->second->requests)
          .add("bytes_in", it->second->bytes_in)
          .add("bytes_out", it->second->bytes_out)
          .add("worker", worker_.index_);
      worker_.logs_.push(line.finish());
      record_exposure("closed", forward.name, session, "the SSH connection ended");
      worker_.mcp_sessions_.drop_tunnel(forward.name);
      worker_.mcp_tasks_.drop_tunnel(forward.name);
      worker_.mcp_params_.drop_tunnel(forward.name);
      tunnels_.erase(it);
    }
    release_name(forward.name, session.id());
  }
  // The polls are cancelled by their completions, not by the fd: ssh_disconnect has closed
  // the fd already, its number may belong to a new connection now, and a poll left armed
  // would hold the socket open (no FIN) until a peer that ignores the disconnect says more.
  for (io::Completion* armed : {slot.read_armed ? &slot.read_completion : nullptr,
                                slot.write_armed ? &slot.write_completion : nullptr}) {
    if (armed == nullptr) continue;
    io_uring_sqe* sqe = worker_.ring_.sqe();
    io_uring_prep_cancel(sqe, armed, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data(sqe, nullptr);
  }
  dying_sessions_.push_back(&slot);
}

ssh::ForwardDecision Publishers::on_forward_request(ssh::PublisherSession& session,
                                                    const ssh::Forward& requested) {
  ssh::ForwardDecision decision;
  const std::string& bind_address = requested.bind_address;
  std::string name;
  if (is_anonymous_bind_address(bind_address)) {
    // The key's first stable name this session does not hold: a cancelled forward's name is
    // free again (counting the session's forwards would give the next one a name still held).
    const auto& held = session.forwards();
    for (unsigned index = 0;; ++index) {
      name = stable_name(session.key_fingerprint(), worker_.shared_.name_secret, index);
      if (std::none_of(held.begin(), held.end(),
                       [&](const ssh::Forward& forward) { return forward.name == name; })) {
        break;
      }
    }
  } else {
    name = normalize_host(bind_address);
    std::optional<std::string> why = validate_name(name);
    if (!why && worker_.shared_.signin_threads > 0 && name == worker_.shared_.config.signin.host) {
      why = "\"" + name + "\" is the relay's sign-in host";
    }
    if (why) {
      decision.message = "tunnelgate: cannot publish: " + *why + "\n";
      worker_.counters_.refuse_forward(ForwardRefusal::kInvalidName);
      worker_.logs_.push(log::JsonLine("forward_refused")
                             .add("name", name.substr(0, 64))
                             .add("key", session.key_fingerprint())
                             .add("source", session.peer())
                             .add("reason", *why)
                             .finish());
      record_exposure("refused", name.substr(0, 64), session, "not a valid name");
      return decision;
    }
  }
  if (worker_.stopping_) {
    decision.message = "tunnelgate: the relay is shutting down\n";
    return decision;
  }
  if (worker_.shared_.config.audit_required &&
      worker_.shared_.audit_failing_workers.load(std::memory_order_relaxed) > 0) {
    decision.message = "tunnelgate: cannot publish \"" + name +
                       "\": the relay cannot write its audit trail, so it exposes nothing new\n";
    return decision;
  }
  const policy::ExposeDecision exposure = decide_expose(session, name);
  worker_.audit(log::JsonLine("audit")
                    .add("decision", exposure.allowed ? "expose_allowed" : "expose_refused")
                    .add("rule", exposure.rule_id)
                    .add("tunnel", name)
                    .add("class", policy::to_string(exposure.actor_class))
                    .add("key", session.key_fingerprint())
                    .add("user", session.user())
                    .add("source", session.peer())
                    .finish());
  if (!exposure.allowed) {
    worker_.counters_.refuse_forward(ForwardRefusal::kPolicy);
    decision.message = "tunnelgate: cannot publish \"" + name + "\": " + exposure.reason + "\n";
    worker_.logs_.push(log::JsonLine("forward_refused")
                           .add("name", name)
                           .add("key", session.key_fingerprint())
                           .add("source", session.peer())
                           .add("rule", exposure.rule_id)
                           .add("reason", exposure.reason)
                           .finish());
    record_exposure("refused", name, session, exposure.reason);
    return decision;
  }
  const auto claim = worker_.shared_.registry.claim(
      name, NameOwner{worker_.index_, session.id(), session.key_fingerprint(), true},
      worker_.shared_.config.max_tunnels_per_key);
  switch (claim.outcome) {
    case NameRegistry::Outcome::kHeldByOtherKey:
      worker_.counters_.refuse_forward(ForwardRefusal::kNameTaken);
      decision.message =
          "tunnelgate: cannot publish \"" + name + "\": the name is held by another key\n";
      worker_.logs_.push(log::JsonLine("forward_refused")
                             .add("name", name)
                             .add("key", session.key_fingerprint())
                             .add("source", session.peer())
                             .add("reason", "held by another key")
                             .finish());
      record_exposure("refused", name, session, "held by another key");
      return decision;
    case NameRegistry::Outcome::kKeyAtLimit:
      worker_.counters_.refuse_forward(ForwardRefusal::kKeyLimit);
      decision.message = "tunnelgate: cannot publish \"" + name +
                         "\": this key already publishes " +
                         std::to_string(worker_.shared_.config.max_tunnels_per_key) +
                         " names, the most the relay allows one key\n";
      record_exposure("refused", name, session, "tunnels per key limit");
      return decision;
    case NameRegistry::Outcome::kAlreadyYours:
      decision.message = "tunnelgate: \"" + name + "\" is already published by this session\n";
      return decision;
    case NameRegistry::Outcome::kTakenOver: {
      // A stale session of the same key (a network drop the old ssh has not noticed yet):
      // the new session wins at once and the old one is closed with a message.
      const auto& previous = claim.previous;
      if (previous.worker == worker_.index_) {
        if (SessionSlot* old = slot_of(previous.session_id); old != nullptr && !old->ending) {
          old->session->disconnect("tunnelgate: \"" + name +
                                   "\" was taken over by a new session of the same key\n");
          // Torn down after the current callback returns (from the next tick at the latest).
          worker_.last_tick_ms_ = 0;
        }
      } else {
        auto message = std::make_unique<io::Message>();
        message->kind = io::Message::Kind::kCloseSession;
        message->session_id = previous.session_id;
        message->name = name;
        // Through the outbox: on a full queue it waits there instead of being dropped (the old
        // session would then linger), and it keeps its place behind earlier messages.
        worker_.send_reliably(previous.worker, std::move(message));
      }
      break;
    }
    case NameRegistry::Outcome::kGranted:
      break;
  }
  auto tunnel = std::make_unique<Tunnel>();
  tunnel->serial = next_tunnel_serial_++;
  tunnel->key_connections = worker_.shared_.registry.key_connections(session.key_fingerprint());
  tunnel->name = name;
  tunnel->url = public_url(name);
  tunnel->session = &session;
  tunnel->forward = requested;
  tunnel->forward.name = name;
  tunnel->actor_class = exposure.actor_class;
  tunnel->expose_rule = std::string(exposure.rule_id);
  tunnel->opened_ms = worker_.now_ms_;
  tunnel->opened_epoch_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  decision.granted = true;
  decision.name = name;
  decision.message = "tunnelgate: " + tunnel->url + " now reaches your -R target (class " +
                     std::string(policy::to_string(tunnel->actor_class)) + ")\n";
  worker_.logs_.push(log::JsonLine("tunnel_opened")
                         .add("name", name)
                         .add("url", tunnel->url)
                         .add("key", session.key_fingerprint())
                         .add("user", session.user())
                         .add("source", session.peer())
                         .add("class", policy::to_string(tunnel->actor_class))
                         .add("rule", tunnel->expose_rule)
                         .add("worker", worker_.index_)
                         .finish());
  worker_.mcp_sessions_.drop_tunnel(name);  // a takeover: the old publisher's sessions are gone
  worker_.mcp_tasks_.drop_tunnel(name);
  worker_.mcp_params_.drop_tunnel(name);
  tunnels_[name] = std::move(tunnel);
  publish_route(name, session.id(), claim.generation, true);
  record_exposure("opened", name, session, "");
  return decision;
}

void Publishers::on_forward_cancelled(ssh::PublisherSession& session, const ssh::Forward& forward) {
  auto it = tunnels_.find(forward.name);
  if (it != tunnels_.end() && it->second->session == &session) {
    worker_.logs_.push(log::JsonLine("tunnel_closed")
                           .add("name", forward.name)
                           .add("key", session.key_fingerprint())
                           .add("reason", "cancelled")
                           .add("worker", worker_.index_)
                           .finish());
    record_exposure("closed", forward.name, session, "the publisher cancelled the forward");
    worker_.mcp_sessions_.drop_tunnel(forward.name);
    worker_.mcp_tasks_.drop_tunnel(forward.name);
    worker_.mcp_params_.drop_tunnel(forward.name);
    tunnels_.erase(it);
  }
  release_name(forward.name, session.id());
}

std::string Publishers::public_url(std::string_view name) const {
  const Config& cfg = worker_.shared_.config;
  const std::uint16_t port = cfg.public_port != 0 ? cfg.public_port : cfg.https_listen.front().port;
  std::string url = "https://" + std::string(name) + "." + cfg.domain;
  if (port != 443) url += ":" + std::to_string(port);
  url += "/";
  return url;
}

void Publishers::publish_route(const std::string& name, std::uint64_t session_id,
                               std::uint64_t generation, bool online) {
  if (online) {
    worker_.routes_.set_online(name, NameOwner{worker_.index_, session_id, {}, true, generation});
  } else {
    worker_.routes_.set_offline(name, session_id, generation);
  }
  for (unsigned other = 0; other < worker_.shared_.worker_count; ++other) {
    if (other == worker_.index_) continue;
    auto message = std::make_unique<io::Message>();
    message->kind = io::Message::Kind::kRoute;
    message->name = name;
    message->worker = worker_.index_;
    message->session_id = session_id;
    message->generation = generation;
    message->online = online;
    worker_.send_reliably(other, std::move(message));  // counted late for `other` if it must wait
  }
}

void Publishers::release_name(const std::string& name, std::uint64_t session_id) {
  // Nothing to tell when the claim was already released, or taken over (the newer claim's
  // "online" has been or will be sent by the worker that granted it).
  if (auto ended = worker_.shared_.registry.release(name, session_id)) {
    publish_route(name, session_id, *ended, false);
  }
}

void Publishers::record_exposure(std::string_view event, std::string_view name,
                                 const ssh::PublisherSession& session, std::string_view reason) {
  const std::uint64_t now = epoch_ms();
  log::JsonObject object;
  object.add("time", iso_time(now))
      .add("event", event)
      .add("name", name)
      .add("key", session.key_fingerprint())
      .add("user", session.user())
      .add("source", session.peer())
      .add("worker", worker_.index_);
  if (!reason.empty()) object.add("reason", reason);
  exposures_.emplace_back(now, object.finish());
  if (exposures_.size() > kMaxExposures) exposures_.pop_front();
}

bool Publishers::close_tunnel(const std::string& name, std::string_view why) {
  auto it = tunnels_.find(name);
  if (it == tunnels_.end()) return false;
  ssh::PublisherSession& session = *it->second->session;
  session.tell("tunnelgate: " + it->second->url + " was closed: " + std::string(why) + "\n");
  worker_.logs_.push(log::JsonLine("tunnel_closed")
                         .add("name", name)
                         .add("key", session.key_fingerprint())
                         .add("reason", why)
                         .add("worker", worker_.index_)
                         .finish());
  record_exposure("closed", name, session, why);
  worker_.mcp_sessions_.drop_tunnel(name);
  worker_.mcp_tasks_.drop_tunnel(name);
  worker_.mcp_params_.drop_tunnel(name);
  tunnels_.erase(it);
  release_name(name, session.id());
  // A session left with nothing published has no reason to stay: end it, so the publisher's
  // ssh exits (and a reconnect loop shows the operator's decision at once).
  bool still_publishing = false;
  for (const auto& forward : session.forwards()) {
    auto other = tunnels_.find(forward.name);
    still_publishing =
        still_publishing || (other != tunnels_.end() && other->second->session == &session);
  }
  if (!still_publishing) {
    session.disconnect("");
    if (SessionSlot* slot = slot_of(session.id())) after_session_io(*slot);
  }
  return true;
}

// --- the loop's calls ------------------------------------------------------------------------

void Publishers::tick(bool grace_over) {
  std::vector<SessionSlot*> slots;
  for (auto& [id, slot] : sessions_) slots.push_back(slot.get());
  for (auto* slot : slots) {
    if (slot->ending) continue;
    if (slot->session->dead()) {
      after_session_io(*slot);  // disconnected from elsewhere (a takeover)
      continue;
    }
    const bool auth_late = !slot->authenticated && worker_.now_ms_ >= slot->auth_deadline_ms;
    const bool shutting = worker_.stopping_ && (worker_.intake_.no_visitors() || grace_over);
    // A deadline of 0 marks a session that used up its key attempts (counted as such).
    if (auth_late && !shutting && slot->auth_deadline_ms != 0) {
      ++worker_.counters_.ssh_login_timeouts;
    }
    if (auth_late || shutting) {
      slot->session->disconnect(shutting ? "tunnelgate: the relay is shutting down\n" : "");
      after_session_io(*slot);
    }
  }
}

void Publishers::tell_draining() {
  for (auto& [id, slot] : sessions_) {
    if (!slot->ending && slot->authenticated) {
      slot->session->tell(
          "tunnelgate: the relay is draining: new visitors are refused, and this session "
          "ends when the requests in flight have finished\n");
    }
  }
}

void Publishers::reap() {
  for (auto it = dying_sessions_.begin(); it != dying_sessions_.end();) {
    SessionSlot* slot = *it;
    if (slot->in_flight == 0) {
      const std::uint64_t id = slot->session->id();
      sessions_.erase(id);  // frees the session: libssh closes its socket
      it = dying_sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

// --- for the worker's control requests ------------------------------------------------------

unsigned Publishers::disconnect_unauthorized(const ssh::Server& server) {
  unsigned closed = 0;
  for (auto& [id, slot] : sessions_) {
    ssh::PublisherSession& session = *slot->session;
    if (slot->ending || !session.authenticated() ||
        server.authorized().contains_fingerprint(session.key_fingerprint())) {
      continue;
    }
    session.disconnect("tunnelgate: your key is no longer authorized\n");
    ++closed;
  }
  return closed;
}

void Publishers::close_taken_over(std::uint64_t session_id, const std::string& name) {
  if (SessionSlot* slot = slot_of(session_id); slot != nullptr && !slot->ending) {
    slot->session->disconnect("tunnelgate: \"" + name +
                              "\" was taken over by a new session of the same key\n");
    after_session_io(*slot);
  }
}

void Publishers::append_exposures(std::uint64_t since_epoch_ms, std::string& json) const {
  for (const auto& [time, event] : exposures_) {
    if (time < since_epoch_ms) continue;
    if (!json.empty()) json.push_back(',');
    json += event;
  }
}

void Publishers::append_tunnels(const io::Message& request, std::string& json) const {
  std::vector<const Tunnel*> listed;
  for (const auto& [name, tunnel] : tunnels_) {
    if (!request.name.empty() && name != request.name) continue;
    if (!request.bytes.empty() && tunnel->session->key_fingerprint() != request.bytes) continue;
    if (!request.actor_class.empty() &&
        policy::to_string(tunnel->actor_class) != request.actor_class) {
      continue;
    }
    listed.push_back(tunnel.get());
  }
  std::sort(listed.begin(), listed.end(),
            [](const Tunnel* a, const Tunnel* b) { return a->name < b->name; });
  for (const Tunnel* tunnel : listed) {
    if (!json.empty()) json.push_back(',');
    const ssh::PublisherSession& session = *tunnel->session;
    log::JsonObject object;
    object.add("name", tunnel->name)
        .add("url", tunnel->url)
        .add("key", session.key_fingerprint())
        .add("user", session.user())
        .add("source", session.peer())
        .add("class", policy::to_string(tunnel->actor_class))
        .add("expose_rule", tunnel->expose_rule)
        .add("host_header",
             session.host_override().empty() ? tunnel->target_host : session.host_override())
        .add("opened_at", iso_time(tunnel->opened_epoch_ms))
        .add("requests", tunnel->requests)
        .add("bytes_in", tunnel->bytes_in)
        .add("bytes_out", tunnel->bytes_out)
        .add("open_connections", tunnel->open_connections)
        .add("last_request_at",
             tunnel->last_request_epoch_ms ? iso_time(tunnel->last_request_epoch_ms) : "")
        .add("worker", worker_.index_);
    json += object.finish();
  }
}

std::size_t Publishers::unauthenticated_count() const {
  std::size_t count = 0;
  for (const auto& [id, slot] : sessions_) {
    count += !slot->authenticated && !slot->ending ? 1 : 0;
  }
  return count;
}

}  // namespace tg
