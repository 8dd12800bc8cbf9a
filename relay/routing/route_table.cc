#include "relay/routing/route_table.h"

namespace tg {

void RouteTable::set_online(const std::string& name, const NameOwner& owner) {
  auto [it, inserted] = routes_.try_emplace(name);
  if (!inserted && !it->second.online) --offline_count_;
  it->second = owner;
  it->second.online = true;
}

void RouteTable::set_offline(const std::string& name, std::uint64_t session_id) {
  auto it = routes_.find(name);
  if (it == routes_.end() || it->second.session_id != session_id || !it->second.online) return;
  it->second.online = false;
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

}  // namespace tg
