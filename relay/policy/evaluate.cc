// The evaluator: one recursive walk, typed by the node's operation, over either context.
#include "relay/policy/evaluate.h"

#include <algorithm>

#include "relay/policy/read_attribute.h"

namespace tg::policy {
namespace {

enum class State : std::uint8_t { kAbsent, kPresent, kError };

struct Text {
  State state;
  std::string_view value;
};

struct Number {
  State state;
  std::int64_t value;
};

// Lists this short are searched in order; longer ones (sorted at load) by bisection.
constexpr std::uint32_t kLinearSearchMax = 8;

Truth truth(bool value) {
  return value ? Truth::kTrue : Truth::kFalse;
}

// The common prelude of every comparison: error spreads, absent matches nothing.
template <typename A, typename B>
bool settled(const A& x, const B& y, Truth& out) {
  if (x.state == State::kError || y.state == State::kError) {
    out = Truth::kError;
    return true;
  }
  if (x.state == State::kAbsent || y.state == State::kAbsent) {
    out = Truth::kFalse;
    return true;
  }
  return false;
}

template <typename Context>
class Evaluator {
 public:
  Evaluator(const Program& program, const Context& context)
      : program_(program), nodes_(program.nodes.data()), context_(context) {}

  Truth condition(std::uint32_t index) const {
    const Node& n = nodes_[index];
    Truth out;
    switch (n.op) {
      case Op::kTrue:
        return Truth::kTrue;
      case Op::kFalse:
        return Truth::kFalse;
      case Op::kNot: {
        Truth t = condition(n.a);
        return t == Truth::kError ? t : truth(t == Truth::kFalse);
      }
      case Op::kAnd: {
        Truth left = condition(n.a);
        if (left == Truth::kFalse) return left;
        Truth right = condition(n.b);
        if (right == Truth::kFalse) return right;
        return left == Truth::kError || right == Truth::kError ? Truth::kError : Truth::kTrue;
      }
      case Op::kOr: {
        Truth left = condition(n.a);
        if (left == Truth::kTrue) return left;
        Truth right = condition(n.b);
        if (right == Truth::kTrue) return right;
        return left == Truth::kError || right == Truth::kError ? Truth::kError : Truth::kFalse;
      }
      case Op::kEqString:
      case Op::kNeString:
      case Op::kStartsWith:
      case Op::kEndsWith:
      case Op::kContains: {
        Text x = text(n.a), y = text(n.b);
        if (settled(x, y, out)) return out;
        switch (n.op) {
          case Op::kEqString:
            return truth(x.value == y.value);
          case Op::kNeString:
            return truth(x.value != y.value);
          case Op::kStartsWith:
            return truth(x.value.starts_with(y.value));
          case Op::kEndsWith:
            return truth(x.value.ends_with(y.value));
          default:
            return truth(x.value.find(y.value) != std::string_view::npos);
        }
      }
      case Op::kEqInt:
      case Op::kNeInt:
      case Op::kLtInt:
      case Op::kLeInt:
      case Op::kGtInt:
      case Op::kGeInt: {
        Number x = number(n.a), y = number(n.b);
        if (settled(x, y, out)) return out;
        switch (n.op) {
          case Op::kEqInt:
            return truth(x.value == y.value);
          case Op::kNeInt:
            return truth(x.value != y.value);
          case Op::kLtInt:
            return truth(x.value < y.value);
          case Op::kLeInt:
            return truth(x.value <= y.value);
          case Op::kGtInt:
            return truth(x.value > y.value);
          default:
            return truth(x.value >= y.value);
        }
      }
      case Op::kEqBool:
      case Op::kNeBool: {
        Truth x = condition(n.a), y = condition(n.b);
        if (x == Truth::kError || y == Truth::kError) return Truth::kError;
        return truth((x == y) == (n.op == Op::kEqBool));
      }
      case Op::kEqIp:
      case Op::kNeIp: {
        const IpAddress* x = address(n.a);
        const IpAddress* y = address(n.b);
        if (x == nullptr || y == nullptr) return Truth::kFalse;
        return truth((*x == *y) == (n.op == Op::kEqIp));
      }
      case Op::kInStrings: {
        Text x = text(n.a);
        if (x.state != State::kPresent) return absent_or_error(x.state);
        return in_strings(x.value, n.b, n.c);
      }
      case Op::kInInts: {
        Number x = number(n.a);
        if (x.state != State::kPresent) return absent_or_error(x.state);
        const std::int64_t* begin = program_.ints.data() + n.b;
        return truth(std::binary_search(begin, begin + n.c, x.value));
      }
      case Op::kInList: {
        Text x = text(n.a);
        if (x.state != State::kPresent) return absent_or_error(x.state);
        return truth(list(n.b).contains(x.value));
      }
      case Op::kInCidr: {
        const IpAddress* x = address(n.a);
        return truth(x != nullptr && program_.cidrs[n.b].contains(*x));
      }
      case Op::kMatches: {
        Text x = text(n.a);
        if (x.state != State::kPresent) return absent_or_error(x.state);
        return truth(program_.globs[n.b].matches(x.value));
      }
      case Op::kHas:
        return has(n.a);
      case Op::kAttrEq:
      case Op::kAttrNe: {
        std::string_view value = read_string(context_, n.attr);
        if (value.empty()) return Truth::kFalse;
        return truth((value == program_.strings[n.b]) == (n.op == Op::kAttrEq));
      }
      case Op::kAttrInStrings: {
        std::string_view value = read_string(context_, n.attr);
        if (value.empty()) return Truth::kFalse;
        return in_strings(value, n.b, n.c);
      }
      case Op::kListAttrContains:
        return truth(read_list(context_, n.attr).contains(program_.strings[n.b]));
      case Op::kIpAttrInCidr: {
        const IpAddress* ip = read_ip(context_, n.attr);
        return truth(ip != nullptr && program_.cidrs[n.b].contains(*ip));
      }
      default:
        return Truth::kError;  // an operand where a condition belongs: never compiled
    }
  }

 private:
  Truth in_strings(std::string_view value, std::uint32_t first, std::uint32_t count) const {
    const std::string_view* begin = program_.strings.data() + first;
    const std::string_view* end = begin + count;
    if (count <= kLinearSearchMax) return truth(std::find(begin, end, value) != end);
    return truth(std::binary_search(begin, end, value));
  }

  static Truth absent_or_error(State state) {
    return state == State::kError ? Truth::kError : Truth::kFalse;
  }

  Text text(std::uint32_t index) const {
    const Node& n = nodes_[index];
    if (n.op == Op::kString) return {State::kPresent, program_.strings[n.b]};
    if (n.op == Op::kStringAttr) {
      std::string_view value = read_string(context_, n.attr);
      return {value.empty() ? State::kAbsent : State::kPresent, value};
    }
    // kStringKeyed
    Lookup found = read_keyed(context_, n.attr, program_.strings[n.b]);
    switch (found.state) {
      case Lookup::State::kFound:
        return {found.value.empty() ? State::kAbsent : State::kPresent, found.value};
      case Lookup::State::kUnusable:
        return {State::kError, {}};
      case Lookup::State::kAbsent:
        break;
    }
    return {State::kAbsent, {}};
  }

  Number number(std::uint32_t index) const {
    const Node& n = nodes_[index];
    if (n.op == Op::kInt) return {State::kPresent, program_.ints[n.b]};
    if (context_.unix_time == kUnknownTime) return {State::kError, 0};
    return {State::kPresent, n.attr == Attr::kTimeHour ? utc_hour(context_.unix_time)
                                                       : utc_weekday(context_.unix_time)};
  }

  // nullptr when absent.
  const IpAddress* address(std::uint32_t index) const {
    const Node& n = nodes_[index];
    const IpAddress* ip = n.op == Op::kIp ? &program_.ips[n.b] : read_ip(context_, n.attr);
    return ip == nullptr || ip->empty() ? nullptr : ip;
  }

  StringList list(std::uint32_t index) const { return read_list(context_, nodes_[index].attr); }

  Truth has(std::uint32_t index) const {
    switch (nodes_[index].op) {
      case Op::kListAttr:
        return truth(!list(index).empty());
      case Op::kIpAttr:
        return truth(address(index) != nullptr);
      case Op::kIntAttr:
        return truth(context_.unix_time != kUnknownTime);
      default:
        return truth(text(index).state != State::kAbsent);
    }
  }

  const Program& program_;
  const Node* nodes_;
  const Context& context_;
};

}  // namespace

int utc_hour(std::int64_t unix_time) {
  std::int64_t second_of_day = unix_time % 86400;
  if (second_of_day < 0) second_of_day += 86400;
  return static_cast<int>(second_of_day / 3600);
}

int utc_weekday(std::int64_t unix_time) {
  std::int64_t days = unix_time / 86400 - (unix_time % 86400 < 0 ? 1 : 0);
  // 1970-01-01 was a Thursday (4).
  std::int64_t weekday = (days + 4) % 7;
  return static_cast<int>(weekday < 0 ? weekday + 7 : weekday);
}

Truth evaluate(const Program& program, std::uint32_t root, const AccessContext& context) noexcept {
  return Evaluator<AccessContext>(program, context).condition(root);
}

Truth evaluate(const Program& program, std::uint32_t root, const ExposeContext& context) noexcept {
  return Evaluator<ExposeContext>(program, context).condition(root);
}

}  // namespace tg::policy
