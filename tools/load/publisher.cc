#include "tools/load/publisher.h"

#include <libssh/callbacks.h>
#include <libssh/server.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>

#include "tools/load/backend.h"
#include "tools/load/clock.h"

namespace tg::load {
namespace {

// Epoll keys: a session's index, or a spliced backend socket's channel id with the top bit.
constexpr std::uint64_t kChannelTag = std::uint64_t{1} << 63;
// Caps of the bytes one channel holds in each direction (above them the SSH window or the
// socket pushes back).
constexpr std::size_t kSpliceBuffer = 256 * 1024;
constexpr std::size_t kMaxWrite = 256 * 1024;
constexpr std::size_t kScratch = 64 * 1024;

}  // namespace

struct Publisher::Session {
  Publisher* owner = nullptr;
  std::uint32_t index = 0;
  std::vector<std::string> names;
  ssh_session ssh = nullptr;
  ssh_event event = nullptr;
  int fd = -1;
  bool write_interest = false;
  bool touched = false;
  bool dead = false;
  std::vector<std::uint64_t> setup_ns;
  std::vector<std::uint64_t> forward_ns;
  std::vector<std::uint32_t> bound_ports;
  std::string error;
};

struct Publisher::Channel {
  Publisher* owner = nullptr;
  Session* session = nullptr;
  std::uint64_t id = 0;
  ssh_channel handle = nullptr;
  ssh_channel_callbacks_struct callbacks{};
  std::unique_ptr<BuiltinBackend> backend;
  std::size_t buffered = 0;  // bytes libssh holds for this channel, not read yet
  bool remote_eof = false;
  bool eof_delivered = false;
  bool remote_closed = false;
  bool dirty = false;
  bool blocked = false;  // waiting for SSH window
  std::uint64_t timer_due = 0;

  // --backend-url: the channel spliced to a TCP connection.
  int fd = -1;
  bool connecting = false;
  bool readable = false;
  bool writable = false;
  bool backend_eof = false;
  bool shut_wr = false;
  std::uint32_t interest = 0;
  std::string to_backend;
  std::string to_channel;
};

Publisher::Publisher(const Options& options) : options_(options) {}

Publisher::~Publisher() {
  stop();
}

std::vector<std::string> Publisher::names() const {
  std::vector<std::string> out;
  for (const auto& session : sessions_) {
    if (session->error.empty()) out.insert(out.end(), session->names.begin(), session->names.end());
  }
  return out;
}

// --- set-up -----------------------------------------------------------------------------------

Status Publisher::open() {
  ssh_init();
  const std::uint32_t per_session = options_.forwards_per_session;
  for (std::uint32_t i = 0; i < options_.publish; ++i) {
    if (i % per_session == 0) {
      auto session = std::make_unique<Session>();
      session->owner = this;
      session->index = static_cast<std::uint32_t>(sessions_.size());
      sessions_.push_back(std::move(session));
    }
    sessions_.back()->names.push_back(options_.name_prefix + "-" + std::to_string(i));
  }
  report_.tunnels_requested = options_.publish;
  if (options_.backend.kind == BackendSpec::Kind::kUrl) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(options_.backend.url.port);
    if (getaddrinfo(options_.backend.url.host.c_str(), port.c_str(), &hints, &found) != 0 ||
        found == nullptr) {
      return make_error("--backend-url: cannot resolve " + options_.backend.url.host);
    }
    std::memcpy(&backend_address_, found->ai_addr, found->ai_addrlen);
    backend_address_len_ = found->ai_addrlen;
    freeaddrinfo(found);
  }
  report_.sessions = static_cast<std::uint32_t>(sessions_.size());

  // Blocking libssh on a few threads: each session's set-up is a handful of round trips, and
  // threads overlap them without a state machine per step.
  std::atomic<std::size_t> next{0};
  std::mutex errors_mutex;
  std::string first_error;
  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= sessions_.size()) return;
      Status status = open_session(*sessions_[i]);
      if (!status) {
        sessions_[i]->error = status.error().message;
        std::lock_guard<std::mutex> lock(errors_mutex);
        if (first_error.empty()) first_error = status.error().message;
      }
    }
  };
  const std::size_t threads = std::min<std::size_t>(options_.setup_concurrency, sessions_.size());
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& thread : pool) thread.join();

  for (const auto& session : sessions_) {
    if (!session->error.empty()) continue;
    report_.tunnels_opened += static_cast<std::uint32_t>(session->names.size());
    for (std::uint64_t ns : session->setup_ns) report_.setup_ns.record(ns);
    for (std::uint64_t ns : session->forward_ns) report_.forward_ns.record(ns);
    report_.bound_ports.insert(report_.bound_ports.end(), session->bound_ports.begin(),
                               session->bound_ports.end());
  }
  if (!first_error.empty()) {
    report_.first_error = first_error;
    return make_error(std::to_string(report_.tunnels_requested - report_.tunnels_opened) + " of " +
                      std::to_string(report_.tunnels_requested) +
                      " tunnels could not be opened; first error: " + first_error);
  }
  return Ok{};
}

Status Publisher::open_session(Session& session) {
  ssh_key key = nullptr;
  if (ssh_pki_import_privkey_file(options_.key_path.c_str(), nullptr, nullptr, nullptr, &key) !=
      SSH_OK) {
    return make_error(options_.key_path + ": cannot read the private key");
  }
  std::unique_ptr<ssh_key_struct, void (*)(ssh_key)> key_owner(key, ssh_key_free);

  ssh_session ssh = ssh_new();
  if (ssh == nullptr) return make_error("ssh_new failed");
  session.ssh = ssh;
  int port = options_.ssh.port;
  int nodelay = 1;              // Nagle against delayed ACKs costs whole milliseconds per exchange
  bool process_config = false;  // the user's ~/.ssh/config is not part of the benchmark
  long timeout_s = 10;
  ssh_options_set(ssh, SSH_OPTIONS_HOST, options_.ssh.host.c_str());
  ssh_options_set(ssh, SSH_OPTIONS_PORT, &port);
  ssh_options_set(ssh, SSH_OPTIONS_USER, options_.user.c_str());
  ssh_options_set(ssh, SSH_OPTIONS_NODELAY, &nodelay);
  ssh_options_set(ssh, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
  ssh_options_set(ssh, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &timeout_s);

  const std::uint64_t started = monotonic_ns();
  if (ssh_connect(ssh) != SSH_OK) {
    return make_error("SSH connect to " + options_.ssh.text() + ": " + ssh_get_error(ssh));
  }
  // The relay's host key is not checked: the tool talks to the relay the benchmark started.
  if (ssh_userauth_publickey(ssh, nullptr, key) != SSH_AUTH_SUCCESS) {
    return make_error("public key authentication as \"" + options_.user + "\" refused (is " +
                      options_.key_path +
                      " in the relay's authorized_keys?): " + ssh_get_error(ssh));
  }
  const std::uint64_t authenticated = monotonic_ns();
  for (const std::string& name : session.names) {
    // tunnelgate reads the address as the name; sshd binds it (port 0: a port it picks).
    const std::string& address = options_.forward_address.empty() ? name : options_.forward_address;
    int bound_port = 0;
    const int rc = ssh_channel_listen_forward(ssh, address.c_str(),
                                              static_cast<int>(options_.forward_port), &bound_port);
    if (rc != SSH_OK) {
      return make_error("tcpip-forward " + address + ":" + std::to_string(options_.forward_port) +
                        " refused: " + ssh_get_error(ssh));
    }
    const std::uint64_t granted = monotonic_ns();
    session.setup_ns.push_back(granted - started);
    session.forward_ns.push_back(granted - authenticated);
    session.bound_ports.push_back(bound_port > 0 ? static_cast<std::uint32_t>(bound_port)
                                                 : options_.forward_port);
  }
  ssh_set_message_callback(ssh, &Publisher::on_message, &session);
  return Ok{};
}

// --- the serving thread -----------------------------------------------------------------------

void Publisher::start() {
  if (thread_.joinable() || sessions_.empty()) return;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  for (auto& session : sessions_) {
    if (!session->error.empty()) {
      session->dead = true;
      continue;
    }
    ssh_set_blocking(session->ssh, 0);
    session->event = ssh_event_new();
    ssh_event_add_session(session->event, session->ssh);
    session->fd = ssh_get_fd(session->ssh);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = session->index;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, session->fd, &ev);
  }
  stop_.store(false);
  thread_ = std::thread([this] { serve(); });
}

void Publisher::stop() {
  if (thread_.joinable()) {
    stop_.store(true);
    thread_.join();
    // Bytes libssh still held for the relay when serving stopped: a stalled flush.
    for (auto& session : sessions_) {
      if (session->ssh != nullptr && !session->dead && session->error.empty() &&
          (ssh_get_poll_flags(session->ssh) & SSH_WRITE_PENDING) != 0) {
        ++report_.unflushed_sessions;
      }
    }
  }
  // Freeing a channel sends its CLOSE and flushes, and the flush processes what the relay sent
  // meanwhile: a new visitor's CHANNEL_OPEN would reach on_message and insert into channels_
  // while it is walked. Refuse new channels first (libssh answers them itself), and walk a
  // list of our own.
  const auto refuse = [](ssh_session, ssh_message, void*) { return 1; };  // default reply
  for (auto& session : sessions_) {
    if (session->ssh != nullptr) ssh_set_message_callback(session->ssh, refuse, nullptr);
  }
  const auto channels = std::move(channels_);
  channels_.clear();
  for (const auto& [id, channel] : channels) {
    if (channel->handle != nullptr) {
      ssh_remove_channel_callbacks(channel->handle, &channel->callbacks);
      ssh_channel_free(channel->handle);
    }
    if (channel->fd >= 0) ::close(channel->fd);
  }
  for (auto& session : sessions_) {
    if (session->event != nullptr) {
      ssh_event_remove_session(session->event, session->ssh);
      ssh_event_free(session->event);
      session->event = nullptr;
    }
    if (session->ssh != nullptr) {
      if (!session->dead && session->error.empty()) ssh_disconnect(session->ssh);
      ssh_free(session->ssh);
      session->ssh = nullptr;
    }
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  epoll_fd_ = -1;
}

void Publisher::serve() {
  pthread_setname_np(pthread_self(), "tg-load-publish");
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  std::vector<Session*> touched;
  std::vector<std::uint64_t> work;
  auto touch = [&](Session& session) {
    if (!session.touched) {
      session.touched = true;
      touched.push_back(&session);
    }
  };
  while (!stop_.load(std::memory_order_relaxed)) {
    std::uint64_t now = monotonic_ns();
    int timeout_ms = 100;
    if (!dirty_.empty()) {
      timeout_ms = 0;
    } else if (!timers_.empty()) {
      const std::uint64_t due = timers_.front().first;
      timeout_ms =
          due <= now
              ? 0
              : static_cast<int>(std::min<std::uint64_t>(100, (due - now + 999'999) / 1'000'000));
    }
    const int ready = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    for (int i = 0; i < ready; ++i) {
      const std::uint64_t key = events[i].data.u64;
      if ((key & kChannelTag) != 0) {
        auto it = channels_.find(key & ~kChannelTag);
        if (it == channels_.end()) continue;
        Channel& channel = *it->second;
        if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) channel.readable = true;
        if ((events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) channel.writable = true;
        mark_dirty(channel);
        continue;
      }
      Session& session = *sessions_[key];
      if (session.dead) continue;
      // libssh reads what arrived and runs the callbacks, which only record and queue.
      ssh_event_dopoll(session.event, 0);
      touch(session);
    }
    now = monotonic_ns();
    while (!timers_.empty() && timers_.front().first <= now) {
      const auto [due, id] = timers_.front();
      std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
      timers_.pop_back();
      auto it = channels_.find(id);
      if (it != channels_.end() && it->second->timer_due == due) {
        it->second->timer_due = 0;
        mark_dirty(*it->second);
      }
    }
    // Channels waiting for window: libssh has processed any WINDOW_ADJUST by now.
    if (!blocked_.empty()) {
      work.swap(blocked_);
      for (std::uint64_t id : work) {
        auto it = channels_.find(id);
        if (it == channels_.end()) continue;
        it->second->blocked = false;
        mark_dirty(*it->second);
      }
      work.clear();
    }
    // Serving writes, writes flush, flushes read, reads queue more: a few rounds, then poll.
    for (int round = 0; round < 8 && !dirty_.empty(); ++round) {
      work.swap(dirty_);
      for (std::uint64_t id : work) {
        auto it = channels_.find(id);
        if (it == channels_.end()) continue;
        touch(*it->second->session);
        serve_channel(id, now);
      }
      work.clear();
    }
    for (Session* session : touched) {
      session->touched = false;
      if (session->dead) continue;
      if ((ssh_get_status(session->ssh) & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0) {
        session_lost(*session);
        continue;
      }
      update_session_interest(*session);
    }
    touched.clear();
  }
}

void Publisher::update_session_interest(Session& session) {
  const bool want_write = (ssh_get_poll_flags(session.ssh) & SSH_WRITE_PENDING) != 0;
  if (want_write == session.write_interest) return;
  session.write_interest = want_write;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  ev.data.u64 = session.index;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, session.fd, &ev);
}

void Publisher::session_lost(Session& session) {
  session.dead = true;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, session.fd, nullptr);
  ++report_.sessions_lost;
  if (report_.first_error.empty()) {
    const char* why = ssh_get_error(session.ssh);
    report_.first_error = "the relay ended the SSH session of " + session.names.front() +
                          (why != nullptr && *why != '\0' ? std::string(": ") + why : "");
  }
  std::vector<std::uint64_t> ids;
  for (const auto& [id, channel] : channels_) {
    if (channel->session == &session) ids.push_back(id);
  }
  for (std::uint64_t id : ids) release_channel(*channels_.at(id));
}

// --- libssh callbacks: record and queue, nothing else -----------------------------------------

int Publisher::on_message(ssh_session, ssh_message message, void* session_ptr) {
  auto& session = *static_cast<Session*>(session_ptr);
  if (ssh_message_type(message) == SSH_REQUEST_CHANNEL_OPEN &&
      ssh_message_subtype(message) == SSH_CHANNEL_FORWARDED_TCPIP) {
    return session.owner->accept_channel(session, message) ? 0 : 1;
  }
  return 1;  // libssh sends the default refusal
}

bool Publisher::accept_channel(Session& session, ssh_message message) {
  ssh_channel handle = ssh_message_channel_request_open_reply_accept(message);
  if (handle == nullptr) return false;
  auto channel = std::make_unique<Channel>();
  channel->owner = this;
  channel->session = &session;
  channel->id = next_channel_id_++;
  channel->handle = handle;
  channel->callbacks.userdata = channel.get();
  channel->callbacks.channel_data_function = &Publisher::on_channel_data;
  channel->callbacks.channel_eof_function = &Publisher::on_channel_eof;
  channel->callbacks.channel_close_function = &Publisher::on_channel_close;
  ssh_callbacks_init(&channel->callbacks);
  ssh_set_channel_callbacks(handle, &channel->callbacks);
  if (options_.backend.kind != BackendSpec::Kind::kUrl) {
    channel->backend = std::make_unique<BuiltinBackend>(options_.backend, channel->id);
  }
  ++report_.channels;
  Channel& ref = *channel;
  channels_.emplace(ref.id, std::move(channel));
  mark_dirty(ref);
  return true;
}

int Publisher::on_channel_data(ssh_session, ssh_channel, void*, uint32_t len, int is_stderr,
                               void* channel_ptr) {
  auto& channel = *static_cast<Channel*>(channel_ptr);
  if (is_stderr) return static_cast<int>(len);
  // libssh passes everything it holds each time; it keeps the bytes until the loop reads
  // them, outside any libssh call.
  channel.buffered = len;
  channel.owner->mark_dirty(channel);
  return 0;
}

void Publisher::on_channel_eof(ssh_session, ssh_channel, void* channel_ptr) {
  auto& channel = *static_cast<Channel*>(channel_ptr);
  channel.remote_eof = true;
  channel.owner->mark_dirty(channel);
}

void Publisher::on_channel_close(ssh_session, ssh_channel, void* channel_ptr) {
  auto& channel = *static_cast<Channel*>(channel_ptr);
  channel.remote_closed = true;
  channel.owner->mark_dirty(channel);
}

void Publisher::wait_for_window(Channel& channel) {
  if (channel.blocked) return;
  channel.blocked = true;
  blocked_.push_back(channel.id);
}

void Publisher::mark_dirty(Channel& channel) {
  if (channel.dirty) return;
  channel.dirty = true;
  dirty_.push_back(channel.id);
}

// --- serving channels ---------------------------------------------------------------------------

void Publisher::serve_channel(std::uint64_t id, std::uint64_t now_ns) {
  auto it = channels_.find(id);
  if (it == channels_.end()) return;
  Channel& channel = *it->second;
  channel.dirty = false;
  if (channel.remote_closed || channel.session->dead) {
    release_channel(channel);
    return;
  }
  if (channel.backend != nullptr) {
    serve_builtin(channel, now_ns);
  } else {
    serve_splice(channel);
  }
}

void Publisher::serve_builtin(Channel& channel, std::uint64_t now_ns) {
  static thread_local char scratch[kScratch];
  BuiltinBackend& backend = *channel.backend;
  for (int round = 0; round < 16; ++round) {
    bool progress = false;
    const std::uint64_t requests_before = backend.requests();
    while (channel.buffered > 0 && backend.input_room() > 0) {
      const std::size_t want = std::min({backend.input_room(), channel.buffered, kScratch});
      // Bytes are buffered, so libssh copies them out without touching the socket.
      const int n =
          ssh_channel_read_nonblocking(channel.handle, scratch, static_cast<uint32_t>(want), 0);
      if (n <= 0) {
        channel.buffered = 0;
        if (n == SSH_ERROR) {
          release_channel(channel);
          return;
        }
        break;
      }
      channel.buffered -= static_cast<std::size_t>(n);
      backend.on_input(std::string_view(scratch, static_cast<std::size_t>(n)));
      progress = true;
    }
    if (channel.remote_eof && channel.buffered == 0 && !channel.eof_delivered) {
      channel.eof_delivered = true;
      backend.on_input_eof();
      progress = true;
    }
    if (const std::uint64_t served = backend.requests() - requests_before; served > 0) {
      report_.requests += served;
      requests_live_.fetch_add(served, std::memory_order_relaxed);
    }
    for (;;) {
      const std::string_view out = backend.next_output(now_ns);
      if (out.empty()) break;
      const std::uint32_t window = ssh_channel_window_size(channel.handle);
      if (window == 0) {
        wait_for_window(channel);
        break;
      }
      const std::size_t size = std::min({out.size(), static_cast<std::size_t>(window), kMaxWrite});
      const int written =
          ssh_channel_write(channel.handle, out.data(), static_cast<uint32_t>(size));
      if (written == SSH_ERROR) {
        release_channel(channel);
        return;
      }
      backend.output_sent(static_cast<std::size_t>(written));
      progress = progress || written > 0;
      if (static_cast<std::size_t>(written) < size) {
        // A short write: the window shrank inside the call, or a key re-exchange holds the
        // session (libssh writes nothing until it ends; OpenSSH's sshd starts one after
        // about 1 GiB). Nothing else would wake this channel: retry it every round.
        wait_for_window(channel);
        break;
      }
    }
    if (backend.finished()) {
      report_.bad_requests += backend.bad_requests();
      release_channel(channel);
      return;
    }
    if (!progress) break;
  }
  const std::uint64_t due = backend.next_timer_ns();
  if (due != 0 && due != channel.timer_due) {
    channel.timer_due = due;
    timers_.emplace_back(due, channel.id);
    std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
  }
}

void Publisher::release_channel(Channel& channel) {
  const std::uint64_t id = channel.id;
  if (channel.backend != nullptr && !channel.backend->finished()) {
    report_.bad_requests += channel.backend->bad_requests();
  }
  if (channel.fd >= 0) {
    ::close(channel.fd);  // also leaves the epoll set
    channel.fd = -1;
  }
  if (channel.handle != nullptr) {
    ssh_remove_channel_callbacks(channel.handle, &channel.callbacks);
    // Sends EOF and CLOSE unless the relay closed first; the flush inside may run other
    // channels' callbacks, which only queue. Freed for good once both sides closed.
    if (!channel.remote_closed && !channel.session->dead) ssh_channel_close(channel.handle);
    ssh_channel_free(channel.handle);
    channel.handle = nullptr;
  }
  channels_.erase(id);
}

// --- splicing to an external service (--backend-url) -------------------------------------------

bool Publisher::start_splice(Channel& channel) {
  if (backend_address_len_ == 0) return false;
  const auto* address = reinterpret_cast<const sockaddr*>(&backend_address_);
  const socklen_t address_len = backend_address_len_;
  channel.fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (channel.fd < 0) return false;
  int one = 1;
  setsockopt(channel.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(channel.fd, address, address_len) != 0 && errno != EINPROGRESS) {
    return false;
  }
  channel.connecting = true;
  channel.interest = EPOLLOUT;
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = kChannelTag | channel.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, channel.fd, &ev);
  return true;
}

void Publisher::update_splice_interest(Channel& channel) {
  std::uint32_t want = 0;
  if (channel.connecting || !channel.to_backend.empty()) want |= EPOLLOUT;
  if (!channel.connecting && !channel.backend_eof && channel.to_channel.size() < kSpliceBuffer) {
    want |= EPOLLIN;
  }
  if (want == channel.interest) return;
  channel.interest = want;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = kChannelTag | channel.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, channel.fd, &ev);
}

void Publisher::serve_splice(Channel& channel) {
  static thread_local char scratch[kScratch];
  if (channel.fd < 0) {
    if (!start_splice(channel)) {
      ++report_.backend_connect_failures;
      release_channel(channel);
      return;
    }
  }
  if (channel.connecting) {
    if (!channel.writable) return;
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(channel.fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      ++report_.backend_connect_failures;
      if (report_.first_error.empty()) {
        report_.first_error =
            "--backend-url " + options_.backend.url.text() + ": " + std::strerror(error);
      }
      release_channel(channel);
      return;
    }
    channel.connecting = false;
    channel.readable = true;  // try once; EAGAIN clears it
  }
  for (int round = 0; round < 16; ++round) {
    bool progress = false;
    // Visitor → service.
    while (channel.buffered > 0 && channel.to_backend.size() < kSpliceBuffer) {
      const std::size_t want =
          std::min({kSpliceBuffer - channel.to_backend.size(), channel.buffered, kScratch});
      const int n =
          ssh_channel_read_nonblocking(channel.handle, scratch, static_cast<uint32_t>(want), 0);
      if (n <= 0) {
        channel.buffered = 0;
        break;
      }
      channel.buffered -= static_cast<std::size_t>(n);
      channel.to_backend.append(scratch, static_cast<std::size_t>(n));
      progress = true;
    }
    if (!channel.to_backend.empty()) {
      const ssize_t n =
          ::send(channel.fd, channel.to_backend.data(), channel.to_backend.size(), MSG_NOSIGNAL);
      if (n > 0) {
        channel.to_backend.erase(0, static_cast<std::size_t>(n));
        progress = true;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        release_channel(channel);
        return;
      }
    }
    if (channel.remote_eof && channel.buffered == 0 && channel.to_backend.empty() &&
        !channel.shut_wr) {
      ::shutdown(channel.fd, SHUT_WR);
      channel.shut_wr = true;
    }
    // Service → visitor.
    if (channel.readable && !channel.backend_eof && channel.to_channel.size() < kSpliceBuffer) {
      const std::size_t want = std::min(kScratch, kSpliceBuffer - channel.to_channel.size());
      const ssize_t n = ::recv(channel.fd, scratch, want, 0);
      if (n > 0) {
        channel.to_channel.append(scratch, static_cast<std::size_t>(n));
        progress = true;
      } else if (n == 0) {
        channel.backend_eof = true;
        progress = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        channel.readable = false;
      } else {
        channel.backend_eof = true;
      }
    }
    while (!channel.to_channel.empty()) {
      const std::uint32_t window = ssh_channel_window_size(channel.handle);
      if (window == 0) {
        wait_for_window(channel);
        break;
      }
      const std::size_t size =
          std::min({channel.to_channel.size(), static_cast<std::size_t>(window), kMaxWrite});
      const int written =
          ssh_channel_write(channel.handle, channel.to_channel.data(), static_cast<uint32_t>(size));
      if (written == SSH_ERROR) {
        release_channel(channel);
        return;
      }
      channel.to_channel.erase(0, static_cast<std::size_t>(written));
      progress = progress || written > 0;
      if (static_cast<std::size_t>(written) < size) {
        // A short write: the window shrank inside the call, or a key re-exchange holds the
        // session (libssh writes nothing until it ends; OpenSSH's sshd starts one after
        // about 1 GiB). Nothing else would wake this channel: retry it every round.
        wait_for_window(channel);
        break;
      }
    }
    if (channel.backend_eof && channel.to_channel.empty()) {
      release_channel(channel);
      return;
    }
    if (!progress) break;
  }
  update_splice_interest(channel);
}

}  // namespace tg::load
