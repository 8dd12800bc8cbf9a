#include "relay/routing/name_registry.h"

#include "relay/routing/route_table.h"

namespace tg {

NameRegistry::NameRegistry() : owners_(std::make_unique<RouteTable>()) {}
NameRegistry::~NameRegistry() = default;

NameRegistry::ClaimResult NameRegistry::claim(const std::string& name, const NameOwner& owner) {
  std::lock_guard lock(mutex_);
  const NameOwner* current = owners_->find(name);
  ClaimResult result{Outcome::kGranted, {}};
  if (current != nullptr && current->online) {
    if (current->session_id == owner.session_id) return {Outcome::kAlreadyYours, {}};
    if (current->key_fingerprint != owner.key_fingerprint) {
      return {Outcome::kHeldByOtherKey, *current};
    }
    result = {Outcome::kTakenOver, *current};
  }
  owners_->set_online(name, owner);
  return result;
}

void NameRegistry::release(const std::string& name, std::uint64_t session_id) {
  std::lock_guard lock(mutex_);
  owners_->set_offline(name, session_id);
}

std::optional<NameOwner> NameRegistry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const NameOwner* owner = owners_->find(name);
  if (owner == nullptr) return std::nullopt;
  return *owner;
}

}  // namespace tg
