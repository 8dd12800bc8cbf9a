/// The compiled form of expressions: a flat array of nodes over constant pools.
///
/// Every expression of a policy is compiled into one shared `Program`; an expression is the
/// index of its root node. A node is 16 bytes: an operation, the attribute it reads, and up
/// to three operands (child node indices, or indices into the constant pools). Children
/// precede their parents. Strings are views into the policy's StringPool, globs and CIDR
/// blocks are parsed, and `in [...]` lists are sorted for binary search, all at load; so
/// evaluation (evaluate.h) only reads, never parses or allocates.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "relay/policy/attributes.h"
#include "relay/policy/glob.h"
#include "relay/policy/ip_address.h"

namespace tg::policy {

enum class Op : std::uint8_t {
  // Conditions (bool).
  kTrue,
  kFalse,
  kNot,       // !a
  kAnd,       // a && b
  kOr,        // a || b
  kEqString,  // a == b (string operands)
  kNeString,  // a != b
  kEqInt,     // a == b (int operands), and so on
  kNeInt,
  kLtInt,
  kLeInt,
  kGtInt,
  kGeInt,
  kEqBool,  // a == b (conditions)
  kNeBool,
  kEqIp,  // a == b (address operands)
  kNeIp,
  kInStrings,   // string a in strings[b, b + c), sorted
  kInInts,      // int a in ints[b, b + c)
  kInList,      // string a in list b (also list.contains(a): a is the element)
  kInCidr,      // address a in cidrs[b]
  kStartsWith,  // a.startsWith(b)
  kEndsWith,    // a.endsWith(b)
  kContains,    // a.contains(b), strings
  kMatches,     // a.matches(globs[b])
  kHas,         // has(a)
  // Fused forms of the commonest leaves: one node, no operand nodes to visit.
  kAttrEq,            // attr == strings[b]
  kAttrNe,            // attr != strings[b]
  kAttrInStrings,     // attr in strings[b, b + c), sorted
  kListAttrContains,  // list attr contains strings[b]
  kIpAttrInCidr,      // ip attr in cidrs[b]
  // Operands.
  kString,       // strings[b]
  kStringAttr,   // attr, a string
  kStringKeyed,  // attr[strings[b]]
  kInt,          // ints[b]
  kIntAttr,      // attr, an int
  kIp,           // ips[b]
  kIpAttr,       // attr, an address
  kListAttr,     // attr, a list of strings
};

struct Node {
  Op op = Op::kFalse;
  Attr attr = Attr::kCount;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  std::uint32_t c = 0;
};
static_assert(sizeof(Node) == 16);

/// Where a node's text lies in its expression, for explaining a refusal.
struct Span {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

struct Program {
  std::vector<Node> nodes;
  std::vector<Span> spans;  // parallel to nodes
  std::vector<std::string_view> strings;
  std::vector<std::int64_t> ints;
  std::vector<IpAddress> ips;
  std::vector<Cidr> cidrs;
  std::vector<Glob> globs;
};

}  // namespace tg::policy
