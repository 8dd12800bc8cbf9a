/// The sign-in threads: where workers send requests for the relay's own sign-in endpoints.
///
/// A worker that meets a request for the auth host (or a tunnel's `/.tunnelgate/` prefix)
/// reads it whole, wraps it in an auth::Exchange and sends it through the mailboxes to one
/// of these threads (kAuthRequest); the answer comes back the same way (kAuthAnswer). The
/// threads are mailbox endpoints after the workers, each with its own small Ring for the
/// wake-ups, so this is the same one mechanism workers use among themselves. They exist so
/// that whatever blocks (an upstream provider's token endpoint, a client's metadata
/// document) blocks one of them, never a worker's loop.
///
/// Made before the policy is first loaded: every policy load rotates the signing keys and
/// gives the relay's issuer their JWKS (rotate_keys). The keys live in memory only, new at
/// every start: an access token from before a restart is refused and the client refreshes it
/// (refresh tokens are sealed under the keyring in the state folder, which persists, as do
/// refresh-token families).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "relay/auth/auth_server.h"
#include "relay/base/result.h"
#include "relay/config/config.h"
#include "relay/io/mailbox.h"

namespace tg::auth {

/// "https://auth.DOMAIN[:port]" for `config`.
std::string issuer_of(const Config& config);

class AuthService {
 public:
  /// Keys, keyring, state and the `[[signin.provider]]` clients for `config` (sign-in must
  /// be enabled).
  static Result<std::unique_ptr<AuthService>> create(const Config& config);
  ~AuthService();

  const std::string& issuer() const { return settings_.issuer; }
  SigninCounters& counters() { return counters_; }
  unsigned threads() const { return threads_count_; }

  /// New signing keys (signing shortly; see signing_keys.h), and the JWKS that verifies every
  /// token still valid: what each policy load gives the relay's issuer.
  Result<std::string> rotate_keys();
  /// The audit trail the sign-in events go to as well (-1: none). Before start().
  void set_audit_fd(int fd) { audit_fd_ = fd; }

  /// Starts the threads as mailbox endpoints first_endpoint, first_endpoint + 1, ….
  void start(io::Mailboxes& mailboxes, unsigned first_endpoint);
  /// Stops and joins them (what is in flight is answered first).
  void stop();

 private:
  AuthService() = default;
  void run(unsigned index);

  ServerSettings settings_;
  std::vector<SealKey> seal_keys_;
  unsigned threads_count_ = 0;
  std::unique_ptr<SigningKeys> keys_;
  std::unique_ptr<AuthState> state_;
  std::vector<std::unique_ptr<Upstreams>> upstreams_;  // one set per thread
  SigninCounters counters_;
  int audit_fd_ = -1;
  io::Mailboxes* mailboxes_ = nullptr;
  unsigned first_endpoint_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace tg::auth
