#include "relay/routing/route_table.h"

namespace tg {

void RouteTable::set_online(const std::string& name, const NameOwner& owner) {
  auto [it, inserted] = routes_.try_emplace(name);
  if (!inserted) {
    // The same generation is the same claim: its "offline", if held, came after this.
    if (owner.generation <= it->second.generation) return;
    if (!it->second.online) --offline_count_;
  }
  it->second = owner;
  it->second.online = true;
}

void RouteTable::set_offline(const std::string& name, std::uint64_t session_id,
                             std::uint64_t generation) {
  auto it = routes_.find(name);
  if (it == routes_.end()) return;
  NameOwner& held = it->second;
  const bool same_claim = held.generation == generation && held.session_id == session_id;
  if (!same_claim && generation <= held.generation) return;  // about an older claim
  held.session_id = session_id;
  held.generation = generation;
  if (!held.online) return;  // already offline: not counted twice
  held.online = false;
  ++offline_count_;
  offline_order_.push_back(name);
  while (offline_count_ > kMaxOffline && !offline_order_.empty()) {
    auto old = routes_.find(offline_order_.front());
    offline_order_.pop_front();
    if (old != routes_.end() && !old->second.online) {
      routes_.erase(old);
      --offline_count_;
    }
  }
  if (offline_order_.size() > 2 * kMaxOffline) offline_order_.pop_front();
}

const NameOwner* RouteTable::find(std::string_view name) const {
  auto it = routes_.find(name);
  return it == routes_.end() ? nullptr : &it->second;
}

std::optional<NameOwner> route_owner(const RouteTable& table, const NameRegistry& registry,
                                     std::string_view name, bool behind) {
  if (!behind) {
    if (const NameOwner* known = table.find(name)) return *known;
  }
  return registry.find(name);
}

}  // namespace tg
