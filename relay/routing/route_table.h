/// A worker's own copy of "which worker serves which name", read when a visitor connects.
///
/// Every worker keeps one, so routing a new visitor connection reads only memory its own
/// thread owns. The worker that grants or frees a name updates the shared NameRegistry
/// (the authority, needed synchronously by libssh) and then sends every other worker a route
/// message through the mailboxes; each applies it here. Updates carry the session id, so a
/// late "offline" from an old session never hides a newer session's claim, whatever order
/// messages from different workers arrive in. A publisher is told its name is ready only after
/// the update is queued for every worker, and a worker takes the messages queued for it before
/// routing a visitor by this table, so the first visitor after "ready" never meets the route
/// the new one replaces. A name not found here (an update still in flight, or a name never
/// published) is looked up in the registry as a fallback. The registry keeps its own table of
/// this type, so both forget offline names the same way.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "relay/routing/name_registry.h"

namespace tg {

class RouteTable {
 public:
  void set_online(const std::string& name, const NameOwner& owner);
  /// Marks `name` offline if `session_id` still holds it here.
  void set_offline(const std::string& name, std::uint64_t session_id);
  const NameOwner* find(std::string_view name) const;
  std::size_t size() const { return routes_.size(); }

 private:
  static constexpr std::size_t kMaxOffline = 65536;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>()(text);
    }
  };
  std::unordered_map<std::string, NameOwner, Hash, std::equal_to<>> routes_;
  std::deque<std::string> offline_order_;
  std::size_t offline_count_ = 0;
};

}  // namespace tg
