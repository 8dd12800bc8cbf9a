/// The syntax tree of one expression, as the parser builds it and the checker reads it.
///
/// Nodes live in one vector and refer to their children by index; each keeps its byte range
/// in the expression text (for explanations) and the offset to blame in errors (the operator
/// of a comparison, the name of a method). Attribute paths stay text here: resolving
/// `jwt.grups` to an attribute, or failing to, is the checker's job.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tg::policy {

enum class AstKind : std::uint8_t {
  kBool,       // true, false
  kInt,        // 42
  kString,     // "text"
  kList,       // [a, b, …]: children are the elements
  kAttribute,  // ssh.key: text is the dotted path
  kIndex,      // http.header["x"]: children {attribute, key}
  kNot,        // !a
  kAnd,        // a && b
  kOr,         // a || b
  kCompare,    // a == b, a != b, a < b, …, a in b: op says which
  kMethod,     // a.startsWith(b): text is the method, children {receiver, arguments…}
  kCall,       // cidr("…"): text is the function, children are the arguments
};

enum class CompareOp : std::uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn };

std::string_view to_string(CompareOp op);

struct AstNode {
  AstKind kind = AstKind::kBool;
  CompareOp op = CompareOp::kEq;
  bool boolean = false;
  std::int64_t integer = 0;
  std::uint32_t begin = 0;  // [begin, end): the node's text in the expression
  std::uint32_t end = 0;
  std::uint32_t at = 0;  // where errors about this node point
  std::string text;
  std::vector<std::uint32_t> children;
};

struct Ast {
  std::vector<AstNode> nodes;
  std::uint32_t root = 0;
};

}  // namespace tg::policy
