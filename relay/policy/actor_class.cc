// Names of the actor classes, one table for printing and parsing.
#include "relay/policy/actor_class.h"

#include <array>

namespace tg::policy {
namespace {

constexpr std::array<std::string_view, 4> kNames = {"", "human", "workload", "agent"};

}  // namespace

std::string_view to_string(ActorClass actor_class) {
  auto index = static_cast<std::size_t>(actor_class);
  return index < kNames.size() ? kNames[index] : std::string_view();
}

std::optional<ActorClass> parse_actor_class(std::string_view text) {
  for (std::size_t i = 1; i < kNames.size(); ++i) {
    if (text == kNames[i]) return static_cast<ActorClass>(i);
  }
  return std::nullopt;
}

}  // namespace tg::policy
