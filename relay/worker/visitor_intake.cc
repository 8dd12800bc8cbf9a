#include "relay/worker/visitor_intake.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "relay/names.h"
#include "relay/net/proxy_protocol.h"
#include "relay/proxy/visitor_connection.h"
#include "relay/worker/peer_helpers.h"
#include "relay/worker/worker.h"
#include "tls/client_hello.h"

namespace tg {
namespace {

using worker_detail::address_text;
using worker_detail::set_nodelay;

// Only these peers may say, in a PROXY v2 header, whose connection they carry.
bool from_trusted_proxy(const Config& config, const sockaddr_storage& peer) {
  if (config.proxy_protocol_from.empty()) return false;
  const auto address = policy::IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&peer));
  return std::any_of(config.proxy_protocol_from.begin(), config.proxy_protocol_from.end(),
                     [&](const policy::Cidr& block) { return block.contains(address); });
}

}  // namespace

struct VisitorIntake::Listener {
  enum class Kind { kHttps, kSsh } kind = Kind::kHttps;
  int fd = -1;
  VisitorIntake* intake = nullptr;
  io::Completion completion{};
  bool armed = false;
  io::AcceptBackoff backoff;  // paused while the process is out of descriptors
};

struct VisitorIntake::Prelude {
  VisitorIntake* intake = nullptr;
  int fd = -1;
  sockaddr_storage peer{};
  std::string bytes;
  std::size_t size = 0;
  io::Completion completion{};
  bool in_flight = false;
  bool closing = false;
  bool awaiting_proxy_header = false;  // a trusted balancer's PROXY v2 header comes first
  bool source_counted = false;         // `peer` holds one place in sources_ until routed
  bool refused = false;  // over the per-source cap: holds a refusal slot, answered 503
  std::uint64_t deadline_ms = 0;
};

VisitorIntake::VisitorIntake(Worker& worker)
    : worker_(worker), sources_(worker.shared_.config.max_connections_per_source) {}

VisitorIntake::~VisitorIntake() {
  for (auto* visitor : visitors_) delete visitor;
  for (auto* visitor : dying_visitors_) delete visitor;
  for (auto* prelude : preludes_) {
    ::close(prelude->fd);
    delete prelude;
  }
  for (auto* prelude : dying_preludes_) delete prelude;
  for (auto& listener : listeners_) {
    if (listener->fd >= 0) ::close(listener->fd);
  }
}

// --- listening -------------------------------------------------------------------------------

Status VisitorIntake::open_listeners() {
  auto open_one = [&](const ListenAddress& address, Listener::Kind kind) -> Status {
    sockaddr_storage storage{};
    const socklen_t length = to_sockaddr(address, storage);
    const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error("socket: " + std::string(std::strerror(errno)));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Every worker listens on the same address; the kernel spreads connections among them.
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (storage.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 || listen(fd, 4096) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return make_error("cannot listen on " + address.text + ": " + why);
    }
    auto listener = std::make_unique<Listener>();
    listener->kind = kind;
    listener->fd = fd;
    listener->intake = this;
    listener->completion = {&VisitorIntake::on_accept, listener.get()};
    arm_accept(*listener);
    listeners_.push_back(std::move(listener));
    return Ok{};
  };
  for (const auto& address : worker_.shared_.config.https_listen) {
    if (auto st = open_one(address, Listener::Kind::kHttps); !st) return st;
  }
  for (const auto& address : worker_.shared_.config.ssh_listen) {
    if (auto st = open_one(address, Listener::Kind::kSsh); !st) return st;
  }
  return Ok{};
}

void VisitorIntake::arm_accept(Listener& listener) {
  io_uring_sqe* sqe = worker_.ring_.sqe();
  io_uring_prep_multishot_accept(sqe, listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
  io::Ring::set_completion(sqe, &listener.completion);
  listener.armed = true;
}

void VisitorIntake::tick(bool grace_over) {
  const std::uint64_t now_ms = worker_.now_ms_;
  for (auto* prelude : preludes_) {
    if (now_ms >= prelude->deadline_ms || worker_.stopping_) dying_preludes_.push_back(prelude);
  }
  for (auto* prelude : dying_preludes_) {
    if (preludes_.erase(prelude) > 0) close_prelude(*prelude);
  }
  // Collect first: a tick may close connections, which edits visitors_.
  std::vector<VisitorConnection*> visitors(visitors_.begin(), visitors_.end());
  for (auto* visitor : visitors) {
    if (grace_over) {
      visitor->abort();
    } else {
      visitor->on_tick(now_ms, worker_.stopping_);
    }
  }
  for (auto* refusal : source_refusals_.overdue(now_ms)) refusal->abort();
}

void VisitorIntake::stop_listening() {
  for (auto& listener : listeners_) {
    if (listener->fd < 0) continue;
    io_uring_sqe* sqe = worker_.ring_.sqe();
    io_uring_prep_cancel_fd(sqe, listener->fd, IORING_ASYNC_CANCEL_ALL);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data(sqe, nullptr);
    ::shutdown(listener->fd, SHUT_RDWR);
  }
}

void VisitorIntake::reap() {
  for (auto it = dying_visitors_.begin(); it != dying_visitors_.end();) {
    if ((*it)->reapable()) {
      delete *it;  // releases its buffers' bytes from the worker's memory
      it = dying_visitors_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = dying_preludes_.begin(); it != dying_preludes_.end();) {
    if (!(*it)->in_flight) {
      if ((*it)->fd >= 0) {  // closed before routing; a routed socket's count moved on with it
        if ((*it)->source_counted) sources_.release(SourceKey::of((*it)->peer));
        if ((*it)->refused) source_refusals_.give_back();
        ::close((*it)->fd);
      }
      delete *it;
      it = dying_preludes_.erase(it);
    } else {
      ++it;
    }
  }
}

unsigned VisitorIntake::recheck_access() {
  unsigned revoked = 0;
  std::vector<VisitorConnection*> open(visitors_.begin(), visitors_.end());
  for (VisitorConnection* visitor : open) revoked += visitor->recheck_access() ? 1 : 0;
  return revoked;
}

// --- accepting -------------------------------------------------------------------------------

void VisitorIntake::on_accept(void* listener_ptr, const io_uring_cqe& cqe) {
  auto& listener = *static_cast<Listener*>(listener_ptr);
  VisitorIntake& self = *listener.intake;
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) listener.armed = false;
  if (cqe.res >= 0) {
    listener.backoff.accepted();
    if (self.worker_.stopping_) {
      ::close(cqe.res);
    } else if (listener.kind == Listener::Kind::kHttps) {
      self.accept_https(cqe.res);
    } else {
      self.worker_.publishers_.accept_ssh(cqe.res);
    }
  }
  if (!listener.armed && !self.worker_.stopping_) {
    if (io::AcceptBackoff::out_of_descriptors(cqe.res)) {
      self.pause_accepts(listener, -cqe.res);  // re-armed from tick(): no spin on failures
    } else {
      self.arm_accept(listener);
    }
  }
  if (self.worker_.stopping_ && !listener.armed && listener.fd >= 0) {
    ::close(listener.fd);
    listener.fd = -1;
  }
}

void VisitorIntake::pause_accepts(Listener& listener, int error) {
  ++worker_.counters_.accept_fd_exhausted;
  const std::uint64_t pause_ms = listener.backoff.pause(worker_.now_ms_);
  if (!listener.backoff.first_of_spell()) return;  // one line per spell of failures
  worker_.logs_.push(log::JsonLine("accept_paused")
                         .add("listener", listener.kind == Listener::Kind::kHttps ? "https" : "ssh")
                         .add("error", std::strerror(error))
                         .add("pause_ms", pause_ms)
                         .add("worker", worker_.index_)
                         .finish());
}

void VisitorIntake::resume_accepts() {
  for (auto& listener : listeners_) {
    if (listener->fd >= 0 && listener->backoff.due(worker_.now_ms_) && !listener->armed &&
        !worker_.stopping_) {
      arm_accept(*listener);
    }
  }
}

bool VisitorIntake::admit_source(const sockaddr_storage& peer) {
  if (sources_.admit(SourceKey::of(peer))) return true;
  ++worker_.counters_.refused_per_source;
  worker_.log_refusal("per_source", peer);
  return false;
}

bool VisitorIntake::take_refusal_slot() {
  if (source_refusals_.take()) {
    ++worker_.counters_.per_source_answered;
    return true;
  }
  ++worker_.counters_.per_source_closed;
  return false;
}

void VisitorIntake::answer_source_refusal(Prelude& prelude, std::string_view server_name) {
  const std::string initial(prelude.bytes.data(), prelude.size);
  const int fd = prelude.fd;
  prelude.fd = -1;  // handed on, with its refusal slot
  dying_preludes_.push_back(&prelude);
  // Served here whatever name it asks for: no tunnel is touched, no handoff is spent.
  auto* visitor = new VisitorConnection(worker_, fd, prelude.peer, normalize_host(server_name),
                                        std::string(), 503);
  visitor->set_fixed_detail("too many connections from your address; retry when some have closed");
  visitor->set_source_worker(worker_.index_);
  visitors_.insert(visitor);
  source_refusals_.track(visitor, prelude.deadline_ms);
  visitor->start(initial);
}

void VisitorIntake::accept_https(int fd) {
  ++worker_.counters_.visitors_accepted;
  const Config& config = worker_.shared_.config;
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length);
  const bool behind_balancer = from_trusted_proxy(config, peer);
  // Counted now, and closed before any TLS work when over the cap; behind a trusted balancer
  // the source is the client its PROXY header names, counted once the header is read.
  bool refused = false;
  if (!behind_balancer && !admit_source(peer)) {
    if (!take_refusal_slot()) {
      ::close(fd);
      return;
    }
    refused = true;
  }
  set_nodelay(fd);
  auto* prelude = new Prelude();
  prelude->intake = this;
  prelude->fd = fd;
  prelude->peer = peer;
  prelude->source_counted = !behind_balancer && !refused;
  prelude->awaiting_proxy_header = behind_balancer;
  prelude->bytes.resize(tls::kMaxClientHelloBytes + 512 +
                        (prelude->awaiting_proxy_header ? net::kMaxProxyV2Bytes : 0));
  prelude->completion = {&VisitorIntake::on_prelude_recv, prelude};
  prelude->deadline_ms = worker_.now_ms_ + config.handshake_timeout_ms;
  if (refused) {
    prelude->refused = true;
    prelude->deadline_ms = worker_.now_ms_ + std::min<std::uint64_t>(SourceRefusals::kBoundMs,
                                                                     config.handshake_timeout_ms);
  }
  preludes_.insert(prelude);
  arm_prelude_recv(*prelude);
}

// --- the prelude: PROXY header, ClientHello ----------------------------------------------------

void VisitorIntake::arm_prelude_recv(Prelude& prelude) {
  io_uring_sqe* sqe = worker_.ring_.sqe();
  io_uring_prep_recv(sqe, prelude.fd, prelude.bytes.data() + prelude.size,
                     prelude.bytes.size() - prelude.size, 0);
  io::Ring::set_completion(sqe, &prelude.completion);
  prelude.in_flight = true;
}

void VisitorIntake::close_prelude(Prelude& prelude) {
  prelude.closing = true;
  ::shutdown(prelude.fd, SHUT_RDWR);
  if (std::find(dying_preludes_.begin(), dying_preludes_.end(), &prelude) ==
      dying_preludes_.end()) {
    dying_preludes_.push_back(&prelude);
  }
}

void VisitorIntake::on_prelude_recv(void* prelude_ptr, const io_uring_cqe& cqe) {
  auto& prelude = *static_cast<Prelude*>(prelude_ptr);
  VisitorIntake& self = *prelude.intake;
  prelude.in_flight = false;
  if (prelude.closing) return;
  if (cqe.res <= 0) {
    self.preludes_.erase(&prelude);
    self.close_prelude(prelude);
    return;
  }
  prelude.size += static_cast<std::size_t>(cqe.res);
  if (prelude.awaiting_proxy_header && !self.take_proxy_header(prelude)) return;
  static thread_local char scratch[tls::kMaxClientHelloBytes];
  const auto peek =
      tls::peek_client_hello(std::string_view(prelude.bytes.data(), prelude.size), scratch);
  switch (peek.state) {
    case tls::PeekState::kIncomplete:
      if (prelude.size < prelude.bytes.size()) {
        self.arm_prelude_recv(prelude);
        return;
      }
      [[fallthrough]];
    case tls::PeekState::kMalformed:
      self.preludes_.erase(&prelude);
      self.close_prelude(prelude);
      return;
    case tls::PeekState::kNotTls: {
      // Plain HTTP on the HTTPS port: say so in words instead of a silent close.
      static constexpr std::string_view kAnswer =
          "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 50\r\n"
          "connection: close\r\n\r\nThis port speaks HTTPS: use https:// in the URL.\r\n";
      (void)::send(prelude.fd, kAnswer.data(), kAnswer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      self.preludes_.erase(&prelude);
      self.close_prelude(prelude);
      return;
    }
    case tls::PeekState::kComplete:
      self.preludes_.erase(&prelude);
      if (prelude.refused) {
        self.answer_source_refusal(prelude, peek.server_name);
      } else {
        self.route(prelude, peek.server_name);
      }
      return;
  }
}

bool VisitorIntake::take_proxy_header(Prelude& prelude) {
  const auto parsed = net::parse_proxy_v2(std::string_view(prelude.bytes.data(), prelude.size));
  if (parsed.state == net::ProxyParseState::kIncomplete) {
    arm_prelude_recv(prelude);  // the prelude's deadline (handshake_timeout_ms) still runs
    return false;
  }
  if (parsed.state == net::ProxyParseState::kError) {
    ++worker_.counters_.proxy_headers_refused;
    worker_.logs_.push(log::JsonLine("proxy_header_refused")
                           .add("peer", address_text(prelude.peer))
                           .add("reason", parsed.error)
                           .add("worker", worker_.index_)
                           .finish());
    preludes_.erase(&prelude);
    close_prelude(prelude);
    return false;
  }
  // From here on the visitor is the balancer's client: policy, X-Forwarded-For, logs and
  // audit see its address, and the handoff carries it. LOCAL (a health check) keeps ours.
  if (parsed.header.family != AF_UNSPEC) prelude.peer = parsed.header.source;
  prelude.awaiting_proxy_header = false;
  if (admit_source(prelude.peer)) {
    prelude.source_counted = true;
  } else if (take_refusal_slot()) {
    prelude.refused = true;
    prelude.deadline_ms = std::min(prelude.deadline_ms, worker_.now_ms_ + SourceRefusals::kBoundMs);
  } else {
    preludes_.erase(&prelude);
    close_prelude(prelude);
    return false;
  }
  prelude.size -= parsed.header.length;
  std::memmove(prelude.bytes.data(), prelude.bytes.data() + parsed.header.length, prelude.size);
  if (prelude.size == 0) {
    arm_prelude_recv(prelude);
    return false;
  }
  return true;
}

void VisitorIntake::route(Prelude& prelude, std::string_view server_name) {
  const std::string host = normalize_host(server_name);
  const auto name = name_under_domain(host, worker_.shared_.config.domain);
  std::string initial(prelude.bytes.data(), prelude.size);
  const int fd = prelude.fd;
  const sockaddr_storage peer = prelude.peer;
  prelude.fd = -1;  // handed on
  dying_preludes_.push_back(&prelude);
  if (!name) {
    start_visitor(fd, initial, peer, host, 404, worker_.index_);
    return;
  }
  if (worker_.shared_.signin_threads > 0 && *name == worker_.shared_.config.signin.host) {
    // The auth host: served by the relay itself, on the worker that accepted it.
    start_visitor(fd, initial, peer, std::string(*name), 0, worker_.index_);
    return;
  }
  // A publisher hears that its name is ready (tcpip-forward granted, URL printed) only after
  // the granting worker queued the route update here; but the wake-up may still be on its
  // way, or behind this visitor in our ring. Take what is queued first, so that the first
  // visitor after "ready" never meets the route it replaces, or that route's "offline".
  // An update that could not be queued at once (a full queue) is counted late instead: our
  // table may then be behind, and the registry answers (route_owner).
  if (worker_.shared_.mailboxes.depth(worker_.index_) > 0) worker_.take_messages();
  const std::optional<NameOwner> owner =
      route_owner(worker_.routes_, worker_.shared_.registry, *name,
                  worker_.shared_.mailboxes.late_routes(worker_.index_) > 0);
  if (!owner || !owner->online) {
    start_visitor(fd, initial, peer, std::string(*name), owner ? 502 : 404, worker_.index_);
    return;
  }
  if (owner->worker == worker_.index_) {
    start_visitor(fd, initial, peer, std::string(*name), 0, worker_.index_);
    return;
  }
  auto message = std::make_unique<io::Message>();
  message->kind = io::Message::Kind::kVisitor;
  message->fd = fd;
  message->bytes = std::move(initial);
  message->name = std::string(*name);
  message->peer = peer;
  message->worker = worker_.index_;  // who accepted it, and counts it against its source
  auto refused = worker_.shared_.mailboxes.send(worker_.ring_, worker_.index_, owner->worker,
                                                std::move(message));
  ++worker_.counters_.handoffs_sent;
  if (refused) {
    ++worker_.counters_.handoffs_refused;
    // The owner's queue is full: refuse cleanly rather than hold the socket in limbo.
    worker_.logs_.push(log::JsonLine("handoff_refused")
                           .add("name", refused->name)
                           .add("worker", owner->worker)
                           .finish());
    ::close(refused->fd);
    sources_.release(SourceKey::of(peer));
  }
}

void VisitorIntake::start_visitor(int fd, std::string_view initial_bytes,
                                  const sockaddr_storage& peer, std::string name, int fixed_status,
                                  unsigned source_worker) {
  if (fixed_status == 0) {
    Tunnel* tunnel = worker_.find_tunnel(name);
    if (tunnel != nullptr &&
        (tunnel->open_connections >= worker_.shared_.config.max_connections_per_tunnel ||
         tunnel->key_connections->load(std::memory_order_relaxed) >=
             worker_.shared_.config.max_connections_per_key)) {
      fixed_status = 503;  // answered by the relay; the publisher sees nothing
    } else if (tunnel != nullptr && worker_.memory_.over_budget()) {
      ++worker_.counters_.refused_memory_budget;
      worker_.log_refusal("memory_budget", peer);
      fixed_status = 503;  // a short answer costs little, and tells the client to come back
    }
  }
  std::string server_name = fixed_status == 404 && name.find('.') != std::string::npos
                                ? name
                                : name + "." + worker_.shared_.config.domain;
  auto* visitor =
      new VisitorConnection(worker_, fd, peer, std::move(server_name),
                            fixed_status == 404 ? std::string() : std::move(name), fixed_status);
  visitor->set_source_worker(source_worker);
  visitors_.insert(visitor);
  visitor->start(initial_bytes);
}

void VisitorIntake::release_source(const sockaddr_storage& peer, unsigned source_worker) {
  if (worker_.shared_.config.max_connections_per_source == 0) return;  // nothing was counted
  if (source_worker == worker_.index_) {
    sources_.release(SourceKey::of(peer));
    return;
  }
  auto message = std::make_unique<io::Message>();
  message->kind = io::Message::Kind::kReleaseSource;
  message->peer = peer;
  message->worker = worker_.index_;
  worker_.send_reliably(source_worker, std::move(message));
}

void VisitorIntake::forget(VisitorConnection* connection) {
  if (visitors_.erase(connection) > 0) {
    dying_visitors_.push_back(connection);
    // A refusal was never counted against its source; it gives its refusal slot back.
    if (!source_refusals_.forget(connection)) {
      release_source(connection->peer(), connection->source_worker());
    }
  }
}

void VisitorIntake::on_handoff(std::unique_ptr<io::Message> message) {
  if (worker_.stopping_) {
    ::close(message->fd);
    release_source(message->peer, message->worker);
    return;
  }
  start_visitor(message->fd, message->bytes, message->peer, std::move(message->name), 0,
                message->worker);
}

}  // namespace tg
