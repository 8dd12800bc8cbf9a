#include "tools/load/visitor.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <queue>

#include "relay/http/http.h"
#include "relay/io/buffer_ring.h"
#include "relay/io/ring.h"
#include "tools/load/client_tls.h"
#include "tools/load/clock.h"
#include "tools/load/sse_scanner.h"

namespace tg::load {

void ErrorCounts::add(const ErrorCounts& other) {
  connect += other.connect;
  tls += other.tls;
  http += other.http;
  timeout += other.timeout;
  protocol += other.protocol;
  closed += other.closed;
}

void VisitorReport::merge(const VisitorReport& other) {
  latency.merge(other.latency);
  sse_latency.merge(other.sse_latency);
  handshake.merge(other.handshake);
  requests += other.requests;
  ok += other.ok;
  scheduled += other.scheduled;
  unfinished += other.unfinished;
  handshakes += other.handshakes;
  sse_events += other.sse_events;
  bytes_sent += other.bytes_sent;
  bytes_received += other.bytes_received;
  errors.add(other.errors);
  for (const auto& [status, count] : other.statuses) statuses[status] += count;
  cpu_ns += other.cpu_ns;
  finished_ns = std::max(finished_ns, other.finished_ns);
  if (first_error.empty()) first_error = other.first_error;
}

namespace {

constexpr unsigned kReceiveBufferSize = 16 * 1024;
constexpr std::size_t kMaxResponseHead = 64 * 1024;
// Large request bodies are written in pieces of this size, the next one when the previous
// has left.
constexpr std::size_t kBodyPiece = 256 * 1024;
// Timeouts and reconnect back-offs are checked this often (seconds-long timeouts need no
// finer grain, and 50,000 idle connections should not be walked every millisecond).
constexpr std::uint64_t kScanIntervalNs = 100'000'000;
constexpr std::uint64_t kConnectRetryNs = 100'000'000;

std::uint64_t thread_cpu_ns() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return (static_cast<std::uint64_t>(usage.ru_utime.tv_sec) +
          static_cast<std::uint64_t>(usage.ru_stime.tv_sec)) *
             1'000'000'000u +
         (static_cast<std::uint64_t>(usage.ru_utime.tv_usec) +
          static_cast<std::uint64_t>(usage.ru_stime.tv_usec)) *
             1'000u;
}

unsigned round_up_pow2(unsigned value) {
  unsigned out = 1;
  while (out < value) out <<= 1;
  return out;
}

std::string_view body_pattern() {
  static const std::string block(kBodyPiece, 'x');
  return block;
}

enum class ErrorKind { kConnect, kTls, kTimeout, kProtocol, kClosed };

}  // namespace

class VisitorThread::Impl {
 public:
  Impl(VisitorThread& owner, const RunPlan& plan, std::uint32_t index, std::uint32_t threads,
       const std::atomic<bool>& stop)
      : owner_(owner), plan_(plan), report_(owner.report_), stop_(stop) {
    for (std::uint32_t c = index; c < plan.connections; c += threads) {
      auto connection = std::make_unique<Connection>();
      connection->impl = this;
      connection->index = c;
      connection->target = &plan.targets[c % plan.targets.size()];
      connection->connect_done = {&Impl::on_connect, connection.get()};
      connection->recv_done = {&Impl::on_recv, connection.get()};
      connection->send_done = {&Impl::on_send, connection.get()};
      connections_.push_back(std::move(connection));
    }
  }

  void run();

 private:
  struct Connection {
    Impl* impl = nullptr;
    std::uint32_t index = 0;  // global: the timetable's connection number
    const RunPlan::Target* target = nullptr;
    enum class State { kDown, kConnecting, kHandshake, kReady, kBusy, kClosing };
    State state = State::kDown;
    int fd = -1;
    io::IoObject io;
    io::Completion connect_done;
    io::Completion recv_done;
    io::Completion send_done;
    bool recv_armed = false;
    bool send_in_flight = false;
    std::string sending;
    std::size_t sent = 0;
    ClientTlsStream tls;

    // The request: decided (`pending`), then written (state kBusy).
    bool pending = false;
    std::uint64_t intended_ns = 0;  // latency is measured from here
    std::uint64_t last_progress_ns = 0;
    std::uint64_t connect_started_ns = 0;
    std::uint64_t body_to_write = 0;
    std::uint64_t retry_at_ns = 0;

    // The response.
    bool head_done = false;
    std::string head;
    http::BodyFraming framing = http::BodyFraming::kNone;
    std::uint64_t body_left = 0;
    http::ChunkedScanner chunked;
    bool keep_alive = true;
    int status = 0;
    bool event_stream = false;
    SseTimestampScanner sse;

    std::uint64_t issued = 0;  // requests issued on this connection slot
    bool exhausted = false;    // --requests-per-connection reached
    bool idle_counted = false;

    // Open loop.
    std::uint64_t next_j = 0;  // requests of this connection taken from the timetable
    std::uint64_t finished_in_window = 0;
  };
  using State = Connection::State;

  // Socket and ring.
  void connect(Connection& c);
  static void on_connect(void* self, const io_uring_cqe& cqe);
  void arm_recv(Connection& c);
  static void on_recv(void* self, const io_uring_cqe& cqe);
  void flush(Connection& c);
  static void on_send(void* self, const io_uring_cqe& cqe);
  void begin_close(Connection& c);
  void finish_close(Connection& c);
  void after_handler(Connection& c);

  // TLS and HTTP.
  void pump(Connection& c);
  void on_plaintext(Connection& c, std::string_view bytes);
  void on_body(Connection& c, std::string_view bytes);
  void complete_response(Connection& c);
  void on_peer_closed(Connection& c);
  void fail(Connection& c, ErrorKind kind, const std::string& detail);

  // Requests.
  void next_request(Connection& c);
  void issue(Connection& c, std::uint64_t intended_ns);
  void write_request(Connection& c);
  void write_body_piece(Connection& c);
  void after_down(Connection& c);
  void hold_idle(Connection& c);

  void scan();
  bool in_window(std::uint64_t t) const {
    return t >= plan_.measure_begin_ns && t < plan_.measure_end_ns;
  }
  bool sending_allowed(std::uint64_t now) const {
    return !ending_ && !stop_.load(std::memory_order_relaxed) &&
           (plan_.open_loop || now < plan_.measure_end_ns);
  }
  bool drained() const;
  void finish_request_in_window(Connection& c) {
    if (plan_.open_loop && in_window(c.intended_ns)) ++c.finished_in_window;
  }

  VisitorThread& owner_;
  const RunPlan& plan_;
  VisitorReport& report_;
  const std::atomic<bool>& stop_;
  io::Ring ring_;
  io::BufferRing buffers_;  // after ring_: unregistered before the ring goes
  std::unique_ptr<ClientTlsContext> tls_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> to_finish_;  // closed with nothing in flight: finished by the loop
  // Open loop: idle connections waiting for their next due time.
  std::priority_queue<std::pair<std::uint64_t, Connection*>,
                      std::vector<std::pair<std::uint64_t, Connection*>>, std::greater<>>
      waiting_;
  bool ending_ = false;
  std::size_t exhausted_ = 0;  // connections done with --requests-per-connection
};

VisitorThread::VisitorThread(const RunPlan& plan, std::uint32_t index, std::uint32_t threads,
                             const std::atomic<bool>& stop)
    : impl_(std::make_unique<Impl>(*this, plan, index, threads, stop)) {}

VisitorThread::~VisitorThread() = default;

void VisitorThread::run() {
  impl_->run();
  done.store(true);
}

// --- the loop -----------------------------------------------------------------------------------

void VisitorThread::Impl::run() {
  pthread_setname_np(pthread_self(), "tg-load-visit");
  // The open loop sleeps until due times microseconds apart; the default 50 µs timer slack
  // would send them late (and, measured from the timetable, count that against the relay).
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  const unsigned count = static_cast<unsigned>(connections_.size());
  const unsigned entries = std::clamp(round_up_pow2(count * 2 + 64), 256u, 8192u);
  if (auto status = ring_.init(entries); !status) {
    report_.first_error = status.error().message;
    report_.errors.connect += count;
    return;
  }
  // Buffers are taken only while bytes are in flight: a few per connection at most.
  const unsigned buffers = std::clamp(round_up_pow2(count * 4), 64u, 8192u);
  if (auto status = buffers_.init(ring_.raw(), 1, buffers, kReceiveBufferSize); !status) {
    report_.first_error = status.error().message;
    report_.errors.connect += count;
    return;
  }
  auto tls = ClientTlsContext::create(plan_.ca_path);
  if (!tls) {
    report_.first_error = tls.error().message;
    report_.errors.tls += count;
    return;
  }
  tls_ = std::move(*tls);

  std::uint64_t now = monotonic_ns();
  for (auto& c : connections_) {
    if (plan_.handshake_per_request) {
      next_request(*c);  // connects when its first request is due
    } else {
      connect(*c);
    }
  }
  bool measuring = false;
  std::uint64_t cpu_begin = 0;
  std::uint64_t window_end = plan_.measure_end_ns;  // earlier when interrupted
  std::uint64_t next_scan = now + kScanIntervalNs;
  for (;;) {
    now = monotonic_ns();
    if (!measuring && now >= plan_.measure_begin_ns) {
      measuring = true;
      cpu_begin = thread_cpu_ns();
    }
    if (stop_.load(std::memory_order_relaxed)) {
      window_end = std::clamp(now, plan_.measure_begin_ns, plan_.measure_end_ns);
      break;
    }
    if (!plan_.open_loop && now >= plan_.measure_end_ns) break;
    if (plan_.requests_per_connection > 0 && exhausted_ == connections_.size()) {
      report_.finished_ns = now;
      break;
    }
    if (plan_.open_loop && now >= plan_.measure_end_ns) {
      if (now >= plan_.drain_end_ns || drained()) break;
    }
    for (std::size_t i = 0; i < to_finish_.size(); ++i) finish_close(*to_finish_[i]);
    to_finish_.clear();
    while (!waiting_.empty() && waiting_.top().first <= now) {
      Connection* c = waiting_.top().second;
      waiting_.pop();
      if (c->state == State::kReady || c->state == State::kDown) next_request(*c);
    }
    if (now >= next_scan) {
      scan();
      next_scan = now + kScanIntervalNs;
    }
    if (!to_finish_.empty()) continue;
    std::uint64_t wake =
        std::min(next_scan, plan_.open_loop ? plan_.drain_end_ns : plan_.measure_end_ns);
    if (!measuring) wake = std::min(wake, plan_.measure_begin_ns);
    if (plan_.open_loop && now < plan_.measure_end_ns) wake = std::min(wake, plan_.measure_end_ns);
    if (!waiting_.empty()) wake = std::min(wake, waiting_.top().first);
    const std::uint64_t wait_ns = wake > now ? wake - now : 0;
    // A wait bounded in nanoseconds: the ring's own helper counts milliseconds.
    __kernel_timespec ts{};
    ts.tv_sec = static_cast<long long>(wait_ns / 1'000'000'000u);
    ts.tv_nsec = static_cast<long long>(wait_ns % 1'000'000'000u);
    // Always ask for one completion: with DEFER_TASKRUN, completions are only posted when
    // the thread enters the kernel to wait (a zero timeout just polls).
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(ring_.raw(), &cqe, 1, &ts, nullptr);
    ring_.dispatch();
  }
  report_.cpu_ns = measuring ? thread_cpu_ns() - cpu_begin : 0;

  if (plan_.open_loop) {
    const std::uint64_t begin = plan_.measure_begin_ns;
    for (auto& c : connections_) {
      const std::uint64_t due = window_end <= begin
                                    ? 0
                                    : plan_.schedule.due_count(c->index, window_end - 1) -
                                          plan_.schedule.due_count(c->index, begin - 1);
      report_.scheduled += due;
      report_.unfinished += due > c->finished_in_window ? due - c->finished_in_window : 0;
    }
  }

  // Close everything and let the kernel finish with our buffers before they go.
  ending_ = true;
  for (auto& c : connections_) {
    if (c->state != State::kDown && c->state != State::kClosing) begin_close(*c);
  }
  const std::uint64_t give_up = monotonic_ns() + 2'000'000'000u;
  for (;;) {
    for (std::size_t i = 0; i < to_finish_.size(); ++i) finish_close(*to_finish_[i]);
    to_finish_.clear();
    const bool all_down = std::all_of(connections_.begin(), connections_.end(),
                                      [](const auto& c) { return c->state == State::kDown; });
    if (all_down || monotonic_ns() >= give_up) break;
    ring_.submit_and_wait(10);
    ring_.dispatch();
  }
  for (auto& c : connections_) {
    if (c->fd >= 0) ::close(c->fd);
    c->fd = -1;
  }
}

bool VisitorThread::Impl::drained() const {
  for (const auto& c : connections_) {
    if (c->pending || c->state == State::kBusy) return false;
    if (plan_.schedule.due_ns(c->index, c->next_j) < plan_.measure_end_ns) return false;
  }
  return true;
}

void VisitorThread::Impl::scan() {
  // A fresh reading: handlers earlier in this round stamped progress after the loop's `now`.
  const std::uint64_t now = monotonic_ns();
  const std::uint64_t timeout = plan_.timeout_ns;
  for (auto& owned : connections_) {
    Connection& c = *owned;
    switch (c.state) {
      case State::kConnecting:
      case State::kHandshake:
      case State::kBusy:
        if (now > c.last_progress_ns && now - c.last_progress_ns > timeout) {
          fail(c, ErrorKind::kTimeout,
               c.state == State::kBusy ? "no response within --timeout"
                                       : "connection not established within --timeout");
        }
        break;
      case State::kDown:
        if (c.retry_at_ns != 0 && now >= c.retry_at_ns) {
          c.retry_at_ns = 0;
          after_down(c);
        }
        break;
      default:
        break;
    }
  }
}

// --- socket I/O on the ring -----------------------------------------------------------------

void VisitorThread::Impl::connect(Connection& c) {
  const std::uint64_t now = monotonic_ns();
  c.connect_started_ns = now;
  c.last_progress_ns = now;
  c.fd = ::socket(plan_.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    c.state = State::kDown;
    fail(c, ErrorKind::kConnect, std::string("socket: ") + std::strerror(errno));
    return;
  }
  int one = 1;
  // Every socket: small requests and SSE events must not wait for Nagle.
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!plan_.sources.empty()) {
    // The port is picked at connect time, per destination: without the flag, bind() would
    // take one from the ephemeral range for good and the range would run out at ~28,000.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const sockaddr_storage& source = plan_.sources[c.index % plan_.sources.size()];
    const socklen_t len = source.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (::bind(c.fd, reinterpret_cast<const sockaddr*>(&source), len) != 0) {
      const int error = errno;
      ::close(c.fd);
      c.fd = -1;
      c.state = State::kDown;
      fail(c, ErrorKind::kConnect, std::string("bind --source: ") + std::strerror(error));
      return;
    }
  }
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_connect(sqe, c.fd, reinterpret_cast<const sockaddr*>(&plan_.address),
                        plan_.address_len);
  io::Ring::set_completion(sqe, &c.connect_done);
  ++c.io.in_flight;
  c.state = State::kConnecting;
}

void VisitorThread::Impl::on_connect(void* self, const io_uring_cqe& cqe) {
  Connection& c = *static_cast<Connection*>(self);
  Impl& impl = *c.impl;
  --c.io.in_flight;
  if (c.state == State::kConnecting) {
    if (cqe.res < 0) {
      impl.fail(c, ErrorKind::kConnect, std::string("connect: ") + std::strerror(-cqe.res));
    } else {
      WOLFSSL* ssl = impl.tls_->new_session(c.target->server_name);
      if (ssl == nullptr) {
        impl.fail(c, ErrorKind::kTls, "cannot create a TLS session");
      } else {
        c.tls.attach(ssl);
        c.state = State::kHandshake;
        impl.pump(c);  // writes the ClientHello
        if (c.state == State::kHandshake) impl.arm_recv(c);
      }
    }
  }
  impl.after_handler(c);
}

void VisitorThread::Impl::arm_recv(Connection& c) {
  if (c.recv_armed || c.fd < 0) return;
  io_uring_sqe* sqe = ring_.sqe();
  // Multishot: one submission keeps delivering, into a buffer the kernel picks when bytes
  // arrive (an idle connection holds none).
  io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group_id();
  io::Ring::set_completion(sqe, &c.recv_done);
  c.recv_armed = true;
  ++c.io.in_flight;
}

void VisitorThread::Impl::on_recv(void* self, const io_uring_cqe& cqe) {
  Connection& c = *static_cast<Connection*>(self);
  Impl& impl = *c.impl;
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
    c.recv_armed = false;
    --c.io.in_flight;
  }
  const bool active =
      c.state == State::kHandshake || c.state == State::kReady || c.state == State::kBusy;
  if (cqe.res > 0) {
    if (active) {
      c.tls.feed(impl.buffers_.view(cqe));
      const std::uint64_t now = monotonic_ns();
      c.last_progress_ns = now;
      if (impl.in_window(now)) impl.report_.bytes_received += static_cast<std::uint64_t>(cqe.res);
    }
    impl.buffers_.recycle(cqe);
    if (active) impl.pump(c);
  } else if (active && cqe.res == 0) {
    impl.pump(c);  // decrypt whatever arrived with the FIN first
    if (c.state == State::kHandshake || c.state == State::kReady || c.state == State::kBusy) {
      impl.on_peer_closed(c);
    }
  } else if (active && cqe.res != -ENOBUFS && cqe.res != -ECANCELED) {
    impl.fail(c, ErrorKind::kClosed, std::string("recv: ") + std::strerror(-cqe.res));
  }
  // Out of buffers (-ENOBUFS) ends a multishot receive: arm it again.
  if (!c.recv_armed &&
      (c.state == State::kHandshake || c.state == State::kReady || c.state == State::kBusy)) {
    impl.arm_recv(c);
  }
  impl.after_handler(c);
}

void VisitorThread::Impl::flush(Connection& c) {
  if (c.send_in_flight || c.fd < 0 || c.state == State::kClosing) return;
  if (c.sent == c.sending.size()) {
    c.sending.clear();
    c.sent = 0;
    if (c.tls.pending_out().empty()) return;
    c.sending.swap(c.tls.pending_out());
  }
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_send(sqe, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent, MSG_NOSIGNAL);
  io::Ring::set_completion(sqe, &c.send_done);
  c.send_in_flight = true;
  ++c.io.in_flight;
}

void VisitorThread::Impl::on_send(void* self, const io_uring_cqe& cqe) {
  Connection& c = *static_cast<Connection*>(self);
  Impl& impl = *c.impl;
  --c.io.in_flight;
  c.send_in_flight = false;
  if (c.state != State::kClosing && c.state != State::kDown) {
    if (cqe.res < 0) {
      impl.fail(c, ErrorKind::kClosed, std::string("send: ") + std::strerror(-cqe.res));
    } else {
      c.sent += static_cast<std::size_t>(cqe.res);
      if (impl.in_window(monotonic_ns())) {
        impl.report_.bytes_sent += static_cast<std::uint64_t>(cqe.res);
      }
      if (c.body_to_write > 0 && c.sent == c.sending.size()) impl.write_body_piece(c);
      impl.flush(c);
    }
  }
  impl.after_handler(c);
}

void VisitorThread::Impl::begin_close(Connection& c) {
  if (c.state == State::kClosing || c.state == State::kDown) return;
  if (c.idle_counted) {
    c.idle_counted = false;
    owner_.live_idle.fetch_sub(1, std::memory_order_relaxed);
  }
  c.state = State::kClosing;
  if (c.fd >= 0) {
    ::shutdown(c.fd, SHUT_RDWR);
    if (c.io.in_flight > 0) {
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL);
      sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data(sqe, nullptr);
    }
  }
  if (c.io.in_flight == 0) to_finish_.push_back(&c);
}

void VisitorThread::Impl::after_handler(Connection& c) {
  if (c.state == State::kClosing && c.io.in_flight == 0) to_finish_.push_back(&c);
}

void VisitorThread::Impl::finish_close(Connection& c) {
  if (c.state != State::kClosing || c.io.in_flight != 0) return;
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  c.tls.reset();
  c.sending.clear();
  c.sent = 0;
  c.recv_armed = false;
  c.send_in_flight = false;
  c.body_to_write = 0;
  c.state = State::kDown;
  if (!ending_) after_down(c);
}

void VisitorThread::Impl::after_down(Connection& c) {
  const std::uint64_t now = monotonic_ns();
  if (c.retry_at_ns > now) return;  // the scan reconnects after the back-off
  if (ending_ || stop_.load(std::memory_order_relaxed) || c.exhausted) return;
  if (c.pending) {
    connect(c);
  } else if (plan_.handshake_per_request) {
    next_request(c);
  } else {
    // Keep-alive: re-establish the connection while it still has requests to send.
    const bool more = plan_.open_loop
                          ? plan_.schedule.due_ns(c.index, c.next_j) < plan_.measure_end_ns
                          : now < plan_.measure_end_ns;
    if (more) connect(c);
  }
}

// --- TLS and HTTP ------------------------------------------------------------------------------

void VisitorThread::Impl::pump(Connection& c) {
  if (c.state == State::kHandshake) {
    const auto progress = c.tls.handshake();
    flush(c);
    if (progress == ClientTlsStream::Progress::kFailed) {
      fail(c, ErrorKind::kTls,
           std::string("TLS handshake with ") + c.target->server_name + ": " + c.tls.last_error());
      return;
    }
    if (progress == ClientTlsStream::Progress::kWantMore) return;
    const std::uint64_t now = monotonic_ns();
    report_.handshake.record(now - c.connect_started_ns);
    if (in_window(now)) ++report_.handshakes;
    c.state = State::kReady;
    if (c.pending) {
      write_request(c);
    } else {
      next_request(c);
    }
  }
  char plaintext[16 * 1024];
  while (c.state == State::kReady || c.state == State::kBusy) {
    const long n = c.tls.read(plaintext, sizeof plaintext);
    if (n == 0) break;
    if (n < 0) {
      if (c.tls.closed_cleanly()) {
        on_peer_closed(c);
      } else {
        fail(c, ErrorKind::kTls, std::string("TLS: ") + c.tls.last_error());
      }
      break;
    }
    on_plaintext(c, std::string_view(plaintext, static_cast<std::size_t>(n)));
  }
  if (c.state == State::kReady || c.state == State::kBusy) flush(c);
}

void VisitorThread::Impl::on_plaintext(Connection& c, std::string_view bytes) {
  if (c.state != State::kBusy) {
    fail(c, ErrorKind::kProtocol, "bytes from the relay with no request outstanding");
    return;
  }
  if (c.head_done) {
    on_body(c, bytes);
    return;
  }
  c.head.append(bytes);
  // One response head at a time per thread: views into c.head, used before it changes.
  static thread_local http::ResponseHead head;
  for (;;) {
    head = http::ResponseHead{};
    const http::ParseResult parsed = http::parse_response_head(c.head, plan_.method, head);
    if (parsed.state == http::ParseState::kIncomplete) {
      if (c.head.size() > kMaxResponseHead) {
        fail(c, ErrorKind::kProtocol, "response head larger than 64 KiB");
      }
      return;
    }
    if (parsed.state == http::ParseState::kError) {
      fail(c, ErrorKind::kProtocol, "malformed response head: " + std::string(parsed.error_reason));
      return;
    }
    if (head.status >= 100 && head.status < 200 && head.status != 101) {
      c.head.erase(0, parsed.consumed);  // 100 Continue and the like: the real one follows
      continue;
    }
    c.status = head.status;
    c.framing = head.framing;
    c.body_left = head.content_length;
    c.keep_alive = head.keep_alive;
    c.chunked = http::ChunkedScanner{};
    c.sse.reset();
    const std::string_view type =
        http::find_header(head.headers.data(), head.header_count, "content-type");
    c.event_stream = type.substr(0, 17) == "text/event-stream";
    c.head_done = true;
    const std::string rest = c.head.substr(parsed.consumed);
    c.head.clear();
    if (c.framing == http::BodyFraming::kNone ||
        (c.framing == http::BodyFraming::kLength && c.body_left == 0)) {
      if (!rest.empty()) {
        fail(c, ErrorKind::kProtocol, "bytes after a response without a body");
        return;
      }
      complete_response(c);
      return;
    }
    if (!rest.empty()) on_body(c, rest);
    return;
  }
}

void VisitorThread::Impl::on_body(Connection& c, std::string_view bytes) {
  std::string_view body = bytes;
  bool body_done = false;
  switch (c.framing) {
    case http::BodyFraming::kLength: {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(c.body_left, bytes.size()));
      body = bytes.substr(0, take);
      c.body_left -= take;
      body_done = c.body_left == 0;
      break;
    }
    case http::BodyFraming::kChunked: {
      const http::ChunkedScanner::Step step = c.chunked.feed(bytes);
      if (step.error) {
        fail(c, ErrorKind::kProtocol, "malformed chunked response body");
        return;
      }
      body = bytes.substr(0, step.consumed);
      body_done = step.done;
      break;
    }
    case http::BodyFraming::kUntilClose:
    case http::BodyFraming::kNone:
      break;
  }
  if (c.event_stream) {
    const std::uint64_t now = monotonic_ns();
    const bool count = in_window(now);
    c.sse.feed(body, [&](std::uint64_t sent_ns) {
      if (!count) return;
      ++report_.sse_events;
      report_.sse_latency.record(now >= sent_ns ? now - sent_ns : 0);
    });
  }
  if (!body_done) return;
  if (body.size() < bytes.size()) {
    fail(c, ErrorKind::kProtocol, "bytes after the end of a response");
    return;
  }
  complete_response(c);
}

void VisitorThread::Impl::complete_response(Connection& c) {
  const std::uint64_t now = monotonic_ns();
  const bool counted = plan_.open_loop ? in_window(c.intended_ns) : in_window(now);
  const bool ok = c.status >= 200 && c.status < 300;
  if (counted) {
    ++report_.requests;
    if (ok) {
      ++report_.ok;
      report_.latency.record(now - c.intended_ns);
    }
    ++report_.statuses[c.status];
  }
  finish_request_in_window(c);
  if (!ok) {
    ++report_.errors.http;
    owner_.live_errors.fetch_add(1, std::memory_order_relaxed);
    if (report_.first_error.empty()) {
      report_.first_error = "HTTP " + std::to_string(c.status) + " from " + c.target->server_name;
    }
  }
  owner_.live_responses.fetch_add(1, std::memory_order_relaxed);
  c.head_done = false;
  c.pending = false;
  c.state = State::kReady;
  if (plan_.handshake_per_request || !c.keep_alive) {
    begin_close(c);  // the next request, if any, goes out on a new connection
    return;
  }
  next_request(c);
}

void VisitorThread::Impl::on_peer_closed(Connection& c) {
  if (c.state == State::kBusy && c.head_done && c.framing == http::BodyFraming::kUntilClose) {
    complete_response(c);
    begin_close(c);
    return;
  }
  if (c.state == State::kBusy) {
    fail(c, ErrorKind::kClosed, "the relay closed the connection before the response ended");
    return;
  }
  if (c.state == State::kHandshake) {
    fail(c, ErrorKind::kTls, "the relay closed the connection during the TLS handshake");
    return;
  }
  begin_close(c);  // an idle keep-alive connection: reconnect without counting an error
}

void VisitorThread::Impl::fail(Connection& c, ErrorKind kind, const std::string& detail) {
  switch (kind) {
    case ErrorKind::kConnect:
      ++report_.errors.connect;
      break;
    case ErrorKind::kTls:
      ++report_.errors.tls;
      break;
    case ErrorKind::kTimeout:
      ++report_.errors.timeout;
      break;
    case ErrorKind::kProtocol:
      ++report_.errors.protocol;
      break;
    case ErrorKind::kClosed:
      ++report_.errors.closed;
      break;
  }
  owner_.live_errors.fetch_add(1, std::memory_order_relaxed);
  if (report_.first_error.empty()) report_.first_error = detail;
  if (c.state == State::kBusy || c.pending) {
    finish_request_in_window(c);  // this request is over: it failed
    c.pending = false;
  }
  c.head_done = false;
  c.head.clear();
  // A refused connection or handshake is retried after a pause, not in a tight loop.
  if (kind == ErrorKind::kConnect || (kind == ErrorKind::kTls && c.state == State::kHandshake)) {
    c.retry_at_ns = monotonic_ns() + kConnectRetryNs;
  }
  if (c.state == State::kDown) return;
  begin_close(c);
}

// --- requests ------------------------------------------------------------------------------------

void VisitorThread::Impl::hold_idle(Connection& c) {
  if (c.state != State::kReady || c.idle_counted) return;
  c.idle_counted = true;
  owner_.live_idle.fetch_add(1, std::memory_order_relaxed);
}

void VisitorThread::Impl::next_request(Connection& c) {
  const std::uint64_t now = monotonic_ns();
  if (!sending_allowed(now)) return;
  if (plan_.idle && c.issued > 0) {
    hold_idle(c);  // also after a reconnect: it answered once, now it only holds
    return;
  }
  if (plan_.requests_per_connection > 0 && c.issued >= plan_.requests_per_connection) {
    if (!c.exhausted) {
      c.exhausted = true;
      ++exhausted_;
    }
    begin_close(c);
    return;
  }
  if (!plan_.open_loop) {
    issue(c, now);
    return;
  }
  const std::uint64_t due = plan_.schedule.due_ns(c.index, c.next_j);
  if (due >= plan_.measure_end_ns) return;  // the timetable ends with the window
  if (due <= now) {
    ++c.next_j;
    issue(c, due);  // late already: it waited on this connection, and that counts
    return;
  }
  waiting_.emplace(due, &c);
}

void VisitorThread::Impl::issue(Connection& c, std::uint64_t intended_ns) {
  ++c.issued;
  c.intended_ns = intended_ns;
  c.pending = true;
  if (c.state == State::kReady) {
    write_request(c);
  } else if (c.state == State::kDown && c.retry_at_ns == 0) {
    connect(c);
  }
  // Connecting or handshaking: written as soon as the handshake is done.
}

void VisitorThread::Impl::write_request(Connection& c) {
  c.pending = false;
  c.state = State::kBusy;
  c.head_done = false;
  c.head.clear();
  c.last_progress_ns = monotonic_ns();
  if (!c.tls.write(c.target->request)) {
    fail(c, ErrorKind::kTls, std::string("TLS write: ") + c.tls.last_error());
    return;
  }
  c.body_to_write = plan_.streamed_body;
  if (c.body_to_write > 0) write_body_piece(c);
  flush(c);
}

void VisitorThread::Impl::write_body_piece(Connection& c) {
  const std::string_view piece = body_pattern().substr(
      0, static_cast<std::size_t>(std::min<std::uint64_t>(c.body_to_write, kBodyPiece)));
  c.body_to_write -= piece.size();
  if (!c.tls.write(piece)) {
    fail(c, ErrorKind::kTls, std::string("TLS write: ") + c.tls.last_error());
  }
}

}  // namespace tg::load
