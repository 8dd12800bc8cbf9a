/// What the sign-in endpoints must remember on the server, shared by the sign-in threads:
/// the one-time ids already used (authorization codes, hand-offs), the refresh-token families
/// (which generation is current, which are revoked), and the registration rate.
///
/// Everything else travels sealed (grants.h). The families outlive a restart: each change is
/// appended to a file in the state folder, which is read (and compacted) at start-up. Calls
/// come from the sign-in threads only, never from a worker, and take one mutex for a few
/// map operations (and, for a family change, one append).
///
/// Bounds: at most kMaxOneTimeIds live one-time ids (expired ones are dropped first; when
/// still full, a new id is refused, so a flood of sign-ins cannot grow memory) and at most
/// kMaxFamilies live families (the oldest expiring one is dropped beyond).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "relay/base/result.h"

namespace tg::auth {

class AuthState {
 public:
  static constexpr std::size_t kMaxOneTimeIds = 200'000;
  static constexpr std::size_t kMaxFamilies = 1'000'000;

  /// `families_path`: the file that keeps refresh-token families ("" keeps them in memory).
  explicit AuthState(std::string families_path, std::uint32_t registrations_per_minute);

  /// Reads the families file (a missing file is an empty one) and rewrites it compacted.
  Status load(std::int64_t now);

  /// True the first time `id` is presented (it stays used until `expires`); false on replay,
  /// or when the table is full of live ids.
  bool use_once(std::string_view id, std::int64_t expires, std::int64_t now);

  /// Starts a family at generation 0, alive until `expires`.
  Status open_family(std::string_view family, std::int64_t expires);

  enum class Rotation { kRotated, kReused, kUnknown };
  /// Presenting generation `generation` of `family`: when it is the current one, the next
  /// becomes current (kRotated); an older one is a reuse and revokes the family (kReused);
  /// a revoked, expired or unknown family is kUnknown.
  Rotation rotate(std::string_view family, std::uint64_t generation, std::int64_t now);

  /// Revokes `family` (RFC 7009); true when it was live.
  bool revoke_family(std::string_view family);

  /// One more Dynamic Client Registration this minute, if the rate allows.
  bool allow_registration(std::int64_t now);

  std::size_t live_families() const;

 private:
  struct Family {
    std::uint64_t generation = 0;
    std::int64_t expires = 0;
  };
  void append(const std::string& line);
  void drop_expired_ids(std::int64_t now);

  const std::string families_path_;
  const std::uint32_t registrations_per_minute_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> one_time_ids_;  // id → expires
  std::multimap<std::int64_t, std::string> one_time_expiry_;    // expires → id
  std::unordered_map<std::string, Family> families_;
  std::int64_t registration_minute_ = 0;
  std::uint32_t registrations_this_minute_ = 0;
};

}  // namespace tg::auth
