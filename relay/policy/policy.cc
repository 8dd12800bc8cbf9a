// Policy's ownership plumbing; the decisions live in decide_access.cc and decide_expose.cc,
// loading in policy_loader.cc.
#include "relay/policy/policy.h"

#include "relay/policy/compiled_policy.h"

namespace tg::policy {
namespace {

const Identity kNoIdentity;
const std::string kNoSource;

}  // namespace

Policy::Policy() = default;
Policy::~Policy() = default;
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::Policy(std::unique_ptr<const CompiledPolicy> compiled) : compiled_(std::move(compiled)) {}

const Identity& Policy::identity() const {
  return compiled_ ? compiled_->identity : kNoIdentity;
}

const std::string& Policy::source() const {
  return compiled_ ? compiled_->source : kNoSource;
}

std::size_t Policy::expose_rule_count() const {
  return compiled_ ? compiled_->expose_rules.size() : 0;
}

std::size_t Policy::access_rule_count() const {
  return compiled_ ? compiled_->access_rules.size() : 0;
}

std::string_view to_string(AccessOutcome outcome) {
  switch (outcome) {
    case AccessOutcome::kAllowed:
      return "allowed";
    case AccessOutcome::kDenyRuleMatched:
      return "deny rule matched";
    case AccessOutcome::kDenyUnevaluable:
      return "deny rule could not be evaluated";
    case AccessOutcome::kNoAllowMatched:
      return "no allow rule matched";
    case AccessOutcome::kNoRuleCovers:
      return "no access rule covers this name";
  }
  return "?";
}

}  // namespace tg::policy
