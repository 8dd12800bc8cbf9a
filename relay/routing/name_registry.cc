#include "relay/routing/name_registry.h"

namespace tg {

NameRegistry::ClaimResult NameRegistry::claim(const std::string& name, const NameOwner& owner) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = owners_.try_emplace(name, owner);
  if (inserted) return {Outcome::kGranted, {}};
  if (!it->second.online) {
    it->second = owner;
    --offline_count_;
    return {Outcome::kGranted, {}};
  }
  if (it->second.session_id == owner.session_id) return {Outcome::kAlreadyYours, {}};
  if (it->second.key_fingerprint != owner.key_fingerprint) {
    return {Outcome::kHeldByOtherKey, it->second};
  }
  NameOwner previous = it->second;
  it->second = owner;
  return {Outcome::kTakenOver, previous};
}

void NameRegistry::release(const std::string& name, std::uint64_t session_id) {
  std::lock_guard lock(mutex_);
  auto it = owners_.find(name);
  if (it == owners_.end() || it->second.session_id != session_id || !it->second.online) return;
  it->second.online = false;
  ++offline_count_;
  offline_order_.push_back(name);
  while (offline_count_ > kMaxOffline && !offline_order_.empty()) {
    auto old = owners_.find(offline_order_.front());
    offline_order_.pop_front();
    if (old != owners_.end() && !old->second.online) {
      owners_.erase(old);
      --offline_count_;
    }
  }
  // Names reclaimed since they went offline leave stale entries behind; keep the queue short.
  if (offline_order_.size() > 2 * kMaxOffline) offline_order_.pop_front();
}

std::optional<NameOwner> NameRegistry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  // Heterogeneous lookup needs a transparent hash; names are short, so one copy is cheap.
  auto it = owners_.find(std::string(name));
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

std::size_t NameRegistry::size() const {
  std::lock_guard lock(mutex_);
  return owners_.size();
}

}  // namespace tg
