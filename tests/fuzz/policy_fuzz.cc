// Fuzzes parse_policy, the policy file compiler (TOML, then globs and a CEL-like expression
// language type-checked and compiled into one program), and then uses what it accepts. The
// file is the operator's, so the stakes are a relay that starts (or reloads) without crashing,
// and decisions that are what the file says. Checked beyond memory safety:
// - any text gives a Policy or an error naming the file ("fuzz.toml:…"), nothing escapes;
// - a loaded policy answers decide_access and decide_expose on fixed contexts and
//   tunnel_settings on fixed names, and answers the same a second time (decisions are pure);
// - an access decision is consistent: allowed exactly with kAllowed, a rule named exactly
//   when a rule covers the name, an expression index exactly when an expression decided;
// - an exposure decision grants a class (the one asked for, if any) and no reason, or
//   refuses with a reason in valid UTF-8 (it goes to the publisher's terminal).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/policy/policy.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tg::policy;

const std::string kPath = "fuzz.toml";

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code < 0xE000)) {
      return false;
    }
    i += length;
  }
  return true;
}

bool same(const AccessDecision& a, const AccessDecision& b) {
  return a.allowed == b.allowed && a.outcome == b.outcome && a.rule_id == b.rule_id &&
         a.expression == b.expression;
}

bool same(const ExposeDecision& a, const ExposeDecision& b) {
  return a.allowed == b.allowed && a.actor_class == b.actor_class && a.rule_id == b.rule_id &&
         a.reason == b.reason;
}

bool same(const TunnelSettings& a, const TunnelSettings& b) {
  return a.mcp == b.mcp && a.reads_jwt == b.reads_jwt && a.reads_api_key == b.reads_api_key &&
         a.origins == b.origins && a.scopes == b.scopes;
}

Lookup find_pair(const void*, std::size_t, std::string_view key) noexcept {
  if (key == "x-role") return Lookup::found("admin");
  if (key == "x-twice") return Lookup::unusable();
  return Lookup::absent();
}

void check_access(const Policy& policy, const AccessContext& context) {
  const AccessDecision decision = policy.decide_access(context);
  FUZZ_CHECK(same(decision, policy.decide_access(context)));
  FUZZ_CHECK(decision.allowed == (decision.outcome == AccessOutcome::kAllowed));
  FUZZ_CHECK(decision.rule_id.empty() == (decision.outcome == AccessOutcome::kNoRuleCovers));
  FUZZ_CHECK((decision.expression >= 0) == (decision.outcome != AccessOutcome::kNoRuleCovers &&
                                            decision.outcome != AccessOutcome::kNoAllowMatched));
  FUZZ_CHECK(decision.outcome == AccessOutcome::kNoRuleCovers || policy.access_rule_count() > 0);
  FUZZ_CHECK(!to_string(decision.outcome).empty());
}

void check_expose(const Policy& policy, const ExposeContext& context) {
  const ExposeDecision decision = policy.decide_expose(context);
  FUZZ_CHECK(same(decision, policy.decide_expose(context)));
  if (decision.allowed) {
    FUZZ_CHECK(decision.reason.empty() && !decision.rule_id.empty());
    FUZZ_CHECK(decision.actor_class != ActorClass::kNone);
    FUZZ_CHECK(context.requested_class == ActorClass::kNone ||
               decision.actor_class == context.requested_class);
    FUZZ_CHECK(policy.expose_rule_count() > 0);
  } else {
    FUZZ_CHECK(!decision.reason.empty());
    FUZZ_CHECK(is_valid_utf8(decision.reason));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tg::fuzz::as_text(data, size);
  const tg::Result<Policy> result = parse_policy(text, kPath);
  if (!result.ok()) {
    const std::string& message = result.error().message;
    FUZZ_CHECK(message.size() > kPath.size() + 1 && message.compare(0, kPath.size(), kPath) == 0 &&
               message[kPath.size()] == ':');
    return 0;
  }
  const Policy& policy = *result;
  FUZZ_CHECK(policy.source() == kPath);

  // An anonymous visitor, and one with every attribute set.
  AccessContext anonymous;
  anonymous.tunnel_name = "a-name";
  anonymous.http_method = "GET";
  anonymous.http_path = "/";
  check_access(policy, anonymous);

  static constexpr std::string_view kGroups[] = {"mcp-users", "admins"};
  static constexpr std::string_view kSan[] = {"spiffe://acme/bot", "bot.example.com"};
  AccessContext full;
  full.tunnel_name = "alice-api";
  full.tunnel_class = ActorClass::kAgent;
  full.tunnel_owner = "SHA256:owner";
  full.source_ip = *IpAddress::parse("10.1.2.3");
  full.tls_sni = "alice-api.example.test";
  full.client_cert_fingerprint = "SHA256:cert";
  full.client_cert_subject = "CN=bot,O=Acme";
  full.client_cert_san = kSan;
  full.http_method = "DELETE";
  full.http_path = "/admin/users";
  full.http_host = "alice-api.example.test";
  full.http_headers = KeyLookup(nullptr, 0, &find_pair);
  full.jwt_iss = "https://idp.example.com";
  full.jwt_sub = "alice";
  full.jwt_email = "alice@example.com";
  full.jwt_aud = kSan;
  full.jwt_groups = kGroups;
  full.jwt_scope = StringList::space_separated("mcp:tools  openid");
  full.jwt_claims = KeyLookup(nullptr, 0, &find_pair);
  full.api_key_name = "ci-bot";
  full.mcp_method = "tools/call";
  full.mcp_tool = "search";
  full.mcp_protocol_version = "2025-06-18";
  full.mcp_session = "s1";
  full.unix_time = 1704585600;
  check_access(policy, full);

  ExposeContext publisher;
  publisher.name = "a-name";
  check_expose(policy, publisher);
  ExposeContext alice;
  alice.name = "alice-api";
  alice.requested_class = ActorClass::kAgent;
  alice.ssh_key = "SHA256:alicekey";
  alice.ssh_user = "alice";
  alice.ssh_source_ip = *IpAddress::parse("2001:db8::1");
  alice.unix_time = 1704585600;
  check_expose(policy, alice);

  for (std::string_view name : {"a-name", "alice-api", ""}) {
    const TunnelSettings settings = policy.tunnel_settings(name);
    FUZZ_CHECK(same(settings, policy.tunnel_settings(name)));
    FUZZ_CHECK(settings.origins.size() + settings.scopes.size() == 0 ||
               policy.access_rule_count() > 0);
  }
  return 0;
}
