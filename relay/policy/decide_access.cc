// The access decision: one pass over the rules scoped to the tunnel's name.
//
// Deny wins whatever the file order, and the decision names the earliest deciding rule in
// the file, so the same request always blames the same rule. For that the pass keeps the
// lowest-numbered rule seen for each outcome instead of stopping at the first hit; with the
// handful of rules that cover one name this costs nothing, and it needs no buffer to sort.
#include <limits>

#include "relay/policy/compiled_policy.h"
#include "relay/policy/evaluate.h"
#include "relay/policy/policy.h"

namespace tg::policy {

AccessDecision Policy::decide_access(const AccessContext& context) const noexcept {
  AccessDecision decision;
  if (!compiled_) return decision;
  const CompiledPolicy& policy = *compiled_;
  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t covering = kNone, denying = kNone, allowing = kNone;
  int deny_expression = -1, allow_expression = -1;
  bool deny_unevaluable = false;

  policy.access_index.for_each_match(context.tunnel_name, [&](std::uint32_t r) {
    const AccessRule& rule = policy.access_rules[r];
    if (r < covering) covering = r;
    if (r < denying) {
      for (std::uint32_t i = 0; i < rule.deny_count; ++i) {
        Truth t = evaluate(policy.program, policy.access_roots[rule.deny_begin + i], context);
        if (t != Truth::kFalse) {  // true, or cannot tell: fail closed
          denying = r;
          deny_expression = static_cast<int>(i);
          deny_unevaluable = t == Truth::kError;
          break;
        }
      }
    }
    if (denying != kNone || r >= allowing) return;
    for (std::uint32_t i = 0; i < rule.allow_count; ++i) {
      if (evaluate(policy.program, policy.access_roots[rule.allow_begin + i], context) ==
          Truth::kTrue) {
        allowing = r;
        allow_expression = static_cast<int>(i);
        break;
      }
    }
  });

  if (denying != kNone) {
    decision.outcome =
        deny_unevaluable ? AccessOutcome::kDenyUnevaluable : AccessOutcome::kDenyRuleMatched;
    decision.rule_id = policy.access_rule_ids[denying];
    decision.expression = deny_expression;
  } else if (allowing != kNone) {
    decision.allowed = true;
    decision.outcome = AccessOutcome::kAllowed;
    decision.rule_id = policy.access_rule_ids[allowing];
    decision.expression = allow_expression;
  } else if (covering != kNone) {
    decision.outcome = AccessOutcome::kNoAllowMatched;
    decision.rule_id = policy.access_rule_ids[covering];
  }
  return decision;
}

}  // namespace tg::policy
