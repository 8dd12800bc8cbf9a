/// A worker's own copy of "which worker serves which name", read when a visitor connects.
///
/// Every worker keeps one, so routing a new visitor connection reads only memory its own
/// thread owns. The worker that grants or frees a name updates the shared NameRegistry
/// (the authority, needed synchronously by libssh) and then sends every other worker a route
/// message through the mailboxes; each applies it here.
///
/// Updates are applied in claim order, not arrival order. Messages from one worker arrive in
/// the order it sent them, but those of two workers do not: when two sessions of a key claim
/// a name on two workers at nearly the same time, a third worker may hear "online" from the
/// winner before "online" from the session it replaced. So every grant carries a claim
/// generation, counted by the registry under its mutex (one total order of claims), and every
/// update names the claim it is about. The table keeps, per name, the generation of the state
/// it holds and applies:
///   - online(g) only when g is newer than that: a late "online" of a claim already taken
///     over changes nothing;
///   - offline(session, g) only for the claim it holds (same session and generation) or a
///     newer one: a late "offline" of an older session never hides a newer claim.
/// Each table thus ends in the state of the newest claim it has heard of, whatever the order
/// of arrival. (A claim's "offline" comes from the worker that sent its "online", so never
/// before it.)
///
/// A publisher is told its name is ready only after the update is queued for every worker or
/// counted late for it, and a worker takes the messages queued for it before routing a
/// visitor, so the first visitor after "ready" never meets the route the new one replaces:
/// `route_owner` answers from this table only while no update for the worker is late (one
/// that waited in its sender's outbox because the queue was full: Mailboxes::late_routes),
/// and from the registry otherwise. A name not found here (an update still in flight, or a
/// name never published) is looked up in the registry as well. The registry keeps its own
/// table of this type, so both order updates and forget offline names the same way.
/// Forgetting an offline name forgets its generation too; only the oldest of more than
/// 65,536 offline names are forgotten.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "relay/routing/name_registry.h"

namespace tg {

class RouteTable {
 public:
  /// Routes `name` to `owner` unless this table holds a claim as new as `owner.generation`.
  void set_online(const std::string& name, const NameOwner& owner);
  /// Marks `name` offline if it holds claim `generation` of `session_id`, or an older claim.
  void set_offline(const std::string& name, std::uint64_t session_id, std::uint64_t generation);
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

/// Who serves `name` for a visitor routed now by a worker whose table is `table`: the table,
/// when it knows the name and is not `behind` (a route update for this worker is late); else
/// the registry, the authority, at the cost of its mutex (rare: only names the table has not
/// heard of, or while a queue was full). nullopt: no such name (404).
std::optional<NameOwner> route_owner(const RouteTable& table, const NameRegistry& registry,
                                     std::string_view name, bool behind);

}  // namespace tg
