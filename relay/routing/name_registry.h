/// Which worker and which SSH session hold each public name: the relay's only shared table.
///
/// libssh wants a `tcpip-forward` answered inside the callback that delivers it, so claiming
/// a name must be decided synchronously by the worker that owns the session. The registry is
/// therefore the one structure workers share, behind a mutex taken when a name is claimed or
/// released (control path, once per forward) and when an accepting worker routes a new
/// visitor connection (once per connection, before TLS). No request, byte or TLS record
/// ever touches it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tg {

struct NameOwner {
  unsigned worker = 0;
  std::uint64_t session_id = 0;
  std::string key_fingerprint;
  bool online = true;            // false: the publisher left; visitors get 502 rather than 404
  std::uint64_t generation = 0;  // of the grant that made this claim: orders claims (RouteTable)
};

class RouteTable;

class NameRegistry {
 public:
  NameRegistry();
  ~NameRegistry();
  enum class Outcome {
    kGranted,         // the name was free (or only remembered as offline)
    kHeldByOtherKey,  // refused: another key publishes it
    kTakenOver,       // the same key held it from another session: that session must go
    kAlreadyYours,    // this very session already holds it
    kKeyAtLimit,      // refused: the key already publishes `max_per_key` names
  };
  struct ClaimResult {
    Outcome outcome = Outcome::kHeldByOtherKey;  // fail closed until decided
    NameOwner previous;                          // with kTakenOver and kHeldByOtherKey
    std::uint64_t generation = 0;                // with kGranted and kTakenOver: this claim's
  };

  /// `max_per_key` bounds how many names one key may hold at once (0: no bound). A grant (first
  /// claim or takeover) gets the next claim generation, which orders it against every other
  /// grant; `owner.generation` is ignored.
  ClaimResult claim(const std::string& name, const NameOwner& owner, std::size_t max_per_key = 0);
  /// Frees `name` if `session_id` still holds it. The name is remembered as offline (so its
  /// visitors hear "publisher offline", not "no such name") until reclaimed or evicted.
  /// Returns the generation of the claim it ended, or nothing when `session_id` held no claim
  /// (already released, or taken over by a newer claim): then there is no "offline" to tell.
  std::optional<std::uint64_t> release(const std::string& name, std::uint64_t session_id);
  std::optional<NameOwner> find(std::string_view name) const;

  /// The count of open visitor connections to the tunnels of key `fingerprint`, shared by
  /// the workers serving its sessions (a key's sessions may land on several), for the
  /// per-key cap. Made on the key's first tunnel and kept: one small entry per key that ever
  /// published, which only authorized keys can be.
  std::shared_ptr<std::atomic<std::uint32_t>> key_connections(const std::string& fingerprint);

 private:
  mutable std::mutex mutex_;
  std::unique_ptr<RouteTable> owners_;
  std::uint64_t last_generation_ = 0;                           // of the latest grant
  std::unordered_map<std::string, std::size_t> names_per_key_;  // online names by key
  std::unordered_map<std::string, std::shared_ptr<std::atomic<std::uint32_t>>> connections_per_key_;
};

}  // namespace tg
