/// Interned strings for a compiled policy: each distinct text stored once, at a stable
/// address, for the policy's lifetime.
///
/// Constants, rule ids and name patterns are views into the pool, so rules that repeat
/// "DELETE" ten thousand times hold one copy, and moving the policy never moves a byte the
/// evaluator points at. Storage grows in 64 KiB blocks; lookups happen at load only.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace tg::policy {

class StringPool {
 public:
  StringPool() = default;
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;

  /// The pool's copy of `text` (the same view for equal texts).
  std::string_view intern(std::string_view text);

  std::size_t bytes() const { return bytes_; }

 private:
  static constexpr std::size_t kBlockBytes = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::unique_ptr<char[]>> large_;  // texts over a quarter block, one each
  std::size_t block_used_ = kBlockBytes;        // of the last block
  std::size_t bytes_ = 0;
  std::unordered_set<std::string_view> index_;
};

}  // namespace tg::policy
