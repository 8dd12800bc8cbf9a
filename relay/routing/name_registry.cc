#include "relay/routing/name_registry.h"

#include "relay/routing/route_table.h"

namespace tg {

NameRegistry::NameRegistry() : owners_(std::make_unique<RouteTable>()) {}
NameRegistry::~NameRegistry() = default;

NameRegistry::ClaimResult NameRegistry::claim(const std::string& name, const NameOwner& owner,
                                              std::size_t max_per_key) {
  std::lock_guard lock(mutex_);
  const NameOwner* current = owners_->find(name);
  ClaimResult result{Outcome::kGranted, {}};
  if (current != nullptr && current->online) {
    if (current->session_id == owner.session_id) return {Outcome::kAlreadyYours, {}};
    if (current->key_fingerprint != owner.key_fingerprint) {
      return {Outcome::kHeldByOtherKey, *current};
    }
    result = {Outcome::kTakenOver, *current};  // same key: its count does not change
  } else {
    std::size_t& held = names_per_key_[owner.key_fingerprint];
    if (max_per_key != 0 && held >= max_per_key) return {Outcome::kKeyAtLimit, {}};
    ++held;
  }
  NameOwner granted = owner;
  granted.generation = result.generation = ++last_generation_;
  owners_->set_online(name, granted);
  return result;
}

std::optional<std::uint64_t> NameRegistry::release(const std::string& name,
                                                   std::uint64_t session_id) {
  std::lock_guard lock(mutex_);
  const NameOwner* current = owners_->find(name);
  if (current == nullptr || !current->online || current->session_id != session_id) {
    return std::nullopt;
  }
  auto it = names_per_key_.find(current->key_fingerprint);
  if (it != names_per_key_.end() && --it->second == 0) names_per_key_.erase(it);
  const std::uint64_t generation = current->generation;
  owners_->set_offline(name, session_id, generation);
  return generation;
}

std::optional<NameOwner> NameRegistry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const NameOwner* owner = owners_->find(name);
  if (owner == nullptr) return std::nullopt;
  return *owner;
}

std::shared_ptr<std::atomic<std::uint32_t>> NameRegistry::key_connections(
    const std::string& fingerprint) {
  std::lock_guard lock(mutex_);
  auto& counter = connections_per_key_[fingerprint];
  if (!counter) counter = std::make_shared<std::atomic<std::uint32_t>>(0);
  return counter;
}

}  // namespace tg
