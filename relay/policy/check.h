/// The type checker: resolves attribute paths and gives every node a type, or says why not.
///
/// Errors name the problem in the policy author's terms and point at the operator, method or
/// value at fault: an unknown attribute (with a close spelling), an attribute of the other
/// decision, a type mismatch, a wrong number of arguments, a bad glob, a bad CIDR, a literal
/// that can never match (an HTTP method in lower case, a class that does not exist, hour 24).
/// The root must be a condition (bool).
#pragma once

#include <optional>
#include <vector>

#include "relay/policy/ast.h"
#include "relay/policy/attributes.h"
#include "relay/policy/expr_error.h"

namespace tg::policy {

struct CheckedNode {
  Type type = Type::kBool;
  Attr attr = Attr::kCount;  // kAttribute nodes: the attribute
};

struct CheckResult {
  std::vector<CheckedNode> nodes;  // parallel to Ast::nodes
  std::optional<ExprError> error;
};

/// `phase` is the decision the expression belongs to (kExposePhase or kAccessPhase).
CheckResult check_expression(const Ast& ast, Phase phase);

}  // namespace tg::policy
