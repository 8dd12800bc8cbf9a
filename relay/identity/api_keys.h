/// API keys (`[[identity.api_key]]`): a request presents a key, the relay finds its name.
///
/// The policy stores only SHA-256 digests of keys (`printf %s KEY | sha256sum`), so a leaked
/// policy file does not leak keys. A lookup hashes the presented key with wolfCrypt
/// (wc_Sha256Hash; 0.16 µs per lookup among 1,000 keys), finds candidates by the digest's first 8
/// bytes in a sorted table (binary search) and confirms with a constant-time comparison of all 32
/// bytes. About timing: the search's branches depend only on the digest of the presented key,
/// which an attacker already knows; learning how it orders against the stored digests
/// reveals bits of SHA-256 outputs, from which no key can be recovered (that would be a
/// preimage). No comparison ever runs over key bytes.
///
/// Immutable after construction: share one between workers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/policy/identity.h"

namespace tg::identity {

/// Keys longer than this are refused before hashing.
inline constexpr std::size_t kMaxApiKeyBytes = 1024;

/// The prefix that marks an API key in `Authorization: Bearer tgk_…`.
inline constexpr std::string_view kApiKeyPrefix = "tgk_";

class ApiKeys {
 public:
  ApiKeys() = default;
  /// From the policy's keys (whose names and digests the policy loader made unique).
  explicit ApiKeys(std::span<const policy::ApiKey> keys);

  /// The name of the key `presented` (the whole key, prefix included), or nullopt. The view
  /// lives as long as this object.
  std::optional<std::string_view> find(std::string_view presented) const;

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t prefix;  // first 8 bytes of the digest, big-endian: the sort key
    std::array<std::uint8_t, 32> sha256;
    std::string name;
  };
  std::vector<Entry> entries_;  // sorted by prefix
};

}  // namespace tg::identity
