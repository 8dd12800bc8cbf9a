/// The SSH side of the relay: publishers' libssh server sessions, their public-key
/// authentication, their `tcpip-forward` requests and the `forwarded-tcpip` channels that
/// carry visitors to them.
///
/// libssh reads and writes the socket itself, so a session keeps a real kernel fd; the
/// worker that accepted it watches that fd on its io_uring and calls `on_ready()` when it
/// is readable or writable, and libssh then processes whatever arrived. A session and its
/// channels belong to that one worker. Decisions that are not the SSH layer's (is this name
/// free, may this key have it, what URL is printed) are asked of the worker through
/// `SessionEvents`; data for visitors goes through `ChannelSink`.
///
/// Re-entrancy is the trap with libssh: a channel write also flushes the socket, and that
/// flush processes whatever packets have arrived, running channel callbacks in the middle of
/// the caller's call. So the session keeps one rule: sinks are called only when no libssh
/// call is on the stack below them, and libssh is never entered from a sink callback.
/// Callbacks that fire inside another call only record what happened (data stays in
/// libssh's channel buffer), and the session delivers it from `run_deferred()`, which the
/// worker calls from the top of its loop. Requests a sink makes while libssh is running
/// (write, EOF, open) are queued the same way.
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::ssh {

/// The keys allowed to publish, read from an OpenSSH authorized_keys file.
class AuthorizedKeys {
 public:
  AuthorizedKeys() = default;
  ~AuthorizedKeys();
  AuthorizedKeys(AuthorizedKeys&&) noexcept;
  AuthorizedKeys& operator=(AuthorizedKeys&&) noexcept;
  AuthorizedKeys(const AuthorizedKeys&) = delete;
  AuthorizedKeys& operator=(const AuthorizedKeys&) = delete;

  /// Errors name the file and line. Options before the key type are accepted and ignored.
  static Result<AuthorizedKeys> load(const std::string& path);
  bool contains(ssh_key key) const;
  bool contains_fingerprint(std::string_view fingerprint) const;
  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<ssh_key> keys_;
  std::vector<std::string> fingerprints_;
};

/// "SHA256:<base64>", as `ssh-keygen -l` prints it.
std::string fingerprint(ssh_key key);

/// Server keys and settings shared by the sessions of one worker.
class Server {
 public:
  ~Server();
  static Result<std::unique_ptr<Server>> create(const std::vector<std::string>& host_keys,
                                                const std::string& authorized_keys_path);
  ssh_bind bind() const { return bind_; }
  const AuthorizedKeys& authorized() const { return authorized_; }

 private:
  Server() = default;
  ssh_bind bind_ = nullptr;
  AuthorizedKeys authorized_;
};

class PublisherSession;

/// A `tcpip-forward` the publisher asked for and the relay granted.
struct Forward {
  std::string bind_address;      // as the client sent it ("notes", "localhost", "")
  std::uint32_t bind_port = 0;   // as the client sent it
  std::uint32_t bound_port = 0;  // the port the client knows this forward by
  std::string name;              // the public name it was granted
};

/// Receives a visitor channel's events; implemented by the visitor connection.
class ChannelSink {
 public:
  virtual void on_channel_open() = 0;
  virtual void on_channel_open_failed(std::string_view why) = 0;
  /// How many bytes of publisher data the sink can take now. Bytes it cannot take stay in
  /// libssh's channel buffer, holding back the channel window (this is the flow control),
  /// until the sink calls `PublisherSession::pull`.
  virtual std::size_t channel_room() = 0;
  /// Data from the publisher, never more than `channel_room()` said.
  virtual void on_channel_data(const char* data, std::size_t size) = 0;
  virtual void on_channel_eof() = 0;
  virtual void on_channel_closed() = 0;
  /// The channel's window has room again after a write was cut short.
  virtual void on_channel_writable() = 0;

 protected:
  ~ChannelSink() = default;
};

/// One forwarded-tcpip channel. Owned by its session; the sink holds a pointer until it
/// calls `PublisherSession::release_channel`.
struct Channel {
  ssh_channel handle = nullptr;
  ssh_channel_callbacks_struct callbacks{};
  ChannelSink* sink = nullptr;
  PublisherSession* session = nullptr;
  std::string originator_ip;
  std::uint16_t originator_port = 0;
  std::uint32_t forward_port = 0;
  std::string forward_address;
  std::size_t buffered = 0;  // bytes libssh holds that the sink has not taken yet
  bool opening = true;
  bool eof_received = false;
  bool eof_delivered = false;
  bool close_delivered = false;
  bool eof_sent = false;
  bool closed = false;
  bool wants_window = false;
  bool released = false;
  bool open_sent = false;    // the CHANNEL_OPEN went out
  bool dirty = false;        // callbacks recorded something the sink has not heard yet
  bool want_flush = false;   // the sink asked to write while libssh was running
  bool eof_pending = false;  // the sink asked for an EOF while libssh was running
};

/// What the worker decided about a forward request.
struct ForwardDecision {
  bool granted = false;
  std::string name;     // granted name
  std::string message;  // line(s) to print on the session: the URL, or why it was refused
};

/// The worker's side of a session: name decisions and lifecycle notices.
class SessionEvents {
 public:
  /// `requested` has the bind address and ports filled in; the name is the worker's to give.
  virtual ForwardDecision on_forward_request(PublisherSession& session,
                                             const Forward& requested) = 0;
  virtual void on_forward_cancelled(PublisherSession& session, const Forward& forward) = 0;
  virtual void on_authenticated(PublisherSession& session) = 0;
  virtual void on_auth_refused(PublisherSession& session) = 0;
  /// libssh has output for the socket: call `flush_output()` once before the loop waits, so
  /// that every SSH packet of a loop round leaves in one send.
  virtual void on_output_pending(PublisherSession& session) = 0;
  /// The session command set options (`class=…`) after the forwards were granted.
  virtual void on_options(PublisherSession& session) = 0;
  /// Something waits for `run_deferred()`; call it from the top of the loop.
  virtual void on_deferred_work(PublisherSession& session) = 0;

 protected:
  ~SessionEvents() = default;
};

class PublisherSession {
 public:
  /// Holds on to `server` (its host keys and authorized keys) for its whole life, so a
  /// reload that swaps the worker's Server never pulls them from under a live session.
  PublisherSession(std::shared_ptr<Server> server, SessionEvents& events, std::uint64_t id, int fd,
                   std::string peer);
  ~PublisherSession();
  PublisherSession(const PublisherSession&) = delete;
  PublisherSession& operator=(const PublisherSession&) = delete;

  /// Starts the key exchange; false when libssh refused the socket.
  bool start();
  /// The fd is readable or writable: let libssh process it, then deliver what came.
  void on_ready();
  /// Delivers what callbacks recorded and performs what sinks asked for meanwhile. Only
  /// from the top of the worker's loop (never from inside a sink or libssh).
  void run_deferred();
  /// Sends what libssh holds for the socket. libssh writes a packet at once only when its last
  /// poll saw the socket writable, and every send clears that; so after the first flush of a
  /// round, packets wait in its buffer until here: one send per loop round, however many
  /// requests crossed. Afterwards `wants_write()` says whether the socket took it all.
  void flush_output();
  /// libssh holds output the socket did not take: watch for writability.
  bool wants_write() const { return output_blocked_; }
  bool dead() const { return dead_; }
  int fd() const { return fd_; }

  /// Prints `text` on the session channel (now, or once the client opens one).
  void tell(std::string_view text);
  /// Tells the publisher why, then ends the connection.
  void disconnect(std::string_view why);

  /// Opens a forwarded-tcpip channel for `forward`; the sink hears the outcome.
  Channel* open_channel(const Forward& forward, std::string originator_ip,
                        std::uint16_t originator_port, ChannelSink* sink);
  /// Writes at most what the channel window allows; returns bytes taken, -1 on error.
  long write(Channel* channel, const char* data, std::size_t size);
  void send_eof(Channel* channel);
  /// Delivers bytes libssh still buffers for the sink (after it stopped taking them).
  void pull(Channel* channel);
  /// The sink is done with the channel; it is closed and freed once libssh returns.
  void release_channel(Channel* channel);

  std::uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  const std::string& user() const { return user_; }
  const std::string& key_fingerprint() const { return key_fingerprint_; }
  bool authenticated() const { return authenticated_; }
  /// Keys refused so far. From kMaxAuthAttempts on, every key is refused (a valid one too,
  /// as OpenSSH's MaxAuthTries), and the owner should end the session.
  static constexpr unsigned kMaxAuthAttempts = 6;
  unsigned auth_refusals() const { return auth_refusals_; }
  const std::vector<Forward>& forwards() const { return forwards_; }
  const std::string& command() const { return command_; }
  /// `host=…` from the session command: the Host header the publisher's service expects
  /// (the SSH protocol never tells the server the target of `-R`, only the client knows it).
  const std::string& host_override() const { return host_override_; }
  /// `class=human|workload|agent` from the session command ("" when not asked for).
  const std::string& requested_class() const { return requested_class_; }

 private:
  static int auth_pubkey(ssh_session, const char* user, ssh_key key, char state, void* self);
  static ssh_channel open_session_channel(ssh_session, void* self);
  static void global_request(ssh_session, ssh_message message, void* self);
  static int shell_request(ssh_session, ssh_channel, void* self);
  static int exec_request(ssh_session, ssh_channel, const char* command, void* self);
  static int pty_request(ssh_session, ssh_channel, const char*, int, int, int, int, void*);
  static int env_request(ssh_session, ssh_channel, const char*, const char*, void*);
  static int session_data(ssh_session, ssh_channel, void*, uint32_t, int, void*);
  static void session_channel_closed(ssh_session, ssh_channel, void* self);

  static int channel_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr,
                          void* channel);
  static void channel_eof(ssh_session, ssh_channel, void* channel);
  static void channel_close(ssh_session, ssh_channel, void* channel);

  void handle_forward(ssh_message message);
  void apply_options(std::string_view command);
  void handle_cancel(ssh_message message);
  void flush_told();
  void notify_channels();
  void request_deferred();
  void deliver_pending(Channel& channel);
  void send_open(Channel& channel);
  void check_output();
  void refresh_output_state();
  void free_released_channels();

  std::shared_ptr<Server> server_;
  SessionEvents& events_;
  std::uint64_t id_;
  int fd_;
  std::string peer_;
  ssh_session session_ = nullptr;
  ssh_event event_ = nullptr;
  ssh_server_callbacks_struct server_callbacks_{};
  ssh_callbacks_struct session_callbacks_{};
  ssh_channel_callbacks_struct session_channel_callbacks_{};
  ssh_channel session_channel_ = nullptr;
  bool session_channel_ready_ = false;
  // The bytes libssh read from the socket, counted by libssh itself: a round that read a full
  // kLibsshReadSize tells on_ready that more input is probably waiting.
  ssh_counter_struct socket_counter_{};
  static constexpr std::uint64_t kLibsshReadSize = 4096;
  static constexpr int kPollRoundsPerWakeup = 16;
  bool kex_done_ = false;
  bool output_blocked_ = false;  // the last flush left bytes the socket would not take
  bool authenticated_ = false;
  unsigned auth_refusals_ = 0;
  bool dead_ = false;
  int in_libssh_ = 0;             // >0: a libssh call is on the stack (callbacks only record)
  int walking_ = 0;               // >0: channels_ is being walked (frees wait)
  bool direct_delivery_ = false;  // inside on_ready's poll: callbacks may call sinks
  bool deferred_requested_ = false;
  bool options_changed_ = false;  // tell the worker from run_deferred, outside libssh
  std::string user_;
  std::string key_fingerprint_;
  std::string command_;
  std::string host_override_;
  std::string requested_class_;
  std::string told_;  // text waiting for the session channel
  std::vector<Forward> forwards_;
  std::uint32_t next_virtual_port_ = 10000;
  std::list<Channel> channels_;
};

}  // namespace tg::ssh
