// The exposure decision, and the sentence a refused publisher reads in its ssh session.
//
// Refusals name only the rule that governs the requested name (the first, in file order,
// whose names match) and quote only its own `when`: a publisher learns what it would take to
// publish this name, never what other rules say about other names.
#include <algorithm>
#include <vector>

#include "relay/policy/compiled_policy.h"
#include "relay/policy/evaluate.h"
#include "relay/policy/policy.h"

namespace tg::policy {
namespace {

constexpr std::size_t kMaxQuotedBytes = 160;

// An expression's text on one line (multi-line TOML strings collapse), cut if long.
std::string quote(std::string_view text) {
  std::string out;
  for (char c : text) {
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out.push_back(space ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > kMaxQuotedBytes) {
    // Cut before a character, never inside one: the refusal goes to a UTF-8 terminal.
    std::size_t cut = kMaxQuotedBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "…";
  }
  return out;
}

// The smallest part of a failed condition that explains it: the first failing side of an
// `&&`, followed down; anything else (an `||`, a `!`, a comparison) stands for itself.
std::uint32_t culprit(const Program& program, std::uint32_t node, const ExposeContext& context) {
  while (program.nodes[node].op == Op::kAnd) {
    const Node& n = program.nodes[node];
    node = evaluate(program, n.a, context) != Truth::kTrue ? n.a : n.b;
  }
  return node;
}

std::string explain_when(const CompiledPolicy& policy, const ExposeRule& rule,
                         const ExposeContext& context) {
  const Program& program = policy.program;
  std::uint32_t node = culprit(program, rule.when.root, context);
  Truth outcome = evaluate(program, node, context);
  std::string_view verdict =
      outcome == Truth::kError ? "cannot be evaluated here (the time is unknown)" : "is false";
  std::string whole = quote(rule.when.text);
  std::string reason = "rule " + std::string(rule.id) + " requires " + whole;
  if (node == rule.when.root) return reason + ", which " + std::string(verdict);
  const Span& span = program.spans[node];
  std::string part = quote(rule.when.text.substr(span.begin, span.end - span.begin));
  return reason + ": " + part + " " + std::string(verdict);
}

std::string class_list(ActorClassSet set) {
  std::string out;
  for (ActorClass c : {ActorClass::kHuman, ActorClass::kWorkload, ActorClass::kAgent}) {
    if ((set & class_bit(c)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += to_string(c);
  }
  return out;
}

}  // namespace

ExposeDecision Policy::decide_expose(const ExposeContext& context) const noexcept {
  ExposeDecision decision;
  try {
    if (!compiled_) {
      decision.reason = "no policy is loaded, so no name can be exposed";
      return decision;
    }
    const CompiledPolicy& policy = *compiled_;
    std::vector<std::uint32_t> matched;
    policy.expose_index.for_each_match(context.name,
                                       [&](std::uint32_t rule) { matched.push_back(rule); });
    std::sort(matched.begin(), matched.end());
    matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
    if (matched.empty()) {
      decision.reason = "no expose rule matches the name \"" + std::string(context.name) + "\"";
      return decision;
    }

    const ExposeRule* refused_class = nullptr;
    for (std::uint32_t r : matched) {
      const ExposeRule& rule = policy.expose_rules[r];
      if (rule.has_when && evaluate(policy.program, rule.when.root, context) != Truth::kTrue) {
        continue;
      }
      ActorClass wanted = context.requested_class;
      if (wanted != ActorClass::kNone && (rule.requestable & class_bit(wanted)) == 0) {
        if (refused_class == nullptr) refused_class = &rule;
        continue;
      }
      decision.allowed = true;
      decision.actor_class = wanted != ActorClass::kNone ? wanted : rule.default_class;
      decision.rule_id = rule.id;
      return decision;
    }

    if (refused_class != nullptr) {
      decision.rule_id = refused_class->id;
      decision.reason = "rule " + std::string(refused_class->id) + " does not allow class \"" +
                        std::string(to_string(context.requested_class)) + "\" for \"" +
                        std::string(context.name) + "\"; it allows " +
                        class_list(refused_class->requestable);
      return decision;
    }
    const ExposeRule& governing = policy.expose_rules[matched.front()];
    decision.rule_id = governing.id;
    decision.reason = explain_when(policy, governing, context);
    return decision;
  } catch (...) {
    // Out of memory while wording a refusal: still a refusal.
    decision.allowed = false;
    decision.reason.clear();
    return decision;
  }
}

}  // namespace tg::policy
