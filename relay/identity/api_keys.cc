// API key lookup: hash, binary search on the digest prefix, constant-time confirmation.
#include "relay/identity/api_keys.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>
// clang-format on

#include <algorithm>

namespace tg::identity {
namespace {

std::uint64_t prefix_of(const std::uint8_t* digest) {
  std::uint64_t prefix = 0;
  for (int i = 0; i < 8; ++i) prefix = (prefix << 8) | digest[i];
  return prefix;
}

bool equal_in_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t size) {
  std::uint8_t difference = 0;
  for (std::size_t i = 0; i < size; ++i) difference |= static_cast<std::uint8_t>(a[i] ^ b[i]);
  return difference == 0;
}

}  // namespace

ApiKeys::ApiKeys(std::span<const policy::ApiKey> keys) {
  entries_.reserve(keys.size());
  for (const policy::ApiKey& key : keys) {
    entries_.push_back({prefix_of(key.sha256.data()), key.sha256, key.name});
  }
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.prefix < b.prefix; });
}

std::optional<std::string_view> ApiKeys::find(std::string_view presented) const {
  if (presented.empty() || presented.size() > kMaxApiKeyBytes || entries_.empty()) {
    return std::nullopt;
  }
  std::uint8_t digest[WC_SHA256_DIGEST_SIZE];
  if (wc_Sha256Hash(reinterpret_cast<const byte*>(presented.data()),
                    static_cast<word32>(presented.size()), digest) != 0) {
    return std::nullopt;
  }
  const std::uint64_t prefix = prefix_of(digest);
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), prefix,
      [](const Entry& entry, std::uint64_t value) { return entry.prefix < value; });
  for (; it != entries_.end() && it->prefix == prefix; ++it) {
    if (equal_in_constant_time(it->sha256.data(), digest, sizeof(digest))) return it->name;
  }
  return std::nullopt;
}

}  // namespace tg::identity
