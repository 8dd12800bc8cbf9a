/// The compiled policy engine: who may expose which name, and who may call what behind it.
///
/// This component owns the policy file's meaning. It parses the TOML file, type-checks every
/// expression (errors are `file:line:col: message`), compiles the expressions into one flat
/// program over interned strings, and files every rule under its name globs (name_index.h).
/// A `Policy` is immutable once loaded: the relay shares one between its workers (for
/// example through a `std::shared_ptr<const Policy>` swapped on reload) and calls the two
/// decisions from any thread.
///
/// Costs. Loading is linear in the file: 10,000 rules load in about 0.1 s. An access
/// decision looks up the rules scoped to the tunnel's name (a hash lookup and a walk along
/// the name's characters, independent of the number of rules and tunnels) and evaluates only
/// their expressions: about 20-60 ns with 10,000 rules over 10,000 names
/// (bench/policy_benchmark.cc), with no allocation, parsing, locks or exceptions. An exposure
/// decision (once per `tcpip-forward`) is about as cheap when it admits, and allocates to
/// word a refusal.
///
/// It does not verify identities (JWT signatures, client certificates, API key hashes), write
/// the audit trail, or watch the file: those layers hand their results in as attributes
/// (context.h) and read the decisions out.
///
/// Semantics (the file format and language are described for operators in POLICY.md), as
/// operators of ngrok's Traffic Policy or Pomerium would expect:
/// - Default deny. The empty policy exposes nothing and lets no one in.
/// - Exposure: the `[[expose]]` rules whose `names` match the requested name are tried in
///   file order; the first whose `when` holds (absent `when`: always) and that permits the
///   requested class admits the tunnel, with that class. A refusal says why, naming only the
///   rule that governs the name.
/// - Access: among the `[[access]]` rules whose `names` match the tunnel name, any deny
///   expression that holds denies; otherwise any allow expression that holds allows;
///   otherwise deny. No rule covering the name: deny. Deny wins, whatever the file order.
/// - Absent attributes (a request without a token has no `jwt.sub`) match nothing: every
///   comparison with them is false, `!=` included, so `jwt.sub != "mallory"` does not let an
///   anonymous caller in. `!(…)` does negate that false; `has(jwt.sub)` tests presence.
/// - Values that cannot be evaluated (time not given, a header sent twice with different
///   values, a claim that is not a string) make a comparison an error, which spreads as in
///   CEL (`false && error` is false, `true || error` is true). Fail closed: an error in an
///   allow or `when` does not allow, an error in a deny denies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"
#include "relay/policy/actor_class.h"
#include "relay/policy/context.h"
#include "relay/policy/identity.h"

namespace tg::policy {

struct CompiledPolicy;

struct ExposeDecision {
  bool allowed = false;
  ActorClass actor_class = ActorClass::kNone;  // the class granted, when allowed
  std::string_view rule_id;                    // the admitting rule, or the one that refused
                                               // ("" when no rule's names match)
  std::string reason;  // refusals: one line for the publisher's terminal; "" when allowed
};

enum class AccessOutcome : std::uint8_t {
  kAllowed,          // an allow expression held, and no deny expression did
  kDenyRuleMatched,  // a deny expression held
  kDenyUnevaluable,  // a deny expression could not be evaluated: denied, failing closed
  kNoAllowMatched,   // rules cover the name, but none of their allow expressions held
  kNoRuleCovers,     // no access rule's names match the tunnel's name
};

/// For logs and the audit trail: "allowed", "deny rule matched", "deny rule could not be
/// evaluated", "no allow rule matched", "no access rule covers this name".
std::string_view to_string(AccessOutcome outcome);

struct AccessDecision {
  bool allowed = false;
  AccessOutcome outcome = AccessOutcome::kNoRuleCovers;
  std::string_view rule_id;  // the deciding rule; with kNoAllowMatched, the first rule
                             // covering the name; "" with kNoRuleCovers. Valid while the
                             // Policy lives. Never shown to visitors.
  int expression = -1;       // which entry of that rule's allow (kAllowed) or deny (kDeny*)
                             // list decided, from 0
};

/// What the access rules covering one tunnel name say beyond allow and deny. Read when a
/// tunnel opens or the policy changes, not per request (it allocates).
struct TunnelSettings {
  bool mcp = false;            // some covering rule has `mcp = true`: inspect JSON-RPC requests
  bool reads_jwt = false;      // some covering rule's allow reads jwt.*: an anonymous caller is
                               // asked for a bearer token (401 with the OAuth discovery hint)
  bool reads_api_key = false;  // … reads api_key.name: an anonymous caller gets 401
  std::vector<std::string_view> origins;  // allowed Origin values besides the tunnel's own
  std::vector<std::string_view> scopes;   // OAuth scopes a token must hold, every one of them
                                          // (valid while the Policy lives)
  /// True when an anonymous caller should be asked for credentials rather than refused.
  bool wants_identity() const { return reads_jwt || reads_api_key; }
};

class Policy {
 public:
  /// The empty policy: nothing is exposed, no one is let in.
  Policy();
  ~Policy();
  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;

  /// May this publisher expose `context.name`, and with which class? Allocates only to word
  /// a refusal.
  ExposeDecision decide_expose(const ExposeContext& context) const noexcept;

  /// May this visitor make this request? Never allocates.
  AccessDecision decide_access(const AccessContext& context) const noexcept;

  /// The merged settings of every access rule whose names match `name` (unions; `mcp` if any).
  TunnelSettings tunnel_settings(std::string_view name) const;

  /// The identity sources declared beside the rules.
  const Identity& identity() const;

  /// The file it was loaded from ("" for the empty policy).
  const std::string& source() const;
  std::size_t expose_rule_count() const;
  std::size_t access_rule_count() const;

 private:
  friend Result<Policy> parse_policy(std::string_view text, const std::string& path);
  explicit Policy(std::unique_ptr<const CompiledPolicy> compiled);

  std::unique_ptr<const CompiledPolicy> compiled_;
};

/// Reads and compiles a policy file. Every mistake is an error naming `file:line` (and the
/// column, for expressions); nothing throws.
Result<Policy> load_policy(const std::string& path);

/// Compiles TOML text as if read from `path` (relative jwks paths resolve against its
/// folder). Used by load_policy, the tests and the benchmarks.
Result<Policy> parse_policy(std::string_view text, const std::string& path);

}  // namespace tg::policy
