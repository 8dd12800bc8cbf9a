// Type checking, node by node from the root, stopping at the first error.
#include "relay/policy/check.h"

#include <algorithm>
#include <utility>

#include "relay/policy/actor_class.h"
#include "relay/policy/glob.h"
#include "relay/policy/ip_address.h"

namespace tg::policy {
namespace {

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// "a string", "an int": types as a sentence reads them.
std::string a(Type type) {
  std::string_view name = to_string(type);
  bool vowel = name[0] == 'i' || name[0] == 'a';
  return (vowel ? "an " : "a ") + std::string(name);
}

class Checker {
 public:
  Checker(const Ast& ast, Phase phase) : ast_(ast), phase_(phase) {}

  CheckResult run() {
    CheckResult result;
    result.nodes.resize(ast_.nodes.size());
    nodes_ = &result.nodes;
    if (check(ast_.root) && type(ast_.root) != Type::kBool) {
      fail(node(ast_.root).begin,
           "the expression must be a condition (bool), but it is " + a(type(ast_.root)));
    }
    result.error = std::move(error_);
    return result;
  }

 private:
  const AstNode& node(std::uint32_t index) const { return ast_.nodes[index]; }
  Type type(std::uint32_t index) const { return (*nodes_)[index].type; }
  Type& type_of(std::uint32_t index) { return (*nodes_)[index].type; }
  // The attribute a node reads directly (kAttribute, or the attribute of a kIndex).
  std::optional<Attr> attribute_of(std::uint32_t index) const {
    const AstNode& n = node(index);
    if (n.kind == AstKind::kAttribute) return (*nodes_)[index].attr;
    if (n.kind == AstKind::kIndex) return (*nodes_)[n.children[0]].attr;
    return std::nullopt;
  }

  bool fail(std::uint32_t offset, std::string message) {
    if (!error_) error_ = ExprError{offset, std::move(message)};
    return false;
  }

  bool check(std::uint32_t index) {
    const AstNode& n = node(index);
    switch (n.kind) {
      case AstKind::kBool:
        type_of(index) = Type::kBool;
        return true;
      case AstKind::kInt:
        type_of(index) = Type::kInt;
        return true;
      case AstKind::kString:
        type_of(index) = Type::kString;
        return true;
      case AstKind::kList:
        return check_list(index);
      case AstKind::kAttribute:
        return check_attribute(index, false);
      case AstKind::kIndex:
        return check_index(index);
      case AstKind::kNot:
        return check_not(index);
      case AstKind::kAnd:
      case AstKind::kOr:
        return check_logic(index);
      case AstKind::kCompare:
        return check_compare(index);
      case AstKind::kMethod:
        return check_method(index);
      case AstKind::kCall:
        return check_call(index);
    }
    return fail(n.at, "unknown expression");
  }

  bool check_list(std::uint32_t index) {
    const AstNode& n = node(index);
    type_of(index) = Type::kStringList;
    for (std::size_t i = 0; i < n.children.size(); ++i) {
      const AstNode& element = node(n.children[i]);
      if (element.kind != AstKind::kString && element.kind != AstKind::kInt) {
        return fail(element.begin, "list elements must be literal strings or numbers");
      }
      if (!check(n.children[i])) return false;
      Type list_type = element.kind == AstKind::kInt ? Type::kIntList : Type::kStringList;
      if (i > 0 && list_type != type(index)) {
        return fail(element.begin, "a list holds strings or numbers, not both");
      }
      type_of(index) = list_type;
    }
    return true;
  }

  bool check_attribute(std::uint32_t index, bool indexed) {
    const AstNode& n = node(index);
    std::optional<Attr> attr = find_attribute(n.text);
    if (!attr) return fail(n.begin, "unknown attribute " + n.text + suggest_attribute(n.text));
    const AttributeInfo& info = attribute_info(*attr);
    if ((info.phases & phase_) == 0) {
      return fail(n.begin, n.text + " is known only in " +
                               (info.phases == kExposePhase ? "[[expose]]" : "[[access]]") +
                               " rules");
    }
    if (info.keyed && !indexed) {
      return fail(n.begin, n.text + " needs a name in brackets, such as " + n.text +
                               (*attr == Attr::kHttpHeader ? "[\"x-request-id\"]"
                                : *attr == Attr::kMcpParam ? "[\"region\"]"
                                                           : "[\"tenant\"]"));
    }
    (*nodes_)[index].attr = *attr;
    type_of(index) = info.type;
    return true;
  }

  bool check_index(std::uint32_t index) {
    const AstNode& n = node(index);
    const AstNode& base = node(n.children[0]);
    const AstNode& key = node(n.children[1]);
    if (base.kind != AstKind::kAttribute) {
      return fail(n.at, "only http.header, jwt.claims and mcp.param can be indexed with [\"…\"]");
    }
    std::optional<Attr> attr = find_attribute(base.text);
    if (attr && !attribute_info(*attr).keyed) {
      return fail(
          n.at, base.text +
                    " cannot be indexed; only http.header, jwt.claims and mcp.param take [\"…\"]");
    }
    if (!check_attribute(n.children[0], true)) return false;
    if (key.kind != AstKind::kString) {
      return fail(key.begin, "the name in " + base.text + "[…] must be a literal string");
    }
    if (key.text.empty()) return fail(key.begin, "the name in " + base.text + "[…] is empty");
    if (*attr == Attr::kHttpHeader || *attr == Attr::kMcpParam) {
      for (char c : key.text) {
        if (!is_token_char(c)) {
          return fail(key.begin, quoted(key.text) + " is not a header name");
        }
      }
    }
    type_of(n.children[1]) = Type::kString;
    type_of(index) = Type::kString;
    return true;
  }

  bool check_not(std::uint32_t index) {
    const AstNode& n = node(index);
    if (!check(n.children[0])) return false;
    if (type(n.children[0]) != Type::kBool) {
      return fail(n.at, "! applies to a condition (bool), not to " + a(type(n.children[0])) +
                            "; to negate a comparison, write !(a == b) or a != b");
    }
    type_of(index) = Type::kBool;
    return true;
  }

  bool check_logic(std::uint32_t index) {
    const AstNode& n = node(index);
    std::string_view op = n.kind == AstKind::kAnd ? "&&" : "||";
    for (std::size_t side = 0; side < 2; ++side) {
      std::uint32_t child = n.children[side];
      if (!check(child)) return false;
      if (type(child) != Type::kBool) {
        return fail(n.at, std::string(op) + " joins conditions (bool), but its " +
                              (side == 0 ? "left" : "right") + " side is " + a(type(child)));
      }
    }
    type_of(index) = Type::kBool;
    return true;
  }

  // Literals that can never equal what the attribute holds are mistakes worth a load error.
  bool check_literal_for(Attr attr, std::uint32_t literal) {
    const AstNode& l = node(literal);
    if (l.kind == AstKind::kList) {
      for (std::uint32_t element : l.children) {
        if (!check_literal_for(attr, element)) return false;
      }
      return true;
    }
    if (attr == Attr::kTunnelClass && l.kind == AstKind::kString && !parse_actor_class(l.text)) {
      return fail(l.begin, quoted(l.text) + " is not a class (human, workload, agent)");
    }
    if (attr == Attr::kHttpMethod && l.kind == AstKind::kString) {
      for (char c : l.text) {
        if (c >= 'a' && c <= 'z') {
          return fail(l.begin, "HTTP methods are case-sensitive and sent in upper case: " +
                                   quoted(l.text) + " never matches");
        }
      }
    }
    if ((attr == Attr::kTimeHour || attr == Attr::kTimeWeekday) && l.kind == AstKind::kInt) {
      std::int64_t max = attr == Attr::kTimeHour ? 23 : 6;
      if (l.integer > max) {
        return fail(l.begin, std::string(attribute_info(attr).name) + " runs from 0 to " +
                                 std::to_string(max) +
                                 (attr == Attr::kTimeWeekday ? " (0 is Sunday)" : " (UTC)"));
      }
    }
    return true;
  }

  bool check_compare(std::uint32_t index) {
    const AstNode& n = node(index);
    std::uint32_t left = n.children[0], right = n.children[1];
    if (!check(left) || !check(right)) return false;
    Type lt = type(left), rt = type(right);
    type_of(index) = Type::kBool;
    for (auto [attr_side, literal_side] : {std::pair{left, right}, std::pair{right, left}}) {
      if (auto attr = attribute_of(attr_side)) {
        if (!check_literal_for(*attr, literal_side)) return false;
      }
    }
    std::string op(to_string(n.op));
    switch (n.op) {
      case CompareOp::kEq:
      case CompareOp::kNe:
        if (lt == Type::kIp && rt == Type::kString) return ip_literal(right);
        if (lt == Type::kString && rt == Type::kIp) return ip_literal(left);
        if (lt == Type::kStringList || lt == Type::kIntList || rt == Type::kStringList ||
            rt == Type::kIntList) {
          return fail(n.at, op + " cannot compare lists; use in, or contains() on a list");
        }
        if (lt == Type::kCidr || rt == Type::kCidr) {
          return fail(n.at, "test an address against cidr(…) with in, not " + op);
        }
        if (lt != rt) return fail(n.at, op + " cannot compare " + a(lt) + " with " + a(rt));
        return true;
      case CompareOp::kLt:
      case CompareOp::kLe:
      case CompareOp::kGt:
      case CompareOp::kGe:
        if (lt != Type::kInt || rt != Type::kInt) {
          return fail(n.at,
                      op + " compares numbers (int), not " + (lt != Type::kInt ? a(lt) : a(rt)));
        }
        return true;
      case CompareOp::kIn:
        if ((lt == Type::kString && rt == Type::kStringList) ||
            (lt == Type::kInt && rt == Type::kIntList) || (lt == Type::kIp && rt == Type::kCidr)) {
          return true;
        }
        if (lt == Type::kString && rt == Type::kString) {
          return fail(n.at,
                      "in tests membership of a list; to search inside a string, use "
                      "contains()");
        }
        if (lt == Type::kIp) {
          return fail(n.at,
                      "to test an address, write " + std::string("… in cidr(\"10.0.0.0/8\")"));
        }
        if (rt == Type::kStringList && lt == Type::kStringList) {
          return fail(n.at, "in tests one value against a list, not a list against a list");
        }
        return fail(n.at, "in cannot test " + a(lt) + " against " + a(rt));
    }
    return true;
  }

  // A string compared with an address must be a literal address.
  bool ip_literal(std::uint32_t index) {
    const AstNode& n = node(index);
    if (n.kind != AstKind::kString) {
      return fail(n.begin, "an address compares only with a literal address such as \"10.0.0.1\"");
    }
    if (!IpAddress::parse(n.text)) return fail(n.begin, quoted(n.text) + " is not an IP address");
    type_of(index) = Type::kIp;
    return true;
  }

  bool arity(std::uint32_t index, std::size_t wanted) {
    const AstNode& n = node(index);
    std::size_t given = n.children.size() - (n.kind == AstKind::kMethod ? 1 : 0);
    if (given == wanted) return true;
    return fail(n.at, n.text + "() takes " + std::to_string(wanted) + " argument" +
                          (wanted == 1 ? "" : "s") + ", not " + std::to_string(given));
  }

  bool check_method(std::uint32_t index) {
    const AstNode& n = node(index);
    static constexpr std::string_view kMethods[] = {"startsWith", "endsWith", "contains",
                                                    "matches"};
    bool known = false;
    for (std::string_view m : kMethods) known = known || m == n.text;
    if (!known) {
      std::string hint;
      for (std::string_view m : kMethods) {
        if (m.size() == n.text.size() &&
            std::equal(m.begin(), m.end(), n.text.begin(),
                       [](char x, char y) { return (x | 0x20) == (y | 0x20); })) {
          hint = "; did you mean " + std::string(m) + "?";
        }
      }
      return fail(n.at, "unknown method " + n.text + "()" +
                            (hint.empty() ? "; methods are startsWith, endsWith, contains, "
                                            "matches"
                                          : hint));
    }
    if (!arity(index, 1) || !check(n.children[0]) || !check(n.children[1])) return false;
    Type receiver = type(n.children[0]);
    Type argument = type(n.children[1]);
    bool list_ok = n.text == "contains" && receiver == Type::kStringList;
    if (receiver != Type::kString && !list_ok) {
      return fail(n.at, n.text + "() applies to a string" +
                            (n.text == "contains" ? " or a list of strings" : "") + ", not to " +
                            a(receiver));
    }
    if (argument != Type::kString) {
      return fail(node(n.children[1]).begin,
                  "the argument of " + n.text + "() must be a string, not " + a(argument));
    }
    type_of(index) = Type::kBool;
    if (n.text == "matches") return glob_literal(n.children[1]);
    return true;
  }

  bool glob_literal(std::uint32_t index) {
    const AstNode& n = node(index);
    if (n.kind != AstKind::kString) {
      return fail(n.begin, "matches() takes a literal glob, compiled at load");
    }
    if (n.text.starts_with('^') || n.text.ends_with('$')) {
      return fail(n.begin, "matches() takes a glob (*, ?, [a-z]), not a regular expression: " +
                               quoted(n.text));
    }
    auto glob = Glob::compile(n.text);
    if (!glob) return fail(n.begin, glob.error().message);
    return true;
  }

  bool check_call(std::uint32_t index) {
    const AstNode& n = node(index);
    if (n.text == "cidr") {
      if (!arity(index, 1)) return false;
      const AstNode& argument = node(n.children[0]);
      if (argument.kind != AstKind::kString) {
        return fail(argument.begin, "cidr() takes a literal string such as \"10.0.0.0/8\"");
      }
      auto cidr = Cidr::parse(argument.text);
      if (!cidr) return fail(argument.begin, "bad CIDR: " + cidr.error().message);
      type_of(n.children[0]) = Type::kString;
      type_of(index) = Type::kCidr;
      return true;
    }
    if (n.text == "has") {
      if (!arity(index, 1)) return false;
      AstKind kind = node(n.children[0]).kind;
      if (kind != AstKind::kAttribute && kind != AstKind::kIndex) {
        return fail(node(n.children[0]).begin,
                    "has() takes an attribute, such as has(jwt.sub) or has(http.header[\"x\"])");
      }
      if (!check(n.children[0])) return false;
      type_of(index) = Type::kBool;
      return true;
    }
    std::string hint = "; the functions are cidr() and has()";
    for (std::string_view method : {"startsWith", "endsWith", "contains", "matches"}) {
      if (n.text == method) hint = "; it is a method: write value." + n.text + "(…)";
    }
    return fail(n.at, "unknown function " + n.text + "()" + hint);
  }

  const Ast& ast_;
  Phase phase_;
  std::vector<CheckedNode>* nodes_ = nullptr;
  std::optional<ExprError> error_;
};

}  // namespace

CheckResult check_expression(const Ast& ast, Phase phase) {
  return Checker(ast, phase).run();
}

}  // namespace tg::policy
