/// What a loaded policy is made of: rules, their compiled expressions, the name indexes.
///
/// Internal to relay/policy. Built once by the loader (policy_loader.cc), then only read,
/// from any number of threads, by the decisions (decide_access.cc, decide_expose.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/policy/actor_class.h"
#include "relay/policy/identity.h"
#include "relay/policy/name_index.h"
#include "relay/policy/program.h"
#include "relay/policy/string_pool.h"

namespace tg::policy {

/// An expression as written (for explanations) and compiled (for evaluation).
struct CompiledExpression {
  std::uint32_t root = 0;  // node in CompiledPolicy::program
  std::string_view text;   // its text, interned; kept for [[expose]] rules, whose refusals
                           // quote it
};

struct ExposeRule {
  std::string_view id;    // "expose[N]" unless the file names it
  bool has_when = false;  // no `when`: always
  CompiledExpression when;
  ActorClass default_class = ActorClass::kHuman;  // granted when the publisher asks for none
  ActorClassSet requestable = 0;                  // classes a publisher may ask for
};

// 16 bytes of what the hot path reads; the id is apart (access_rule_ids), read once per
// decision.
struct AccessRule {
  // Ranges of CompiledPolicy::access_roots.
  std::uint32_t deny_begin = 0;
  std::uint32_t deny_count = 0;
  std::uint32_t allow_begin = 0;
  std::uint32_t allow_count = 0;
};

/// What an [[access]] rule says beyond allow and deny, read once per tunnel (tunnel_settings).
struct AccessRuleSettings {
  bool mcp = false;                       // `mcp = true`
  bool reads_jwt = false;                 // an allow expression reads jwt.*
  bool reads_api_key = false;             // an allow expression reads api_key.name
  std::vector<std::string_view> origins;  // interned
  std::vector<std::string_view> scopes;   // interned
};

struct CompiledPolicy {
  std::string source;
  StringPool pool;
  Program program;

  std::vector<ExposeRule> expose_rules;
  NameIndex expose_index;  // names -> index in expose_rules

  std::vector<AccessRule> access_rules;
  std::vector<std::string_view> access_rule_ids;    // parallel to access_rules
  std::vector<std::uint32_t> access_roots;          // root nodes of deny and allow expressions
  NameIndex access_index;                           // names -> index in access_rules
  std::vector<AccessRuleSettings> access_settings;  // parallel to access_rules

  Identity identity;
};

}  // namespace tg::policy
