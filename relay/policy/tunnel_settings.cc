// Policy::tunnel_settings: the non-decision parts of the access rules covering a name, merged.
#include <algorithm>

#include "relay/policy/compiled_policy.h"
#include "relay/policy/policy.h"

namespace tg::policy {
namespace {

void add_unique(std::vector<std::string_view>& to, const std::vector<std::string_view>& from) {
  for (std::string_view item : from) {
    if (std::find(to.begin(), to.end(), item) == to.end()) to.push_back(item);
  }
}

}  // namespace

TunnelSettings Policy::tunnel_settings(std::string_view name) const {
  TunnelSettings merged;
  if (!compiled_) return merged;
  compiled_->access_index.for_each_match(name, [&](std::uint32_t r) {
    const AccessRuleSettings& rule = compiled_->access_settings[r];
    merged.mcp |= rule.mcp;
    merged.reads_jwt |= rule.reads_jwt;
    merged.reads_api_key |= rule.reads_api_key;
    add_unique(merged.origins, rule.origins);
    add_unique(merged.scopes, rule.scopes);
  });
  return merged;
}

}  // namespace tg::policy
