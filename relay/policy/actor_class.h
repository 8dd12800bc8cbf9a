/// Actor classes: every tunnel is published as a `human`, `workload` or `agent` service.
///
/// The class is granted by the expose rule that admits the tunnel (within what that rule lets
/// the publisher request with `class=…`), shown in logs, and readable by access rules as
/// `tunnel.class`.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tg::policy {

enum class ActorClass : std::uint8_t {
  kNone = 0,  // not known / not requested
  kHuman = 1,
  kWorkload = 2,
  kAgent = 3,
};

/// "human", "workload", "agent"; "" for kNone.
std::string_view to_string(ActorClass actor_class);

/// The class named `text` (exact, lower case); nullopt for anything else.
std::optional<ActorClass> parse_actor_class(std::string_view text);

/// A set of classes as a bit mask, bit (1 << class).
using ActorClassSet = std::uint8_t;
inline constexpr ActorClassSet class_bit(ActorClass actor_class) {
  return static_cast<ActorClassSet>(1u << static_cast<unsigned>(actor_class));
}

}  // namespace tg::policy
