/// The JWKS documents of the policy's https:// issuers, kept for every thread that loads a
/// policy (start-up, the worker that runs a reload) and refreshed by a thread of their own.
///
/// Control path only: loading a policy and refreshing documents take one mutex, which no
/// request ever touches (workers decide with the immutable verifier a load produced). The
/// refresh thread holds it only to plan a refresh and to keep its results, never during the
/// fetches themselves (up to 5 s each): a reload, which runs on worker 0's loop, waits for
/// microseconds, not for an identity provider (JwksSource's plan / fetch / apply). A
/// refresh that changes a document asks for a reload, which rebuilds the verifier from the
/// new text and hands it to every worker, so a key an identity provider rotates in is
/// accepted, and one it removes stops admitting tokens, within the issuer's
/// `jwks_refresh_seconds`.
///
/// A key rotated in is usually accepted much sooner: the verifiers built here carry this
/// object's JwksRefreshRequests, so a token naming a kid its issuer's document lacks asks for
/// an early fetch of that document (lock-free, from the worker; the request itself is refused).
/// The refresh thread sleeps on those requests as well as on the schedule, and JwksSource
/// allows one early fetch per document per kJwksEarlyRefreshCooldownSeconds.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "relay/identity/jwks_refresh_requests.h"
#include "relay/identity/jwks_source.h"
#include "relay/worker/policy_set.h"

namespace tg {

class JwksDocuments {
 public:
  explicit JwksDocuments(identity::JwksSource source = identity::JwksSource())
      : source_(std::move(source)) {}
  ~JwksDocuments() { stop_refreshing(); }
  JwksDocuments(const JwksDocuments&) = delete;
  JwksDocuments& operator=(const JwksDocuments&) = delete;

  /// load_policy_set with this object's documents (a URL seen for the first time is fetched,
  /// blocking); on success its URLs are the ones refreshed from now on.
  Result<std::shared_ptr<const PolicySet>> load(const std::string& path);

  /// Every policy loaded from now on also accepts the relay's own issuer (sign-in on), with
  /// the keys `rotate` returns (it rotates them: each load is a rotation). Set once at
  /// start-up, before the first load.
  void set_signin(std::string issuer, std::function<Result<std::string>()> rotate) {
    signin_issuer_ = std::move(issuer);
    rotate_signin_keys_ = std::move(rotate);
  }

  /// Starts the refresh thread: it sleeps until a document is due or asked for early, fetches
  /// it, logs failures and early fetches, and calls `on_change` (from that thread) when a
  /// document changed.
  void start_refreshing(std::function<void()> on_change);
  void stop_refreshing();

  /// What the verifiers built here ask early fetches through (tests ask it directly).
  identity::JwksRefreshRequests& refresh_requests() { return requests_; }

 private:
  std::string signin_issuer_;
  std::function<Result<std::string>()> rotate_signin_keys_;
  void refresh_loop();

  // Worker → refresh thread: early fetches wanted; also how the thread is woken (stop, load).
  identity::JwksRefreshRequests requests_;
  std::mutex mutex_;
  bool stop_ = false;
  identity::JwksSource source_;
  std::function<void()> on_change_;
  std::thread thread_;
};

}  // namespace tg
