// Lowering a checked syntax tree into Program nodes, children first.
#include "relay/policy/compile.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "relay/policy/check.h"
#include "relay/policy/parser.h"

namespace tg::policy {
namespace {

class Lowerer {
 public:
  Lowerer(const Ast& ast, const std::vector<CheckedNode>& checked, Program& program,
          StringPool& pool)
      : ast_(ast), checked_(checked), program_(program), pool_(pool) {}

  std::uint32_t lower(std::uint32_t index) {
    const AstNode& n = ast_.nodes[index];
    switch (n.kind) {
      case AstKind::kBool:
        return emit(n, n.boolean ? Op::kTrue : Op::kFalse);
      case AstKind::kInt:
        program_.ints.push_back(n.integer);
        return emit(n, Op::kInt, Attr::kCount, 0, last(program_.ints));
      case AstKind::kString:
        if (type(index) == Type::kIp) {
          program_.ips.push_back(*IpAddress::parse(n.text));
          return emit(n, Op::kIp, Attr::kCount, 0, last(program_.ips));
        }
        return emit(n, Op::kString, Attr::kCount, 0, string_constant(n.text));
      case AstKind::kAttribute:
        return attribute(n, checked_[index].attr);
      case AstKind::kIndex: {
        Attr attr = checked_[n.children[0]].attr;
        std::string key = ast_.nodes[n.children[1]].text;
        if (attr == Attr::kHttpHeader || attr == Attr::kMcpParam) {  // case-insensitive names
          std::transform(key.begin(), key.end(), key.begin(), [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
          });
        }
        return emit(n, Op::kStringKeyed, attr, 0, string_constant(key));
      }
      case AstKind::kNot:
        return emit(n, Op::kNot, Attr::kCount, lower(n.children[0]));
      case AstKind::kAnd:
      case AstKind::kOr: {
        std::uint32_t left = lower(n.children[0]);
        std::uint32_t right = lower(n.children[1]);
        return emit(n, n.kind == AstKind::kAnd ? Op::kAnd : Op::kOr, Attr::kCount, left, right);
      }
      case AstKind::kCompare:
        return compare(index);
      case AstKind::kMethod:
        return method(n);
      case AstKind::kCall:
        // cidr() is lowered by the `in` that uses it; has() is the other function.
        return emit(n, Op::kHas, Attr::kCount, lower(n.children[0]));
      case AstKind::kList:
        break;
    }
    return emit(n, Op::kFalse);  // lists appear only on the right of `in`, lowered there
  }

 private:
  Type type(std::uint32_t index) const { return checked_[index].type; }

  template <typename T>
  static std::uint32_t last(const std::vector<T>& pool) {
    return static_cast<std::uint32_t>(pool.size() - 1);
  }

  std::uint32_t string_constant(std::string_view text) {
    program_.strings.push_back(pool_.intern(text));
    return last(program_.strings);
  }

  std::uint32_t emit(const AstNode& n, Op op, Attr attr = Attr::kCount, std::uint32_t a = 0,
                     std::uint32_t b = 0, std::uint32_t c = 0) {
    program_.nodes.push_back(Node{op, attr, a, b, c});
    program_.spans.push_back(Span{n.begin, n.end});
    return last(program_.nodes);
  }

  std::uint32_t attribute(const AstNode& n, Attr attr) {
    switch (attribute_info(attr).type) {
      case Type::kInt:
        return emit(n, Op::kIntAttr, attr);
      case Type::kIp:
        return emit(n, Op::kIpAttr, attr);
      case Type::kStringList:
        return emit(n, Op::kListAttr, attr);
      default:
        return emit(n, Op::kStringAttr, attr);
    }
  }

  std::uint32_t compare(std::uint32_t index) {
    const AstNode& n = ast_.nodes[index];
    std::uint32_t left_index = n.children[0], right_index = n.children[1];
    const AstNode& right_node = ast_.nodes[right_index];
    Type lt = type(left_index), rt = type(right_index);
    if (std::optional<std::uint32_t> fused = fuse_compare(n)) return *fused;
    if (n.op == CompareOp::kIn) {
      std::uint32_t left = lower(left_index);
      if (rt == Type::kCidr) {
        program_.cidrs.push_back(*Cidr::parse(ast_.nodes[right_node.children[0]].text));
        return emit(n, Op::kInCidr, Attr::kCount, left, last(program_.cidrs));
      }
      if (right_node.kind != AstKind::kList) {
        return emit(n, Op::kInList, Attr::kCount, left, lower(right_index));
      }
      if (rt == Type::kIntList) {
        std::vector<std::int64_t> items;
        for (std::uint32_t element : right_node.children) {
          items.push_back(ast_.nodes[element].integer);
        }
        std::sort(items.begin(), items.end());
        items.erase(std::unique(items.begin(), items.end()), items.end());
        auto begin = static_cast<std::uint32_t>(program_.ints.size());
        program_.ints.insert(program_.ints.end(), items.begin(), items.end());
        return emit(n, Op::kInInts, Attr::kCount, left, begin,
                    static_cast<std::uint32_t>(items.size()));
      }
      auto [begin, count] = sorted_strings(right_node);
      return emit(n, Op::kInStrings, Attr::kCount, left, begin, count);
    }
    std::uint32_t left = lower(left_index);
    std::uint32_t right = lower(right_index);
    bool equal = n.op == CompareOp::kEq;
    Op op = Op::kFalse;
    if (lt == Type::kIp || rt == Type::kIp) {
      op = equal ? Op::kEqIp : Op::kNeIp;
    } else if (lt == Type::kBool) {
      op = equal ? Op::kEqBool : Op::kNeBool;
    } else if (lt == Type::kString) {
      op = equal ? Op::kEqString : Op::kNeString;
    } else {
      switch (n.op) {
        case CompareOp::kEq:
          op = Op::kEqInt;
          break;
        case CompareOp::kNe:
          op = Op::kNeInt;
          break;
        case CompareOp::kLt:
          op = Op::kLtInt;
          break;
        case CompareOp::kLe:
          op = Op::kLeInt;
          break;
        case CompareOp::kGt:
          op = Op::kGtInt;
          break;
        case CompareOp::kGe:
          op = Op::kGeInt;
          break;
        case CompareOp::kIn:
          break;
      }
    }
    return emit(n, op, Attr::kCount, left, right);
  }

  // A plain (unkeyed) attribute read, or nullopt.
  std::optional<Attr> plain_attribute(std::uint32_t index) const {
    if (ast_.nodes[index].kind != AstKind::kAttribute) return std::nullopt;
    return checked_[index].attr;
  }

  // `attr == "x"`, `"x" != attr`, `attr in ["a", "b"]`, `ip in cidr(…)` as single nodes.
  std::optional<std::uint32_t> fuse_compare(const AstNode& n) {
    std::uint32_t left = n.children[0], right = n.children[1];
    const AstNode& right_node = ast_.nodes[right];
    if (n.op == CompareOp::kEq || n.op == CompareOp::kNe) {
      Op op = n.op == CompareOp::kEq ? Op::kAttrEq : Op::kAttrNe;
      for (auto [attr_side, literal_side] : {std::pair{left, right}, std::pair{right, left}}) {
        std::optional<Attr> attr = plain_attribute(attr_side);
        if (attr && type(attr_side) == Type::kString &&
            ast_.nodes[literal_side].kind == AstKind::kString) {
          return emit(n, op, *attr, 0, string_constant(ast_.nodes[literal_side].text));
        }
      }
      return std::nullopt;
    }
    if (n.op != CompareOp::kIn) return std::nullopt;
    std::optional<Attr> attr = plain_attribute(left);
    if (!attr) return std::nullopt;
    if (type(right) == Type::kCidr) {
      program_.cidrs.push_back(*Cidr::parse(ast_.nodes[right_node.children[0]].text));
      return emit(n, Op::kIpAttrInCidr, *attr, 0, last(program_.cidrs));
    }
    if (type(left) == Type::kString && right_node.kind == AstKind::kList) {
      auto [begin, count] = sorted_strings(right_node);
      return emit(n, Op::kAttrInStrings, *attr, 0, begin, count);
    }
    return std::nullopt;
  }

  // The list literal's strings, sorted and unique, appended to the pool: (first, count).
  std::pair<std::uint32_t, std::uint32_t> sorted_strings(const AstNode& list) {
    std::vector<std::string_view> items;
    for (std::uint32_t element : list.children) {
      items.push_back(pool_.intern(ast_.nodes[element].text));
    }
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    auto begin = static_cast<std::uint32_t>(program_.strings.size());
    program_.strings.insert(program_.strings.end(), items.begin(), items.end());
    return {begin, static_cast<std::uint32_t>(items.size())};
  }

  std::uint32_t method(const AstNode& n) {
    std::uint32_t receiver_index = n.children[0];
    if (n.text == "contains" && type(receiver_index) == Type::kStringList &&
        ast_.nodes[n.children[1]].kind == AstKind::kString) {
      if (std::optional<Attr> attr = plain_attribute(receiver_index)) {
        return emit(n, Op::kListAttrContains, *attr, 0,
                    string_constant(ast_.nodes[n.children[1]].text));
      }
    }
    if (n.text == "matches") {
      std::uint32_t receiver = lower(receiver_index);
      program_.globs.push_back(*Glob::compile(ast_.nodes[n.children[1]].text));
      return emit(n, Op::kMatches, Attr::kCount, receiver, last(program_.globs));
    }
    std::uint32_t receiver = lower(receiver_index);
    std::uint32_t argument = lower(n.children[1]);
    if (n.text == "contains") {
      if (type(receiver_index) == Type::kStringList) {
        return emit(n, Op::kInList, Attr::kCount, argument, receiver);
      }
      return emit(n, Op::kContains, Attr::kCount, receiver, argument);
    }
    return emit(n, n.text == "startsWith" ? Op::kStartsWith : Op::kEndsWith, Attr::kCount, receiver,
                argument);
  }

  const Ast& ast_;
  const std::vector<CheckedNode>& checked_;
  Program& program_;
  StringPool& pool_;
};

}  // namespace

CompileResult compile_expression(std::string_view text, Phase phase, Program& program,
                                 StringPool& pool) {
  CompileResult result;
  ParseResult parsed = parse_expression(text);
  if (parsed.error) {
    result.error = std::move(parsed.error);
    return result;
  }
  CheckResult checked = check_expression(parsed.ast, phase);
  if (checked.error) {
    result.error = std::move(checked.error);
    return result;
  }
  result.root = Lowerer(parsed.ast, checked.nodes, program, pool).lower(parsed.ast.root);
  return result;
}

}  // namespace tg::policy
