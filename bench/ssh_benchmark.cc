// The relay's per-request SSH work: libssh's ssh_channel_write of 64 B, 1 KiB and 16 KiB on an
// open channel, as PublisherSession::write hands a visitor's bytes to the publisher (one
// CHANNEL_DATA packet built, sealed and sent, the send() on the socket included). Both ends
// are libssh in this process over a Unix socketpair: the relay's end a server session,
// non-blocking as the relay runs it; the publisher's a client session, whose preference picks
// the cipher (chacha20-poly1305 is OpenSSH's and libssh's first choice; AES-128-GCM beside it).
// Only the write is timed (manual time, a steady clock read around the call). After each
// write, on the same thread and untimed, the client reads it all back with ssh_channel_read,
// which opens its window again (WINDOW_ADJUST), and the server takes the adjustments in: no
// timed write waits for window or for a reader. The CPU column counts that reading too.
#include <benchmark/benchmark.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

// Bound on every wait: a blocking libssh call in the setup, and the reading between writes.
constexpr long kTimeoutSeconds = 5;

// The server's callbacks record here; the server thread owns it until it is joined.
struct ServerSide {
  ssh_key client_key = nullptr;  // the one key accepted
  bool authenticated = false;
  ssh_channel channel = nullptr;
  ssh_server_callbacks_struct callbacks{};
};

int accept_client_key(ssh_session, const char*, ssh_key key, char signature_state, void* side_ptr) {
  auto* side = static_cast<ServerSide*>(side_ptr);
  if (ssh_key_cmp(key, side->client_key, SSH_KEY_CMP_PUBLIC) != 0) return SSH_AUTH_DENIED;
  if (signature_state == SSH_PUBLICKEY_STATE_NONE) return SSH_AUTH_SUCCESS;
  if (signature_state != SSH_PUBLICKEY_STATE_VALID) return SSH_AUTH_DENIED;
  side->authenticated = true;
  return SSH_AUTH_SUCCESS;
}

ssh_channel open_session_channel(ssh_session session, void* side_ptr) {
  auto* side = static_cast<ServerSide*>(side_ptr);
  if (!side->authenticated || side->channel != nullptr) return nullptr;
  side->channel = ssh_channel_new(session);
  return side->channel;
}

// A server session and a client session over a socketpair, with a channel open between them.
// Set up by two threads in blocking mode (the server's handshake, authentication and channel
// on its own thread, joined before the constructor returns); then the server session is made
// non-blocking and everything runs on the caller's thread. `error` says when it failed.
class Connection {
 public:
  explicit Connection(const char* cipher) {
    int fds[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      error = "socketpair failed";
      return;
    }
    server_fd_ = fds[0];
    client_fd_ = fds[1];
    ssh_key host_key = nullptr;
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &host_key) != SSH_OK ||
        ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &client_key_) != SSH_OK) {
      ssh_key_free(host_key);
      error = "cannot generate keys";
      return;
    }
    bind_ = ssh_bind_new();
    // The bind owns the host key once it has taken it.
    if (bind_ == nullptr ||
        ssh_bind_options_set(bind_, SSH_BIND_OPTIONS_IMPORT_KEY, host_key) != SSH_OK) {
      ssh_key_free(host_key);
      error = "cannot set up the server's host key";
      return;
    }
    server = ssh_new();
    client = ssh_new();
    event_ = ssh_event_new();
    if (server == nullptr || client == nullptr || event_ == nullptr) {
      error = "cannot create sessions";
      return;
    }
    side_.client_key = client_key_;
    std::string server_error;
    // A side that fails shuts its socket down, so the other side's wait ends at once.
    std::thread server_thread([&] {
      server_error = serve();
      if (!server_error.empty()) shutdown(server_fd_, SHUT_RDWR);
    });
    std::string client_error = connect(cipher);
    if (!client_error.empty()) shutdown(client_fd_, SHUT_RDWR);
    server_thread.join();
    if (!server_error.empty() || !client_error.empty()) {
      error = "setup failed: server: " + (server_error.empty() ? "ok" : server_error) +
              "; client: " + (client_error.empty() ? "ok" : client_error);
      return;
    }
    server_channel = side_.channel;
    ssh_set_blocking(server, 0);  // as the relay runs its sessions
    label = ssh_get_cipher_out(server);
  }

  ~Connection() {
    // ssh_free frees the session's channels and closes the socket it was given.
    if (client != nullptr) ssh_free(client);
    if (event_ != nullptr) {
      if (server_in_event_) ssh_event_remove_session(event_, server);
      ssh_event_free(event_);
    }
    if (server != nullptr) ssh_free(server);
    if (bind_ != nullptr) ssh_bind_free(bind_);
    ssh_key_free(client_key_);
    if (!server_fd_given_ && server_fd_ >= 0) close(server_fd_);
    if (!client_fd_given_ && client_fd_ >= 0) close(client_fd_);
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Untimed, after a write of `payload` that sent `written` bytes: sends the rest (none unless
  // the window or a key re-exchange held it back), has the client read all of it, and lets the
  // server take in the client's window adjustments, so the next write finds room. nullptr when
  // done, else what went wrong.
  const char* settle(std::string_view payload, std::size_t written, std::string& scratch) {
    const auto deadline = Clock::now() + std::chrono::seconds(kTimeoutSeconds);
    std::size_t received = 0;
    while (written < payload.size() || received < payload.size() ||
           ssh_channel_window_size(server_channel) < payload.size()) {
      if (Clock::now() > deadline) return "timed out waiting for the client to read";
      if (written < payload.size() && ssh_channel_window_size(server_channel) > 0) {
        const int n = ssh_channel_write(server_channel, payload.data() + written,
                                        static_cast<std::uint32_t>(payload.size() - written));
        if (n < 0) return "ssh_channel_write failed";
        written += static_cast<std::size_t>(n);
      }
      int got = 0;
      if (received < written) {
        // Waits up to 1 ms for bytes: enough while they are on their way.
        got = ssh_channel_read_timeout(client_channel, scratch.data(),
                                       static_cast<std::uint32_t>(scratch.size()), 0, 1);
        if (got < 0) return "ssh_channel_read failed";
        received += static_cast<std::size_t>(got);
      }
      // Nothing for the client: the server has something to take in (window adjustments, a
      // key re-exchange) or output left to flush.
      if (got == 0 && ssh_event_dopoll(event_, received < written ? 0 : 1) == SSH_ERROR) {
        return "the server session failed";
      }
    }
    return nullptr;
  }

  ssh_session server = nullptr;
  ssh_session client = nullptr;
  ssh_channel server_channel = nullptr;
  ssh_channel client_channel = nullptr;
  std::string error;
  std::string label;  // the cipher the server sends with

 private:
  // On the server thread: what the relay does for a publisher, up to its channel being open.
  std::string serve() {
    server_fd_given_ = true;  // the session closes it from here on
    if (ssh_bind_accept_fd(bind_, server, server_fd_) != SSH_OK) return ssh_get_error(bind_);
    long timeout = kTimeoutSeconds;
    ssh_options_set(server, SSH_OPTIONS_TIMEOUT, &timeout);
    side_.callbacks.userdata = &side_;
    side_.callbacks.auth_pubkey_function = &accept_client_key;
    side_.callbacks.channel_open_request_session_function = &open_session_channel;
    ssh_callbacks_init(&side_.callbacks);
    ssh_set_server_callbacks(server, &side_.callbacks);
    if (ssh_handle_key_exchange(server) != SSH_OK) return ssh_get_error(server);
    ssh_set_auth_methods(server, SSH_AUTH_METHOD_PUBLICKEY);
    ssh_event_add_session(event_, server);
    server_in_event_ = true;
    const auto deadline = Clock::now() + std::chrono::seconds(kTimeoutSeconds);
    while (side_.channel == nullptr) {
      if (ssh_event_dopoll(event_, 100) == SSH_ERROR) return ssh_get_error(server);
      if (Clock::now() > deadline) return "no channel opened in time";
    }
    return {};
  }

  // On the caller's thread: the publisher's side, a client with a session channel.
  std::string connect(const char* cipher) {
    long timeout = kTimeoutSeconds;
    bool process_config = false;  // no ~/.ssh/config in a benchmark
    ssh_options_set(client, SSH_OPTIONS_HOST, "localhost");
    ssh_options_set(client, SSH_OPTIONS_USER, "bench");
    ssh_options_set(client, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
    ssh_options_set(client, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
    ssh_options_set(client, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    ssh_options_set(client, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(client, SSH_OPTIONS_CIPHERS_C_S, cipher);
    ssh_options_set(client, SSH_OPTIONS_CIPHERS_S_C, cipher);
    ssh_options_set(client, SSH_OPTIONS_FD, &client_fd_);
    client_fd_given_ = true;  // ssh_connect hands it to the session, which closes it
    if (ssh_connect(client) != SSH_OK) return ssh_get_error(client);
    // The server's host key is not checked: it is the one made above.
    if (ssh_userauth_publickey(client, nullptr, client_key_) != SSH_AUTH_SUCCESS) {
      return ssh_get_error(client);
    }
    client_channel = ssh_channel_new(client);
    if (client_channel == nullptr) return ssh_get_error(client);
    if (ssh_channel_open_session(client_channel) != SSH_OK) return ssh_get_error(client);
    return {};
  }

  int server_fd_ = -1;
  int client_fd_ = -1;
  bool server_fd_given_ = false;
  bool client_fd_given_ = false;
  ssh_key client_key_ = nullptr;
  ssh_bind bind_ = nullptr;
  ssh_event event_ = nullptr;
  bool server_in_event_ = false;
  ServerSide side_;
};

void BM_SshChannelWrite(benchmark::State& state, const char* cipher) {
  Connection connection(cipher);
  if (!connection.error.empty()) {
    state.SkipWithError(connection.error.c_str());
    return;
  }
  const std::string payload(static_cast<std::size_t>(state.range(0)), 'x');
  std::string scratch(64 * 1024, '\0');
  std::int64_t short_writes = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    const int written = ssh_channel_write(connection.server_channel, payload.data(),
                                          static_cast<std::uint32_t>(payload.size()));
    const auto end = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    if (written < 0) {
      state.SkipWithError(ssh_get_error(connection.server));
      break;
    }
    if (static_cast<std::size_t>(written) < payload.size()) ++short_writes;
    if (const char* error = connection.settle(payload, static_cast<std::size_t>(written), scratch);
        error != nullptr) {
      state.SkipWithError(error);
      break;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(payload.size()));
  // Writes the window or a key re-exchange cut short (finished untimed): expected 0.
  state.counters["short_writes"] = static_cast<double>(short_writes);
  state.SetLabel(connection.label);
}
BENCHMARK_CAPTURE(BM_SshChannelWrite, chacha20_poly1305, "chacha20-poly1305@openssh.com")
    ->Arg(64)
    ->Arg(1024)
    ->Arg(16 * 1024)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_SshChannelWrite, aes128_gcm, "aes128-gcm@openssh.com")
    ->Arg(64)
    ->Arg(1024)
    ->Arg(16 * 1024)
    ->UseManualTime();

}  // namespace
