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
#include "tls/client_hello.h"

namespace tg {
namespace {

constexpr std::uint64_t kTickMs = 200;
constexpr std::size_t kMaxExposures = 10'000;

std::uint64_t epoch_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::uint64_t steady_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::string address_text(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (peer.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(peer);
    inet_ntop(AF_INET, &in4.sin_addr, text, sizeof text);
    port = ntohs(in4.sin_port);
    return std::string(text) + ":" + std::to_string(port);
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
  inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
  port = ntohs(in6.sin6_port);
  return "[" + std::string(text) + "]:" + std::to_string(port);
}

void set_nodelay(int fd) {
  // Nagle against delayed ACKs costs tens of milliseconds per small exchange (SSH key
  // exchange, JSON-RPC replies, SSE events): every socket sends at once.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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

// Only these peers may say, in a PROXY v2 header, whose connection they carry.
bool from_trusted_proxy(const Config& config, const sockaddr_storage& peer) {
  if (config.proxy_protocol_from.empty()) return false;
  const auto address = policy::IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&peer));
  return std::any_of(config.proxy_protocol_from.begin(), config.proxy_protocol_from.end(),
                     [&](const policy::Cidr& block) { return block.contains(address); });
}

bool is_anonymous_bind_address(const std::string& address) {
  return address.empty() || address == "localhost" || address == "127.0.0.1" ||
         address == "0.0.0.0" || address == "*" || address == "::" || address == "::1";
}

}  // namespace

struct Worker::Listener {
  enum class Kind { kHttps, kSsh } kind = Kind::kHttps;
  int fd = -1;
  Worker* worker = nullptr;
  io::Completion completion{};
  bool armed = false;
  io::AcceptBackoff backoff;  // paused while the process is out of descriptors
};

struct Worker::SessionSlot {
  Worker* worker = nullptr;
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

struct Worker::Prelude {
  Worker* worker = nullptr;
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

Worker::Worker(unsigned index, Shared& shared)
    : index_(index),
      shared_(shared),
      ticket_keys_(std::make_unique<tls::TicketKeys>(shared.ticket_key_start)),
      sources_(shared.config.max_connections_per_source),
      ssh_gate_(shared.config.ssh_max_connections_per_source, shared.config.ssh_max_startups,
                shared.ssh_unauthenticated, shared.ssh_descriptor_high_water,
                std::random_device()()),
      memory_(shared.memory_budget, index),
      mcp_sessions_(shared.config.mcp_max_sessions, shared.config.mcp_session_idle_ms),
      mcp_tasks_(McpTaskTable::kMaxEntries, McpTaskTable::kDefaultTtlMs),
      mcp_params_(McpParamTable::kMaxTools),
      outbox_(shared.mailboxes, index, shared.worker_count) {}

Worker::~Worker() {
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
  return open_listeners();
}

Status Worker::open_listeners() {
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
    listener->worker = this;
    listener->completion = {&Worker::on_accept, listener.get()};
    arm_accept(*listener);
    listeners_.push_back(std::move(listener));
    return Ok{};
  };
  for (const auto& address : shared_.config.https_listen) {
    if (auto st = open_one(address, Listener::Kind::kHttps); !st) return st;
  }
  for (const auto& address : shared_.config.ssh_listen) {
    if (auto st = open_one(address, Listener::Kind::kSsh); !st) return st;
  }
  return Ok{};
}

void Worker::arm_accept(Listener& listener) {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_multishot_accept(sqe, listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
  io::Ring::set_completion(sqe, &listener.completion);
  listener.armed = true;
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
    if (stopping_ && visitors_.empty() && preludes_.empty() && sessions_.empty() &&
        dying_visitors_.empty() && dying_preludes_.empty() && dying_sessions_.empty() &&
        (admin_ == nullptr || admin_->idle())) {
      break;
    }
    // Deferred session work must not wait behind a blocking wait: only peek then.
    if (shared_.abort_now.load(std::memory_order_relaxed) && shutdown_deadline_ms_ > now_ms_) {
      shutdown_deadline_ms_ = now_ms_;  // a second SIGTERM: the drain is over
      last_tick_ms_ = 0;
    }
    flush_sessions();
    const bool more_now = !deferred_sessions_.empty() || !sessions_to_flush_.empty();
    ring_.submit_and_wait(more_now ? 0 : static_cast<unsigned>(kTickMs));
    now_ms_ = steady_ms();
    now_epoch_s_ = epoch_ms() / 1000;
    ring_.dispatch();
    run_deferred_sessions();
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
  resume_accepts();
  mcp_sessions_.expire(now_ms_);
  if (admin_ != nullptr) admin_->tick(now_ms_);
  for (auto* prelude : preludes_) {
    if (now_ms_ >= prelude->deadline_ms || stopping_) dying_preludes_.push_back(prelude);
  }
  for (auto* prelude : dying_preludes_) {
    if (preludes_.erase(prelude) > 0) close_prelude(*prelude);
  }
  // Collect first: a tick may close connections, which edits visitors_.
  std::vector<VisitorConnection*> visitors(visitors_.begin(), visitors_.end());
  const bool grace_over = stopping_ && now_ms_ >= shutdown_deadline_ms_;
  for (auto* visitor : visitors) {
    if (grace_over) {
      visitor->abort();
    } else {
      visitor->on_tick(now_ms_, stopping_);
    }
  }
  for (auto* refusal : source_refusals_.overdue(now_ms_)) refusal->abort();
  std::vector<SessionSlot*> slots;
  for (auto& [id, slot] : sessions_) slots.push_back(slot.get());
  for (auto* slot : slots) {
    if (slot->ending) continue;
    if (slot->session->dead()) {
      after_session_io(*slot);  // disconnected from elsewhere (a takeover)
      continue;
    }
    const bool auth_late = !slot->authenticated && now_ms_ >= slot->auth_deadline_ms;
    const bool shutting = stopping_ && (visitors_.empty() || grace_over);
    // A deadline of 0 marks a session that used up its key attempts (counted as such).
    if (auth_late && !shutting && slot->auth_deadline_ms != 0) ++counters_.ssh_login_timeouts;
    if (auth_late || shutting) {
      slot->session->disconnect(shutting ? "tunnelgate: the relay is shutting down\n" : "");
      after_session_io(*slot);
    }
  }
}

void Worker::begin_shutdown() {
  stopping_ = true;
  if (admin_ != nullptr) admin_->stop_listening();
  for (auto& [id, slot] : sessions_) {
    if (!slot->ending && slot->authenticated) {
      slot->session->tell(
          "tunnelgate: the relay is draining: new visitors are refused, and this session "
          "ends when the requests in flight have finished\n");
    }
  }
  shutdown_deadline_ms_ = now_ms_ + shared_.config.drain_timeout_ms;
  for (auto& listener : listeners_) {
    if (listener->fd < 0) continue;
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel_fd(sqe, listener->fd, IORING_ASYNC_CANCEL_ALL);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data(sqe, nullptr);
    ::shutdown(listener->fd, SHUT_RDWR);
  }
  last_tick_ms_ = 0;  // run a tick now
}

void Worker::reap() {
  for (auto it = dying_visitors_.begin(); it != dying_visitors_.end();) {
    if ((*it)->reapable()) {
      delete *it;  // releases its buffers' bytes from memory_
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

// --- accepting -------------------------------------------------------------------------------

void Worker::on_accept(void* listener_ptr, const io_uring_cqe& cqe) {
  auto& listener = *static_cast<Listener*>(listener_ptr);
  Worker& self = *listener.worker;
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) listener.armed = false;
  if (cqe.res >= 0) {
    listener.backoff.accepted();
    if (self.stopping_) {
      ::close(cqe.res);
    } else if (listener.kind == Listener::Kind::kHttps) {
      self.accept_https(cqe.res);
    } else {
      self.accept_ssh(cqe.res);
    }
  }
  if (!listener.armed && !self.stopping_) {
    if (io::AcceptBackoff::out_of_descriptors(cqe.res)) {
      self.pause_accepts(listener, -cqe.res);  // re-armed from tick(): no spin on failures
    } else {
      self.arm_accept(listener);
    }
  }
  if (self.stopping_ && !listener.armed && listener.fd >= 0) {
    ::close(listener.fd);
    listener.fd = -1;
  }
}

void Worker::pause_accepts(Listener& listener, int error) {
  ++counters_.accept_fd_exhausted;
  const std::uint64_t pause_ms = listener.backoff.pause(now_ms_);
  if (!listener.backoff.first_of_spell()) return;  // one line per spell of failures
  logs_.push(log::JsonLine("accept_paused")
                 .add("listener", listener.kind == Listener::Kind::kHttps ? "https" : "ssh")
                 .add("error", std::strerror(error))
                 .add("pause_ms", pause_ms)
                 .add("worker", index_)
                 .finish());
}

void Worker::resume_accepts() {
  for (auto& listener : listeners_) {
    if (listener->fd >= 0 && listener->backoff.due(now_ms_) && !listener->armed && !stopping_) {
      arm_accept(*listener);
    }
  }
}

bool Worker::admit_source(const sockaddr_storage& peer) {
  if (sources_.admit(SourceKey::of(peer))) return true;
  ++counters_.refused_per_source;
  log_refusal("per_source", peer);
  return false;
}

bool Worker::take_refusal_slot() {
  if (source_refusals_.take()) {
    ++counters_.per_source_answered;
    return true;
  }
  ++counters_.per_source_closed;
  return false;
}

void Worker::answer_source_refusal(Prelude& prelude, std::string_view server_name) {
  const std::string initial(prelude.bytes.data(), prelude.size);
  const int fd = prelude.fd;
  prelude.fd = -1;  // handed on, with its refusal slot
  dying_preludes_.push_back(&prelude);
  // Served here whatever name it asks for: no tunnel is touched, no handoff is spent.
  auto* visitor = new VisitorConnection(*this, fd, prelude.peer, normalize_host(server_name),
                                        std::string(), 503);
  visitor->set_fixed_detail("too many connections from your address; retry when some have closed");
  visitor->set_source_worker(index_);
  visitors_.insert(visitor);
  source_refusals_.track(visitor, prelude.deadline_ms);
  visitor->start(initial);
}

void Worker::accept_https(int fd) {
  ++counters_.visitors_accepted;
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length);
  const bool behind_balancer = from_trusted_proxy(shared_.config, peer);
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
  prelude->worker = this;
  prelude->fd = fd;
  prelude->peer = peer;
  prelude->source_counted = !behind_balancer && !refused;
  prelude->awaiting_proxy_header = behind_balancer;
  prelude->bytes.resize(tls::kMaxClientHelloBytes + 512 +
                        (prelude->awaiting_proxy_header ? net::kMaxProxyV2Bytes : 0));
  prelude->completion = {&Worker::on_prelude_recv, prelude};
  prelude->deadline_ms = now_ms_ + shared_.config.handshake_timeout_ms;
  if (refused) {
    prelude->refused = true;
    prelude->deadline_ms = now_ms_ + std::min<std::uint64_t>(SourceRefusals::kBoundMs,
                                                             shared_.config.handshake_timeout_ms);
  }
  preludes_.insert(prelude);
  arm_prelude_recv(*prelude);
}

void Worker::arm_prelude_recv(Prelude& prelude) {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv(sqe, prelude.fd, prelude.bytes.data() + prelude.size,
                     prelude.bytes.size() - prelude.size, 0);
  io::Ring::set_completion(sqe, &prelude.completion);
  prelude.in_flight = true;
}

void Worker::close_prelude(Prelude& prelude) {
  prelude.closing = true;
  ::shutdown(prelude.fd, SHUT_RDWR);
  if (std::find(dying_preludes_.begin(), dying_preludes_.end(), &prelude) ==
      dying_preludes_.end()) {
    dying_preludes_.push_back(&prelude);
  }
}

void Worker::on_prelude_recv(void* prelude_ptr, const io_uring_cqe& cqe) {
  auto& prelude = *static_cast<Prelude*>(prelude_ptr);
  Worker& self = *prelude.worker;
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

bool Worker::take_proxy_header(Prelude& prelude) {
  const auto parsed = net::parse_proxy_v2(std::string_view(prelude.bytes.data(), prelude.size));
  if (parsed.state == net::ProxyParseState::kIncomplete) {
    arm_prelude_recv(prelude);  // the prelude's deadline (handshake_timeout_ms) still runs
    return false;
  }
  if (parsed.state == net::ProxyParseState::kError) {
    ++counters_.proxy_headers_refused;
    logs_.push(log::JsonLine("proxy_header_refused")
                   .add("peer", address_text(prelude.peer))
                   .add("reason", parsed.error)
                   .add("worker", index_)
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
    prelude.deadline_ms = std::min(prelude.deadline_ms, now_ms_ + SourceRefusals::kBoundMs);
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

void Worker::route(Prelude& prelude, std::string_view server_name) {
  const std::string host = normalize_host(server_name);
  const auto name = name_under_domain(host, shared_.config.domain);
  std::string initial(prelude.bytes.data(), prelude.size);
  const int fd = prelude.fd;
  const sockaddr_storage peer = prelude.peer;
  prelude.fd = -1;  // handed on
  dying_preludes_.push_back(&prelude);
  if (!name) {
    start_visitor(fd, initial, peer, host, 404, index_);
    return;
  }
  // A publisher hears that its name is ready (tcpip-forward granted, URL printed) only after
  // the granting worker queued the route update here; but the wake-up may still be on its
  // way, or behind this visitor in our ring. Take what is queued first, so that the first
  // visitor after "ready" never meets the route it replaces, or that route's "offline".
  // An update that could not be queued at once (a full queue) is counted late instead: our
  // table may then be behind, and the registry answers (route_owner).
  if (shared_.mailboxes.depth(index_) > 0) take_messages();
  const std::optional<NameOwner> owner =
      route_owner(routes_, shared_.registry, *name, shared_.mailboxes.late_routes(index_) > 0);
  if (!owner || !owner->online) {
    start_visitor(fd, initial, peer, std::string(*name), owner ? 502 : 404, index_);
    return;
  }
  if (owner->worker == index_) {
    start_visitor(fd, initial, peer, std::string(*name), 0, index_);
    return;
  }
  auto message = std::make_unique<io::Message>();
  message->kind = io::Message::Kind::kVisitor;
  message->fd = fd;
  message->bytes = std::move(initial);
  message->name = std::string(*name);
  message->peer = peer;
  message->worker = index_;  // who accepted it, and counts it against its source
  auto refused = shared_.mailboxes.send(ring_, index_, owner->worker, std::move(message));
  ++counters_.handoffs_sent;
  if (refused) {
    ++counters_.handoffs_refused;
    // The owner's queue is full: refuse cleanly rather than hold the socket in limbo.
    logs_.push(log::JsonLine("handoff_refused")
                   .add("name", refused->name)
                   .add("worker", owner->worker)
                   .finish());
    ::close(refused->fd);
    sources_.release(SourceKey::of(peer));
  }
}

void Worker::start_visitor(int fd, std::string_view initial_bytes, const sockaddr_storage& peer,
                           std::string name, int fixed_status, unsigned source_worker) {
  if (fixed_status == 0) {
    Tunnel* tunnel = find_tunnel(name);
    if (tunnel != nullptr &&
        (tunnel->open_connections >= shared_.config.max_connections_per_tunnel ||
         tunnel->key_connections->load(std::memory_order_relaxed) >=
             shared_.config.max_connections_per_key)) {
      fixed_status = 503;  // answered by the relay; the publisher sees nothing
    } else if (tunnel != nullptr && memory_.over_budget()) {
      ++counters_.refused_memory_budget;
      log_refusal("memory_budget", peer);
      fixed_status = 503;  // a short answer costs little, and tells the client to come back
    }
  }
  std::string server_name = fixed_status == 404 && name.find('.') != std::string::npos
                                ? name
                                : name + "." + shared_.config.domain;
  auto* visitor =
      new VisitorConnection(*this, fd, peer, std::move(server_name),
                            fixed_status == 404 ? std::string() : std::move(name), fixed_status);
  visitor->set_source_worker(source_worker);
  visitors_.insert(visitor);
  visitor->start(initial_bytes);
}

void Worker::forget(VisitorConnection* connection) {
  if (visitors_.erase(connection) > 0) {
    dying_visitors_.push_back(connection);
    // A refusal was never counted against its source; it gives its refusal slot back.
    if (!source_refusals_.forget(connection)) {
      release_source(connection->peer(), connection->source_worker());
    }
  }
}

void Worker::release_source(const sockaddr_storage& peer, unsigned source_worker) {
  if (shared_.config.max_connections_per_source == 0) return;  // nothing was counted
  if (source_worker == index_) {
    sources_.release(SourceKey::of(peer));
    return;
  }
  auto message = std::make_unique<io::Message>();
  message->kind = io::Message::Kind::kReleaseSource;
  message->peer = peer;
  message->worker = index_;
  send_reliably(source_worker, std::move(message));
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

Tunnel* Worker::find_tunnel(std::string_view name) {
  if (name.empty()) return nullptr;
  auto it = tunnels_.find(std::string(name));
  return it == tunnels_.end() ? nullptr : it->second.get();
}

// --- publisher sessions ----------------------------------------------------------------------

void Worker::accept_ssh(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length);
  const SourceKey source = SourceKey::of(peer);
  // Closed before libssh sends its banner: a flood costs an accept and a close, no session.
  if (const SshRefusal refusal = ssh_gate_.admit(fd, source); refusal != SshRefusal::kNone) {
    ::close(fd);
    switch (refusal) {
      case SshRefusal::kDescriptorReserve:
        ++counters_.ssh_refused_descriptor_reserve;
        log_refusal("ssh_descriptor_reserve", peer);
        break;
      case SshRefusal::kPerSource:
        ++counters_.ssh_refused_per_source;
        log_refusal("ssh_per_source", peer);
        break;
      case SshRefusal::kStartups:
        ++counters_.ssh_refused_startups;
        log_refusal("ssh_max_startups", peer);
        break;
      case SshRefusal::kNone:
        break;
    }
    return;
  }
  set_nodelay(fd);
  ++counters_.sessions_accepted;
  const std::uint64_t id = (static_cast<std::uint64_t>(index_) << 48) | next_session_serial_++;
  auto slot = std::make_unique<SessionSlot>();
  slot->worker = this;
  slot->session =
      std::make_unique<ssh::PublisherSession>(ssh_server_, *this, id, fd, address_text(peer));
  slot->read_completion = {&Worker::on_session_readable, slot.get()};
  slot->write_completion = {&Worker::on_session_writable, slot.get()};
  slot->auth_deadline_ms = now_ms_ + shared_.config.ssh_login_grace_time_ms;
  slot->source = source;
  SessionSlot& ref = *slot;
  sessions_.emplace(id, std::move(slot));
  ref.session->start();
  after_session_io(ref);
}

void Worker::arm_session_poll(SessionSlot& slot, bool write) {
  io_uring_sqe* sqe = ring_.sqe();
  // One-shot polls, re-armed after libssh has run: a one-shot poll checks readiness as it is
  // armed, so bytes libssh left unread still wake us (level-triggered behaviour).
  io_uring_prep_poll_add(sqe, slot.session->fd(), write ? POLLOUT : POLLIN);
  io::Ring::set_completion(sqe, write ? &slot.write_completion : &slot.read_completion);
  (write ? slot.write_armed : slot.read_armed) = true;
  ++slot.in_flight;
}

void Worker::on_session_readable(void* slot_ptr, const io_uring_cqe& cqe) {
  auto& slot = *static_cast<SessionSlot*>(slot_ptr);
  --slot.in_flight;
  slot.read_armed = false;
  if (slot.ending) return;
  if (cqe.res < 0 && cqe.res != -ECANCELED) {
    slot.session->disconnect("");
  } else {
    slot.session->on_ready();
    slot.worker->flush_after_libssh(slot);
  }
  slot.worker->after_session_io(slot);
}

void Worker::on_session_writable(void* slot_ptr, const io_uring_cqe&) {
  auto& slot = *static_cast<SessionSlot*>(slot_ptr);
  --slot.in_flight;
  slot.write_armed = false;
  if (slot.ending) return;
  slot.session->on_ready();
  slot.worker->flush_after_libssh(slot);
  slot.worker->after_session_io(slot);
}

void Worker::flush_after_libssh(SessionSlot& slot) {
  // libssh may have queued packets of its own while it ran (a channel opened for a visitor, a
  // window adjust, a reply) without our hearing of it: a flush this round sends them. Left
  // unflushed, with no POLLOUT armed, they waited for the session's next event, and with a
  // visitor's request among them that could be never (handshake-per-request load on two
  // workers stalled so). With nothing buffered the flush returns without a system call.
  on_output_pending(*slot.session);
}

void Worker::after_session_io(SessionSlot& slot) {
  if (slot.ending) return;
  if (slot.session->dead()) {
    end_session(slot);
    return;
  }
  if (!slot.read_armed) arm_session_poll(slot, false);
  if (!slot.write_armed && slot.session->wants_write()) arm_session_poll(slot, true);
}

void Worker::on_output_pending(ssh::PublisherSession& session) {
  SessionSlot* slot = slot_of(session.id());
  if (slot == nullptr || slot->ending || slot->flush_queued) return;
  slot->flush_queued = true;
  sessions_to_flush_.push_back(session.id());
}

template <typename Visit>
void Worker::drain_session_queue(std::vector<std::uint64_t>& queue, Visit visit) {
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

void Worker::flush_sessions() {
  // Once per loop round, before the wait: each session's packets of the round in one send.
  drain_session_queue(sessions_to_flush_, [this](SessionSlot& slot) {
    slot.flush_queued = false;
    if (slot.ending) return;
    slot.session->flush_output();
    after_session_io(slot);
  });
}

void Worker::on_deferred_work(ssh::PublisherSession& session) {
  deferred_sessions_.push_back(session.id());
}

void Worker::run_deferred_sessions() {
  drain_session_queue(deferred_sessions_, [this](SessionSlot& slot) {
    if (slot.ending) return;
    slot.session->run_deferred();
    after_session_io(slot);
  });
}

Worker::SessionSlot* Worker::slot_of(std::uint64_t session_id) {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Worker::on_auth_refused(ssh::PublisherSession& session) {
  ++counters_.ssh_auth_failures;
  // A client may offer a few keys; a scanner may not try a keyring. Inside libssh's callback
  // the session cannot be torn down: the next tick does it, as for a session that let its
  // authentication deadline pass.
  if (session.auth_refusals() >= ssh::PublisherSession::kMaxAuthAttempts) {
    if (auto it = sessions_.find(session.id()); it != sessions_.end()) {
      it->second->auth_deadline_ms = 0;
    }
  }
}

std::string Worker::next_request_id() {
  char text[32];
  std::snprintf(text, sizeof text, "w%u-%llx", index_,
                static_cast<unsigned long long>(next_request_serial_++));
  return text;
}

policy::ExposeDecision Worker::decide_expose(const ssh::PublisherSession& session,
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
  return policy_->rules.decide_expose(context);
}

void Worker::on_options(ssh::PublisherSession& session) {
  recheck_exposures(&session);
}

unsigned Worker::recheck_exposures(const ssh::PublisherSession* only) {
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

void Worker::on_authenticated(ssh::PublisherSession& session) {
  SessionSlot* slot = slot_of(session.id());
  if (slot == nullptr || slot->authenticated) return;
  slot->authenticated = true;
  ssh_gate_.authenticated();  // no longer counted against max_startups
}

void Worker::end_session(SessionSlot& slot) {
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
          .add("worker", index_);
      logs_.push(line.finish());
      record_exposure("closed", forward.name, session, "the SSH connection ended");
      mcp_sessions_.drop_tunnel(forward.name);
      mcp_tasks_.drop_tunnel(forward.name);
      mcp_params_.drop_tunnel(forward.name);
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
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel(sqe, armed, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data(sqe, nullptr);
  }
  dying_sessions_.push_back(&slot);
}

ssh::ForwardDecision Worker::on_forward_request(ssh::PublisherSession& session,
                                                const ssh::Forward& requested) {
  ssh::ForwardDecision decision;
  const std::string& bind_address = requested.bind_address;
  std::string name;
  if (is_anonymous_bind_address(bind_address)) {
    // The key's first stable name this session does not hold: a cancelled forward's name is
    // free again (counting the session's forwards would give the next one a name still held).
    const auto& held = session.forwards();
    for (unsigned index = 0;; ++index) {
      name = stable_name(session.key_fingerprint(), shared_.name_secret, index);
      if (std::none_of(held.begin(), held.end(),
                       [&](const ssh::Forward& forward) { return forward.name == name; })) {
        break;
      }
    }
  } else {
    name = normalize_host(bind_address);
    if (auto why = validate_name(name)) {
      decision.message = "tunnelgate: cannot publish: " + *why + "\n";
      counters_.refuse_forward(ForwardRefusal::kInvalidName);
      logs_.push(log::JsonLine("forward_refused")
                     .add("name", name.substr(0, 64))
                     .add("key", session.key_fingerprint())
                     .add("source", session.peer())
                     .add("reason", *why)
                     .finish());
      record_exposure("refused", name.substr(0, 64), session, "not a valid name");
      return decision;
    }
  }
  if (stopping_) {
    decision.message = "tunnelgate: the relay is shutting down\n";
    return decision;
  }
  if (shared_.config.audit_required &&
      shared_.audit_failing_workers.load(std::memory_order_relaxed) > 0) {
    decision.message = "tunnelgate: cannot publish \"" + name +
                       "\": the relay cannot write its audit trail, so it exposes nothing new\n";
    return decision;
  }
  const policy::ExposeDecision exposure = decide_expose(session, name);
  audit(log::JsonLine("audit")
            .add("decision", exposure.allowed ? "expose_allowed" : "expose_refused")
            .add("rule", exposure.rule_id)
            .add("tunnel", name)
            .add("class", policy::to_string(exposure.actor_class))
            .add("key", session.key_fingerprint())
            .add("user", session.user())
            .add("source", session.peer())
            .finish());
  if (!exposure.allowed) {
    counters_.refuse_forward(ForwardRefusal::kPolicy);
    decision.message = "tunnelgate: cannot publish \"" + name + "\": " + exposure.reason + "\n";
    logs_.push(log::JsonLine("forward_refused")
                   .add("name", name)
                   .add("key", session.key_fingerprint())
                   .add("source", session.peer())
                   .add("rule", exposure.rule_id)
                   .add("reason", exposure.reason)
                   .finish());
    record_exposure("refused", name, session, exposure.reason);
    return decision;
  }
  const auto claim =
      shared_.registry.claim(name, NameOwner{index_, session.id(), session.key_fingerprint(), true},
                             shared_.config.max_tunnels_per_key);
  switch (claim.outcome) {
    case NameRegistry::Outcome::kHeldByOtherKey:
      counters_.refuse_forward(ForwardRefusal::kNameTaken);
      decision.message =
          "tunnelgate: cannot publish \"" + name + "\": the name is held by another key\n";
      logs_.push(log::JsonLine("forward_refused")
                     .add("name", name)
                     .add("key", session.key_fingerprint())
                     .add("source", session.peer())
                     .add("reason", "held by another key")
                     .finish());
      record_exposure("refused", name, session, "held by another key");
      return decision;
    case NameRegistry::Outcome::kKeyAtLimit:
      counters_.refuse_forward(ForwardRefusal::kKeyLimit);
      decision.message = "tunnelgate: cannot publish \"" + name +
                         "\": this key already publishes " +
                         std::to_string(shared_.config.max_tunnels_per_key) +
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
      if (previous.worker == index_) {
        if (SessionSlot* old = slot_of(previous.session_id); old != nullptr && !old->ending) {
          old->session->disconnect("tunnelgate: \"" + name +
                                   "\" was taken over by a new session of the same key\n");
          // Torn down after the current callback returns (from the next tick at the latest).
          last_tick_ms_ = 0;
        }
      } else {
        auto message = std::make_unique<io::Message>();
        message->kind = io::Message::Kind::kCloseSession;
        message->session_id = previous.session_id;
        message->name = name;
        // Through the outbox: on a full queue it waits there instead of being dropped (the old
        // session would then linger), and it keeps its place behind earlier messages.
        send_reliably(previous.worker, std::move(message));
      }
      break;
    }
    case NameRegistry::Outcome::kGranted:
      break;
  }
  auto tunnel = std::make_unique<Tunnel>();
  tunnel->serial = next_tunnel_serial_++;
  tunnel->key_connections = shared_.registry.key_connections(session.key_fingerprint());
  tunnel->name = name;
  tunnel->url = public_url(name);
  tunnel->session = &session;
  tunnel->forward = requested;
  tunnel->forward.name = name;
  tunnel->actor_class = exposure.actor_class;
  tunnel->expose_rule = std::string(exposure.rule_id);
  tunnel->opened_ms = now_ms_;
  tunnel->opened_epoch_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  decision.granted = true;
  decision.name = name;
  decision.message = "tunnelgate: " + tunnel->url + " now reaches your -R target (class " +
                     std::string(policy::to_string(tunnel->actor_class)) + ")\n";
  logs_.push(log::JsonLine("tunnel_opened")
                 .add("name", name)
                 .add("url", tunnel->url)
                 .add("key", session.key_fingerprint())
                 .add("user", session.user())
                 .add("source", session.peer())
                 .add("class", policy::to_string(tunnel->actor_class))
                 .add("rule", tunnel->expose_rule)
                 .add("worker", index_)
                 .finish());
  mcp_sessions_.drop_tunnel(name);  // a takeover: the old publisher's sessions are gone
  mcp_tasks_.drop_tunnel(name);
  mcp_params_.drop_tunnel(name);
  tunnels_[name] = std::move(tunnel);
  publish_route(name, session.id(), claim.generation, true);
  record_exposure("opened", name, session, "");
  return decision;
}

void Worker::on_forward_cancelled(ssh::PublisherSession& session, const ssh::Forward& forward) {
  auto it = tunnels_.find(forward.name);
  if (it != tunnels_.end() && it->second->session == &session) {
    logs_.push(log::JsonLine("tunnel_closed")
                   .add("name", forward.name)
                   .add("key", session.key_fingerprint())
                   .add("reason", "cancelled")
                   .add("worker", index_)
                   .finish());
    record_exposure("closed", forward.name, session, "the publisher cancelled the forward");
    mcp_sessions_.drop_tunnel(forward.name);
    mcp_tasks_.drop_tunnel(forward.name);
    mcp_params_.drop_tunnel(forward.name);
    tunnels_.erase(it);
  }
  release_name(forward.name, session.id());
}

std::string Worker::public_url(std::string_view name) const {
  const Config& cfg = shared_.config;
  const std::uint16_t port = cfg.public_port != 0 ? cfg.public_port : cfg.https_listen.front().port;
  std::string url = "https://" + std::string(name) + "." + cfg.domain;
  if (port != 443) url += ":" + std::to_string(port);
  url += "/";
  return url;
}

// --- messages from other workers -------------------------------------------------------------

void Worker::publish_route(const std::string& name, std::uint64_t session_id,
                           std::uint64_t generation, bool online) {
  if (online) {
    routes_.set_online(name, NameOwner{index_, session_id, {}, true, generation});
  } else {
    routes_.set_offline(name, session_id, generation);
  }
  for (unsigned other = 0; other < shared_.worker_count; ++other) {
    if (other == index_) continue;
    auto message = std::make_unique<io::Message>();
    message->kind = io::Message::Kind::kRoute;
    message->name = name;
    message->worker = index_;
    message->session_id = session_id;
    message->generation = generation;
    message->online = online;
    send_reliably(other, std::move(message));  // counted late for `other` if it must wait
  }
}

void Worker::release_name(const std::string& name, std::uint64_t session_id) {
  // Nothing to tell when the claim was already released, or taken over (the newer claim's
  // "online" has been or will be sent by the worker that granted it).
  if (auto ended = shared_.registry.release(name, session_id)) {
    publish_route(name, session_id, *ended, false);
  }
}

void Worker::send_reliably(unsigned to, std::unique_ptr<io::Message> message) {
  outbox_.send(ring_, to, std::move(message));
}

// --- the admin API's questions ----------------------------------------------------------------

void Worker::record_exposure(std::string_view event, std::string_view name,
                             const ssh::PublisherSession& session, std::string_view reason) {
  const std::uint64_t now = epoch_ms();
  log::JsonObject object;
  object.add("time", iso_time(now))
      .add("event", event)
      .add("name", name)
      .add("key", session.key_fingerprint())
      .add("user", session.user())
      .add("source", session.peer())
      .add("worker", index_);
  if (!reason.empty()) object.add("reason", reason);
  exposures_.emplace_back(now, object.finish());
  if (exposures_.size() > kMaxExposures) exposures_.pop_front();
}

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
  unsigned closed = 0;
  for (auto& [id, slot] : sessions_) {
    ssh::PublisherSession& session = *slot->session;
    if (slot->ending || !session.authenticated() ||
        ssh_server_->authorized().contains_fingerprint(session.key_fingerprint())) {
      continue;
    }
    session.disconnect("tunnelgate: your key is no longer authorized\n");
    ++closed;
  }
  if (closed > 0) last_tick_ms_ = 0;  // tear them down on this round
  const bool policy_changed = new_policy != nullptr && new_policy != policy_;
  unsigned unpublished = 0;
  unsigned revoked = 0;
  if (policy_changed) {
    policy_ = std::move(new_policy);
    ++policy_generation_;
    unpublished = recheck_exposures(nullptr);
    // Requests are decided one by one, but an event stream or a WebSocket is one request
    // that never ends: decide those again now, so a revoked caller is cut at once.
    std::vector<VisitorConnection*> open(visitors_.begin(), visitors_.end());
    for (VisitorConnection* visitor : open) revoked += visitor->recheck_access() ? 1 : 0;
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
    reply->online = close_tunnel(name, "an operator closed it");
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
    for (const auto& [time, json] : exposures_) {
      if (time < request.since_epoch_ms) continue;
      if (!reply->tunnels_json.empty()) reply->tunnels_json.push_back(',');
      reply->tunnels_json += json;
    }
    return reply;
  }
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
    if (!reply->tunnels_json.empty()) reply->tunnels_json.push_back(',');
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
        .add("worker", index_);
    reply->tunnels_json += object.finish();
  }
  WorkerGauges gauges;
  gauges.tunnels = tunnels_.size();
  gauges.sessions = sessions_.size();
  for (const auto& [id, slot] : sessions_) {
    gauges.ssh_unauthenticated += !slot->authenticated && !slot->ending ? 1 : 0;
  }
  gauges.visitor_connections = visitors_.size();
  gauges.handoff_queue_depth = shared_.mailboxes.depth(index_);
  gauges.buffered_bytes = memory_.held();
  gauges.mcp_sessions = mcp_sessions_.size();
  gauges.mcp_tasks = mcp_tasks_.size();
  reply->counters = encode_counters(counters_, gauges);
  return reply;
}

bool Worker::close_tunnel(const std::string& name, std::string_view why) {
  auto it = tunnels_.find(name);
  if (it == tunnels_.end()) return false;
  ssh::PublisherSession& session = *it->second->session;
  session.tell("tunnelgate: " + it->second->url + " was closed: " + std::string(why) + "\n");
  logs_.push(log::JsonLine("tunnel_closed")
                 .add("name", name)
                 .add("key", session.key_fingerprint())
                 .add("reason", why)
                 .add("worker", index_)
                 .finish());
  record_exposure("closed", name, session, why);
  mcp_sessions_.drop_tunnel(name);
  mcp_tasks_.drop_tunnel(name);
  mcp_params_.drop_tunnel(name);
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
      if (stopping_) {
        ::close(message->fd);
        release_source(message->peer, message->worker);
        return;
      }
      start_visitor(message->fd, message->bytes, message->peer, std::move(message->name), 0,
                    message->worker);
      return;
    case io::Message::Kind::kReleaseSource:
      sources_.release(SourceKey::of(message->peer));
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
      reply->online = close_tunnel(message->name, "an operator closed it");
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
      if (SessionSlot* slot = slot_of(message->session_id); slot != nullptr && !slot->ending) {
        slot->session->disconnect("tunnelgate: \"" + message->name +
                                  "\" was taken over by a new session of the same key\n");
        after_session_io(*slot);
      }
      return;
  }
}

}  // namespace tg
