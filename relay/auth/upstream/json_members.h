/// Internal to relay/auth/upstream: reads the few top-level members a provider's JSON answer
/// (discovery document, token response) is wanted for, strictly.
///
/// The document must be one JSON object, at most kMaxProviderJsonBytes, with no member named
/// twice; wanted members must have the wanted type (a string, or an array of strings); every
/// other member is walked (well formed, bounded depth) and ignored. Pure; errors are short
/// phrases the caller prefixes ("discovery: …").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::auth::upstream {

inline constexpr std::size_t kMaxProviderJsonBytes = 256 * 1024;
inline constexpr std::size_t kMaxArrayItems = 256;

struct WantedMember {
  std::string_view name;
  std::string* text = nullptr;               // a string member
  std::vector<std::string>* list = nullptr;  // an array of strings
  bool* present = nullptr;                   // set when the member is there (may be null)
};

/// Fills the members of `wanted` that `json` has; errors name the member at fault.
Status read_json_members(std::string_view json, std::vector<WantedMember> wanted);

}  // namespace tg::auth::upstream
