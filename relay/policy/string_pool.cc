// StringPool: bump allocation in blocks, deduplicated through a set of views.
#include "relay/policy/string_pool.h"

#include <cstring>

namespace tg::policy {

std::string_view StringPool::intern(std::string_view text) {
  if (text.empty()) return std::string_view();
  if (auto found = index_.find(text); found != index_.end()) return *found;
  char* storage;
  if (text.size() > kBlockBytes / 4) {
    // A long text gets a block of its own, leaving the current block's room for others.
    large_.push_back(std::make_unique<char[]>(text.size()));
    storage = large_.back().get();
  } else {
    if (block_used_ + text.size() > kBlockBytes) {
      blocks_.push_back(std::make_unique<char[]>(kBlockBytes));
      block_used_ = 0;
    }
    storage = blocks_.back().get() + block_used_;
    block_used_ += text.size();
  }
  std::memcpy(storage, text.data(), text.size());
  bytes_ += text.size();
  std::string_view interned(storage, text.size());
  index_.insert(interned);
  return interned;
}

}  // namespace tg::policy
