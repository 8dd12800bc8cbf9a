/// The keys that sign the relay's access tokens and tunnel session cookies, and their
/// rotation.
///
/// Each rotation (every policy load: start-up, SIGHUP, the admin API's reload) makes a new
/// set, one ES256 key per sign-in thread (a SigningKey is not thread-safe). A new set is
/// published at once (it goes into the JWKS the policy load builds its verifier from) but signs
/// only `kSwitchDelaySeconds` later, once every worker has the new verifier; until then the
/// previous set signs. A set stays published until every token it can have signed has
/// expired (the next set's start, plus the token lifetime and the verifiers' leeway), so a
/// rotation never turns a valid token away. Thread-safe: one mutex, taken by the sign-in
/// threads once per token and by the loader once per policy load.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "relay/base/result.h"
#include "relay/identity/jws_signer.h"

namespace tg::auth {

class SigningKeys {
 public:
  static constexpr std::int64_t kSwitchDelaySeconds = 5;
  static constexpr std::int64_t kLeewaySeconds = 60;  // the verifiers' (JwtOptions)

  SigningKeys(unsigned threads, std::int64_t token_seconds)
      : threads_(threads), token_seconds_(token_seconds) {}

  /// A new set, published now and signing from now + kSwitchDelaySeconds (the first set signs
  /// at once); sets whose tokens have all expired are dropped.
  Status rotate(std::int64_t now);

  /// The JWKS of every published set.
  std::string jwks() const;

  /// Signs `payload` as a JWT with thread `thread`'s key of the set signing at `now`.
  Result<std::string> sign(unsigned thread, std::string_view payload, std::int64_t now);

 private:
  struct Set {
    std::vector<std::unique_ptr<identity::SigningKey>> keys;  // one per thread
    std::int64_t signs_from = 0;
  };
  const unsigned threads_;
  const std::int64_t token_seconds_;
  mutable std::mutex mutex_;
  std::vector<Set> sets_;  // oldest first
  std::uint64_t rotations_ = 0;
};

}  // namespace tg::auth
