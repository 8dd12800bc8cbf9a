/// Recursive-descent parser for the expression language (CEL's grammar, reduced).
///
///   or       := and ('||' and)*
///   and      := relation ('&&' relation)*
///   relation := unary [('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in') unary]
///   unary    := '!' unary | postfix
///   postfix  := primary ('.' name '(' args ')' | '[' or ']')*
///   primary  := int | string | 'true' | 'false' | '(' or ')' | '[' list ']'
///             | name ('.' name)* | name '(' args ')'
///
/// As in CEL, `!` binds tighter than comparisons (`!a == b` is `(!a) == b`, which the
/// checker refuses for a string `a`), and `&&` tighter than `||`. Comparisons do not chain.
/// Bracketing is limited to kMaxDepth levels and the whole tree to kMaxTreeDepth, so no
/// policy can exhaust the stack at load or at evaluation.
#pragma once

#include <optional>
#include <string_view>

#include "relay/policy/ast.h"
#include "relay/policy/expr_error.h"

namespace tg::policy {

inline constexpr int kMaxDepth = 64;
inline constexpr int kMaxTreeDepth = 256;
inline constexpr std::size_t kMaxExpressionBytes = 16 * 1024;

struct ParseResult {
  Ast ast;
  std::optional<ExprError> error;
};

ParseResult parse_expression(std::string_view text);

}  // namespace tg::policy
