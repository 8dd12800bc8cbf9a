#include <algorithm>
#include <cstring>

#include "ssh/ssh.h"

namespace tg::ssh {

PublisherSession::PublisherSession(std::shared_ptr<Server> server, SessionEvents& events,
                                   std::uint64_t id, int fd, std::string peer)
    : server_(std::move(server)), events_(events), id_(id), fd_(fd), peer_(std::move(peer)) {}

PublisherSession::~PublisherSession() {
  for (Channel& channel : channels_) {
    if (channel.handle != nullptr) {
      ssh_remove_channel_callbacks(channel.handle, &channel.callbacks);
      ssh_channel_free(channel.handle);
    }
  }
  if (session_channel_ != nullptr) ssh_channel_free(session_channel_);
  if (event_ != nullptr) {
    if (kex_done_) ssh_event_remove_session(event_, session_);
    ssh_event_free(event_);
  }
  // ssh_free closes the socket the session was given.
  if (session_ != nullptr) ssh_free(session_);
}

bool PublisherSession::start() {
  session_ = ssh_new();
  event_ = ssh_event_new();
  if (session_ == nullptr || event_ == nullptr) return false;
  if (ssh_bind_accept_fd(server_->bind(), session_, fd_) != SSH_OK) {
    dead_ = true;
    return false;
  }
  ssh_set_blocking(session_, 0);
  ssh_set_counters(session_, &socket_counter_, nullptr);

  server_callbacks_.userdata = this;
  server_callbacks_.auth_pubkey_function = &PublisherSession::auth_pubkey;
  server_callbacks_.channel_open_request_session_function = &PublisherSession::open_session_channel;
  ssh_callbacks_init(&server_callbacks_);
  ssh_set_server_callbacks(session_, &server_callbacks_);

  session_callbacks_.userdata = this;
  session_callbacks_.global_request_function = &PublisherSession::global_request;
  ssh_callbacks_init(&session_callbacks_);
  ssh_set_callbacks(session_, &session_callbacks_);
  on_ready();
  return !dead_;
}

void PublisherSession::on_ready() {
  if (dead_) return;
  ++in_libssh_;
  if (!kex_done_) {
    const int rc = ssh_handle_key_exchange(session_);
    if (rc == SSH_AGAIN) {
      --in_libssh_;
      refresh_output_state();
      return;
    }
    if (rc != SSH_OK) {
      --in_libssh_;
      dead_ = true;
      return;
    }
    kex_done_ = true;
    // Public keys only: passwords and keyboard-interactive are never offered.
    ssh_set_auth_methods(session_, SSH_AUTH_METHOD_PUBLICKEY);
    ssh_event_add_session(event_, session_);
  }
  // Entered from the top of the loop: callbacks may hand data straight to the sinks (which
  // queue any libssh work of their own, since libssh is on the stack).
  direct_delivery_ = true;
  // libssh reads at most 4 KiB (its MAX_BUF_SIZE) per poll round, so a session that streams
  // would cost a ring round trip per 4 KiB. A full read says more is probably waiting: poll
  // again at once, up to a bound that keeps one busy session from starving the loop.
  for (int round = 0; round < kPollRoundsPerWakeup; ++round) {
    const std::uint64_t read_before = socket_counter_.in_bytes;
    if (ssh_event_dopoll(event_, 0) == SSH_ERROR) {
      dead_ = true;
      break;
    }
    if (dead_ || socket_counter_.in_bytes - read_before < kLibsshReadSize) break;
  }
  direct_delivery_ = false;
  --in_libssh_;
  refresh_output_state();
  run_deferred();
}

void PublisherSession::request_deferred() {
  if (deferred_requested_) return;
  deferred_requested_ = true;
  events_.on_deferred_work(*this);
}

void PublisherSession::run_deferred() {
  if (in_libssh_ > 0 || walking_ > 0) {
    request_deferred();
    return;
  }
  deferred_requested_ = false;
  if (!dead_ && (ssh_get_status(session_) & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0) dead_ = true;
  // Sinks told about their channels below may release them: keep the list intact while it
  // is walked, and free what was released afterwards.
  ++walking_;
  notify_channels();
  --walking_;
  if (!dead_ && options_changed_) {
    options_changed_ = false;
    events_.on_options(*this);
  }
  if (!dead_ && session_channel_ready_ && !told_.empty()) flush_told();
  free_released_channels();
  if (!dead_) check_output();
}

void PublisherSession::send_open(Channel& channel) {
  ++in_libssh_;
  const int rc = ssh_channel_open_reverse_forward(
      channel.handle, channel.forward_address.c_str(), static_cast<int>(channel.forward_port),
      channel.originator_ip.c_str(), channel.originator_port);
  --in_libssh_;
  channel.open_sent = true;
  if (rc == SSH_AGAIN) return;
  channel.opening = false;
  if (channel.released) return;  // the visitor left meanwhile: freed afterwards
  if (rc == SSH_OK) {
    channel.sink->on_channel_open();
  } else {
    channel.closed = true;
    channel.close_delivered = true;
    channel.sink->on_channel_open_failed("the publisher refused the connection");
  }
}

void PublisherSession::notify_channels() {
  if (dead_) {
    for (Channel& channel : channels_) {
      if (channel.released || channel.sink == nullptr) continue;
      if (channel.opening) {
        channel.opening = false;
        channel.close_delivered = true;
        channel.sink->on_channel_open_failed("the publisher disconnected");
      } else if (!channel.close_delivered) {
        channel.close_delivered = true;
        channel.sink->on_channel_closed();
      }
    }
    return;
  }
  for (Channel& channel : channels_) {
    if (channel.released && !channel.opening) continue;
    if (channel.opening && channel.released && !channel.open_sent) {
      channel.opening = false;  // never sent: nothing to wait for, freed below
      continue;
    }
    if (channel.opening) {
      send_open(channel);  // first send, or ask libssh whether the answer has come
      continue;
    }
    if (channel.dirty) {
      channel.dirty = false;
      if (channel.buffered > 0) {
        pull(&channel);
      } else {
        deliver_pending(channel);
      }
      if (channel.released) continue;
    }
    if (channel.eof_pending) {
      channel.eof_pending = false;
      send_eof(&channel);
    }
    const bool window_back =
        channel.wants_window && !channel.closed && ssh_channel_window_size(channel.handle) > 0;
    if (channel.want_flush || window_back) {
      channel.want_flush = false;
      channel.wants_window = false;
      channel.sink->on_channel_writable();
    }
  }
}

void PublisherSession::check_output() {
  if (session_ != nullptr && !dead_) events_.on_output_pending(*this);
}

void PublisherSession::flush_output() {
  if (dead_ || in_libssh_ > 0 || walking_ > 0) return;
  refresh_output_state();
  // Packets that arrived during the flush were only recorded: deliver them this round.
  if (deferred_requested_) run_deferred();
}

void PublisherSession::refresh_output_state() {
  if (session_ == nullptr || dead_) {
    output_blocked_ = false;
    return;
  }
  if (!kex_done_) {
    // The key exchange drives its own polls; its output waits for the socket's POLLOUT.
    output_blocked_ = (ssh_get_poll_flags(session_) & SSH_WRITE_PENDING) != 0;
    return;
  }
  // With nothing buffered this returns at once, without a system call; otherwise it polls the
  // socket once (no wait) and sends, and says whether bytes are still held.
  ++in_libssh_;
  const int rc = ssh_blocking_flush(session_, 0);
  --in_libssh_;
  if (rc == SSH_ERROR) dead_ = true;
  output_blocked_ = rc == SSH_AGAIN;
}

// --- authentication -------------------------------------------------------------------------

int PublisherSession::auth_pubkey(ssh_session, const char* user, ssh_key key, char state,
                                  void* self_ptr) {
  auto* self = static_cast<PublisherSession*>(self_ptr);
  if (self->auth_refusals_ >= kMaxAuthAttempts) return SSH_AUTH_DENIED;
  if (!self->server_->authorized().contains(key)) {
    ++self->auth_refusals_;
    self->events_.on_auth_refused(*self);
    return SSH_AUTH_DENIED;
  }
  if (state == SSH_PUBLICKEY_STATE_NONE) return SSH_AUTH_SUCCESS;  // "this key would do"
  if (state != SSH_PUBLICKEY_STATE_VALID) return SSH_AUTH_DENIED;
  self->authenticated_ = true;
  self->user_ = user != nullptr ? user : "";
  self->key_fingerprint_ = fingerprint(key);
  self->events_.on_authenticated(*self);
  return SSH_AUTH_SUCCESS;
}

// --- the session channel: where URLs and refusals are printed -------------------------------

ssh_channel PublisherSession::open_session_channel(ssh_session session, void* self_ptr) {
  auto* self = static_cast<PublisherSession*>(self_ptr);
  if (!self->authenticated_ || self->session_channel_ != nullptr) return nullptr;
  self->session_channel_ = ssh_channel_new(session);
  if (self->session_channel_ == nullptr) return nullptr;
  auto& cb = self->session_channel_callbacks_;
  cb.userdata = self;
  cb.channel_shell_request_function = &PublisherSession::shell_request;
  cb.channel_exec_request_function = &PublisherSession::exec_request;
  cb.channel_pty_request_function = &PublisherSession::pty_request;
  cb.channel_env_request_function = &PublisherSession::env_request;
  cb.channel_data_function = &PublisherSession::session_data;
  cb.channel_close_function = &PublisherSession::session_channel_closed;
  ssh_callbacks_init(&cb);
  ssh_set_channel_callbacks(self->session_channel_, &cb);
  return self->session_channel_;
}

int PublisherSession::shell_request(ssh_session, ssh_channel, void* self_ptr) {
  static_cast<PublisherSession*>(self_ptr)->session_channel_ready_ = true;
  return 0;
}

int PublisherSession::exec_request(ssh_session, ssh_channel, const char* command, void* self_ptr) {
  auto* self = static_cast<PublisherSession*>(self_ptr);
  // `ssh … relay key=value …`: options for the relay (kept for the policy layer).
  self->command_ = command != nullptr ? std::string(command).substr(0, 1024) : "";
  self->session_channel_ready_ = true;
  self->apply_options(self->command_);
  return 0;
}

namespace {

bool valid_host_value(std::string_view value) {
  if (value.empty() || value.size() > 255) return false;
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void PublisherSession::apply_options(std::string_view command) {
  std::size_t start = 0;
  while (start < command.size()) {
    const auto end = std::min(command.find(' ', start), command.size());
    const std::string_view word = command.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    const auto eq = word.find('=');
    const std::string_view key = word.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : word.substr(eq + 1);
    if (key == "host" && valid_host_value(value)) {
      host_override_.assign(value);
      tell("tunnelgate: your service will see Host: " + host_override_ + "\n");
    } else if (key == "class" && (value == "human" || value == "workload" || value == "agent")) {
      requested_class_.assign(value);
      options_changed_ = true;
      request_deferred();
    } else if (key == "class") {
      tell("tunnelgate: ignored class=: use class=human, class=workload or class=agent\n");
    } else if (key == "host") {
      tell("tunnelgate: ignored host=: use host=NAME[:PORT] (letters, digits, . - : only)\n");
    } else {
      std::string shown(word.substr(0, 40));
      for (char& c : shown) {
        if (c < 0x20 || c > 0x7e) c = '?';
      }
      tell("tunnelgate: ignored unknown option \"" + shown +
           "\" (known: host=NAME[:PORT], class=human|workload|agent)\n");
    }
  }
}

int PublisherSession::pty_request(ssh_session, ssh_channel, const char*, int, int, int, int,
                                  void*) {
  return 0;
}

int PublisherSession::env_request(ssh_session, ssh_channel, const char*, const char*, void*) {
  return 0;
}

int PublisherSession::session_data(ssh_session, ssh_channel, void*, uint32_t len, int, void*) {
  return static_cast<int>(len);  // keystrokes on the session are ignored
}

void PublisherSession::session_channel_closed(ssh_session, ssh_channel, void* self_ptr) {
  static_cast<PublisherSession*>(self_ptr)->session_channel_ready_ = false;
}

void PublisherSession::tell(std::string_view text) {
  told_.append(text);
  if (told_.size() > 64 * 1024) told_.erase(0, told_.size() - 64 * 1024);
  if (session_channel_ready_ && in_libssh_ == 0 && walking_ == 0) {
    flush_told();
  } else if (session_channel_ready_) {
    request_deferred();
  }
}

void PublisherSession::flush_told() {
  if (session_channel_ == nullptr || told_.empty()) return;
  // Terminals in raw mode (ssh with a pty) need CR before LF to start lines at column 0.
  std::string text;
  text.reserve(told_.size() + 8);
  for (char c : told_) {
    if (c == '\n') text.push_back('\r');
    text.push_back(c);
  }
  told_.clear();
  ++in_libssh_;
  ssh_channel_write(session_channel_, text.data(), static_cast<uint32_t>(text.size()));
  --in_libssh_;
  check_output();
}

void PublisherSession::disconnect(std::string_view why) {
  if (dead_) return;
  if (!why.empty()) {
    told_.append(why);
    if (session_channel_ready_ && in_libssh_ == 0) flush_told();
  }
  ++in_libssh_;
  ssh_disconnect(session_);
  --in_libssh_;
  // ssh_disconnect frees every channel of the session: forget the handles.
  session_channel_ = nullptr;
  session_channel_ready_ = false;
  for (Channel& channel : channels_) channel.handle = nullptr;
  dead_ = true;
  run_deferred();  // the session's visitors hear that their channels are gone
}

// --- forwards --------------------------------------------------------------------------------

void PublisherSession::global_request(ssh_session, ssh_message message, void* self_ptr) {
  auto* self = static_cast<PublisherSession*>(self_ptr);
  const int subtype = ssh_message_subtype(message);
  if (!self->authenticated_) {
    ssh_message_reply_default(message);
    return;
  }
  switch (subtype) {
    case SSH_GLOBAL_REQUEST_TCPIP_FORWARD:
      self->handle_forward(message);
      break;
    case SSH_GLOBAL_REQUEST_CANCEL_TCPIP_FORWARD:
      self->handle_cancel(message);
      break;
    case SSH_GLOBAL_REQUEST_KEEPALIVE:
      ssh_message_global_request_reply_success(message, 0);
      break;
    default:
      ssh_message_reply_default(message);
  }
}

void PublisherSession::handle_forward(ssh_message message) {
  const char* address = ssh_message_global_request_address(message);
  const int port = ssh_message_global_request_port(message);
  Forward forward;
  forward.bind_address = address != nullptr ? address : "";
  forward.bind_port = static_cast<std::uint32_t>(port);
  // `-R 0:…` asks the server to pick a port; the client then knows the forward by it.
  forward.bound_port = port != 0 ? static_cast<std::uint32_t>(port) : next_virtual_port_;
  ForwardDecision decision = events_.on_forward_request(*this, forward);
  if (!decision.granted) {
    ssh_message_reply_default(message);
    tell(decision.message);
    return;
  }
  if (port == 0) ++next_virtual_port_;
  forward.name = decision.name;
  forwards_.push_back(forward);
  ssh_message_global_request_reply_success(message, static_cast<std::uint16_t>(forward.bound_port));
  tell(decision.message);
}

void PublisherSession::handle_cancel(ssh_message message) {
  const char* address = ssh_message_global_request_address(message);
  const int port = ssh_message_global_request_port(message);
  const std::string bind_address = address != nullptr ? address : "";
  auto it = std::find_if(forwards_.begin(), forwards_.end(), [&](const Forward& f) {
    return f.bind_address == bind_address && f.bound_port == static_cast<std::uint32_t>(port);
  });
  if (it == forwards_.end()) {
    ssh_message_reply_default(message);
    return;
  }
  const Forward cancelled = *it;
  forwards_.erase(it);
  ssh_message_global_request_reply_success(message, 0);
  events_.on_forward_cancelled(*this, cancelled);
}

// --- visitor channels ------------------------------------------------------------------------

Channel* PublisherSession::open_channel(const Forward& forward, std::string originator_ip,
                                        std::uint16_t originator_port, ChannelSink* sink) {
  if (dead_) return nullptr;
  ssh_channel handle = ssh_channel_new(session_);
  if (handle == nullptr) return nullptr;
  Channel& channel = channels_.emplace_back();
  channel.handle = handle;
  channel.sink = sink;
  channel.session = this;
  channel.originator_ip = std::move(originator_ip);
  channel.originator_port = originator_port;
  channel.forward_address = forward.bind_address;
  channel.forward_port = forward.bound_port;
  channel.callbacks.userdata = &channel;
  channel.callbacks.channel_data_function = &PublisherSession::channel_data;
  channel.callbacks.channel_eof_function = &PublisherSession::channel_eof;
  channel.callbacks.channel_close_function = &PublisherSession::channel_close;
  ssh_callbacks_init(&channel.callbacks);
  ssh_set_channel_callbacks(handle, &channel.callbacks);

  if (in_libssh_ > 0 || walking_ > 0) {
    request_deferred();  // sent from run_deferred, outside libssh
    return &channel;
  }
  ++in_libssh_;
  const int rc = ssh_channel_open_reverse_forward(handle, channel.forward_address.c_str(),
                                                  static_cast<int>(channel.forward_port),
                                                  channel.originator_ip.c_str(), originator_port);
  --in_libssh_;
  channel.open_sent = true;
  if (rc == SSH_ERROR) {
    channel.opening = false;
    channel.closed = true;
    channel.released = true;
    free_released_channels();
    return nullptr;
  }
  // The confirmation arrives later: run_deferred (after the next poll) asks libssh again
  // and tells the sink. Even an immediate SSH_OK is reported from there, never from here.
  check_output();
  return &channel;
}

static std::size_t room_of(Channel& channel) {
  return channel.sink != nullptr && !channel.released ? channel.sink->channel_room() : 0;
}

int PublisherSession::channel_data(ssh_session, ssh_channel, void* data, uint32_t len,
                                   int is_stderr, void* channel_ptr) {
  auto& channel = *static_cast<Channel*>(channel_ptr);
  if (is_stderr) return static_cast<int>(len);
  if (channel.released || channel.sink == nullptr) return static_cast<int>(len);  // discard
  PublisherSession& self = *channel.session;
  std::size_t take = 0;
  if (self.direct_delivery_) {
    take = std::min<std::size_t>(len, room_of(channel));
    if (take > 0) channel.sink->on_channel_data(static_cast<const char*>(data), take);
  } else {
    channel.dirty = true;  // inside another call: leave it in libssh's buffer for now
    self.request_deferred();
  }
  // libssh passes its whole buffer each time, so what it still holds is exactly the rest.
  channel.buffered = len - take;
  return static_cast<int>(take);
}

void PublisherSession::channel_eof(ssh_session, ssh_channel, void* channel_ptr) {
  auto& channel = *static_cast<Channel*>(channel_ptr);
  channel.eof_received = true;
  if (channel.session->direct_delivery_) {
    channel.session->deliver_pending(channel);
  } else {
    channel.dirty = true;
    channel.session->request_deferred();
  }
}

void PublisherSession::channel_close(ssh_session, ssh_channel, void* channel_ptr) {
  auto& channel = *static_cast<Channel*>(channel_ptr);
  channel.closed = true;
  if (channel.session->direct_delivery_) {
    channel.session->deliver_pending(channel);
  } else {
    channel.dirty = true;
    channel.session->request_deferred();
  }
}

void PublisherSession::deliver_pending(Channel& channel) {
  if (channel.released || channel.sink == nullptr || channel.buffered > 0) return;
  if (channel.eof_received && !channel.eof_delivered) {
    channel.eof_delivered = true;
    channel.sink->on_channel_eof();
  }
  if (channel.closed && !channel.close_delivered && !channel.released && channel.sink) {
    channel.close_delivered = true;
    channel.sink->on_channel_closed();
  }
}

void PublisherSession::pull(Channel* channel) {
  if (dead_ || channel->handle == nullptr || channel->released) return;
  if (in_libssh_ > 0) {
    channel->dirty = true;
    request_deferred();
    return;
  }
  char chunk[16 * 1024];
  // The sink may finish its exchange and release the channel while taking the data: keep
  // the channel alive until this walk is over.
  ++walking_;
  while (!channel->released && channel->buffered > 0) {
    const std::size_t room = room_of(*channel);
    if (room == 0) break;
    const std::size_t want = std::min({room, channel->buffered, sizeof chunk});
    // With bytes already buffered, libssh serves this from its buffer without reading the
    // socket (so no callback runs from inside this call) and re-opens the window.
    ++in_libssh_;
    const int n =
        ssh_channel_read_nonblocking(channel->handle, chunk, static_cast<uint32_t>(want), 0);
    --in_libssh_;
    if (n <= 0) {
      channel->buffered = 0;
      break;
    }
    channel->buffered -= static_cast<std::size_t>(n);
    channel->sink->on_channel_data(chunk, static_cast<std::size_t>(n));
  }
  deliver_pending(*channel);
  --walking_;
  if (walking_ == 0 && in_libssh_ == 0) free_released_channels();
  check_output();
}

long PublisherSession::write(Channel* channel, const char* data, std::size_t size) {
  if (dead_ || channel->closed || channel->eof_sent || channel->handle == nullptr) return -1;
  if (channel->opening) return 0;  // the sink hears on_channel_open first
  if (in_libssh_ > 0) {
    channel->want_flush = true;  // written from run_deferred, outside libssh
    request_deferred();
    return 0;
  }
  const std::uint32_t window = ssh_channel_window_size(channel->handle);
  if (window == 0) {
    channel->wants_window = true;
    return 0;
  }
  const std::size_t n = std::min<std::size_t>(size, window);
  // ssh_channel_write also flushes the socket, which may process arrived packets: their
  // callbacks only record (in_libssh_ > 0) and are delivered by run_deferred.
  ++in_libssh_;
  const int rc = ssh_channel_write(channel->handle, data, static_cast<uint32_t>(n));
  --in_libssh_;
  if (rc == SSH_ERROR) return -1;
  if (static_cast<std::size_t>(rc) < size) channel->wants_window = true;
  check_output();
  return rc;
}

void PublisherSession::send_eof(Channel* channel) {
  if (dead_ || channel->closed || channel->eof_sent || channel->handle == nullptr) return;
  if (channel->opening || in_libssh_ > 0) {
    channel->eof_pending = true;
    request_deferred();
    return;
  }
  channel->eof_sent = true;
  ++in_libssh_;
  ssh_channel_send_eof(channel->handle);
  --in_libssh_;
  check_output();
}

void PublisherSession::release_channel(Channel* channel) {
  channel->released = true;
  channel->sink = nullptr;
  if (in_libssh_ == 0 && walking_ == 0) {
    free_released_channels();
  } else {
    request_deferred();
  }
}

void PublisherSession::free_released_channels() {
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (!it->released || it->opening) {
      // A channel still opening is freed once libssh has the answer (freeing it earlier
      // would leave the client's confirmation pointing at nothing).
      ++it;
      continue;
    }
    if (it->handle != nullptr) {
      ssh_remove_channel_callbacks(it->handle, &it->callbacks);
      ++in_libssh_;
      if (!dead_ && !it->closed) ssh_channel_close(it->handle);
      ssh_channel_free(it->handle);
      --in_libssh_;
    }
    it = channels_.erase(it);
  }
}

}  // namespace tg::ssh
