/// The publisher side of the load generator: N tunnels opened with libssh as an SSH client,
/// and one thread answering every visitor that arrives through them.
///
/// Set-up is plain blocking libssh on a few threads (--setup-concurrency): connect with
/// TCP_NODELAY, public-key authentication, then one real `tcpip-forward` per tunnel
/// (ssh_channel_listen_forward("NAME", 80)), exactly what `ssh -R NAME:80:…` sends. The time
/// from connect to the granted forward, and from authentication to the granted forward (the
/// relay's "time to URL"), is recorded per tunnel.
///
/// Serving is one thread for all sessions (the "ideal" shape, not a thread per session):
/// each session gets its own ssh_event so that libssh's internal polls (it polls inside
/// every channel write to flush) look at that session's socket only, and the thread waits
/// on epoll over all session sockets, then lets libssh process just the sessions that are
/// ready (ssh_event_dopoll(session_event, 0)). New forwarded-tcpip channels are accepted in
/// the session's message callback. Re-entrancy is the trap, as in the relay's ssh/ssh.h:
/// a channel write flushes, the flush reads, and reading runs callbacks. So callbacks only
/// record (data length, EOF, close, a new channel) and queue the channel's id; the loop then
/// serves queued channels from outside any libssh call: pull the request bytes, run the
/// backend, write what the SSH window allows, and come back when the window grows or an SSE
/// timer fires. With --backend-url each channel is spliced to its own TCP connection to the
/// external service instead, with the same window and buffer caps.
#pragma once

#include <libssh/libssh.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "relay/base/result.h"
#include "tools/load/histogram.h"
#include "tools/load/options.h"

namespace tg::load {

struct PublisherReport {
  std::uint32_t tunnels_requested = 0;
  std::uint32_t tunnels_opened = 0;
  std::uint32_t sessions = 0;
  LogHistogram setup_ns;    // SSH connect started → forward granted, per tunnel
  LogHistogram forward_ns;  // authenticated → forward granted (the relay's time to URL)
  std::vector<std::uint32_t> bound_ports;  // per tunnel: the port the server granted
  std::uint64_t channels = 0;
  std::uint64_t requests = 0;                  // requests the built-in backends parsed
  std::uint64_t bad_requests = 0;              // heads or bodies the backends refused
  std::uint64_t backend_connect_failures = 0;  // --backend-url connections refused
  std::uint64_t sessions_lost = 0;             // sessions the relay ended while serving
  std::uint64_t unflushed_sessions = 0;        // sessions with output libssh had not sent
  std::string first_error;
};

class Publisher {
 public:
  explicit Publisher(const Options& options);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  /// Opens every session and forward. Fails with the first error when any tunnel could not
  /// be opened: a run with missing tunnels measures nothing anyone asked for.
  Status open();
  /// Starts the serving thread.
  void start();
  /// Stops the serving thread (within its 100 ms tick) and disconnects every session.
  void stop();

  std::vector<std::string> names() const;
  PublisherReport report() const { return report_; }
  std::uint64_t requests_so_far() const { return requests_live_.load(std::memory_order_relaxed); }

 private:
  struct Session;
  struct Channel;

  Status open_session(Session& session);
  void serve();
  bool accept_channel(Session& session, ssh_message message);
  void mark_dirty(Channel& channel);
  void wait_for_window(Channel& channel);
  void serve_channel(std::uint64_t id, std::uint64_t now_ns);
  void serve_builtin(Channel& channel, std::uint64_t now_ns);
  void serve_splice(Channel& channel);
  bool start_splice(Channel& channel);
  void update_splice_interest(Channel& channel);
  void release_channel(Channel& channel);
  void session_lost(Session& session);
  void update_session_interest(Session& session);

  static int on_message(ssh_session session, ssh_message message, void* session_ptr);
  static int on_channel_data(ssh_session session, ssh_channel handle, void* data, uint32_t len,
                             int is_stderr, void* channel_ptr);
  static void on_channel_eof(ssh_session session, ssh_channel handle, void* channel_ptr);
  static void on_channel_close(ssh_session session, ssh_channel handle, void* channel_ptr);

  const Options& options_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Channel>> channels_;
  std::vector<std::uint64_t> dirty_;    // channels to serve this round
  std::vector<std::uint64_t> blocked_;  // channels waiting for SSH window (or a re-key)
  std::vector<std::pair<std::uint64_t, std::uint64_t>> timers_;  // (due ns, channel), a heap
  std::uint64_t next_channel_id_ = 1;
  sockaddr_storage backend_address_{};  // --backend-url, resolved once
  socklen_t backend_address_len_ = 0;
  int epoll_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_live_{0};
  PublisherReport report_;
};

}  // namespace tg::load
