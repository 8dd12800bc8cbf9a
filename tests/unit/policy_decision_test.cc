// The two decisions: default deny, deny wins, scoping by name, fail-closed denies, classes,
// and the words a refused publisher reads.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "relay/policy/policy.h"

namespace tg::policy {
namespace {

Policy load(std::string_view text) {
  auto policy = parse_policy(text, "policy.toml");
  EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error().message);
  return policy.ok() ? std::move(*policy) : Policy();
}

AccessContext request(std::string_view name, std::string_view method = "GET") {
  AccessContext context;
  context.tunnel_name = name;
  context.tunnel_class = ActorClass::kHuman;
  context.http_method = method;
  context.http_path = "/";
  context.source_ip = *IpAddress::parse("192.0.2.10");
  context.unix_time = 1704585600;
  return context;
}

TEST(PolicyAccess, TheEmptyPolicyDeniesEverything) {
  Policy empty;
  AccessDecision decision = empty.decide_access(request("alice-api"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.outcome, AccessOutcome::kNoRuleCovers);
  EXPECT_EQ(decision.rule_id, "");
  Policy no_rules = load("");
  EXPECT_EQ(no_rules.decide_access(request("alice-api")).outcome, AccessOutcome::kNoRuleCovers);
}

TEST(PolicyAccess, NoRuleCoveringTheNameDenies) {
  Policy policy = load(R"(
[[access]]
names = ["alice-*"]
allow = ['true']
)");
  AccessDecision decision = policy.decide_access(request("bob-api"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.outcome, AccessOutcome::kNoRuleCovers);
  EXPECT_EQ(to_string(decision.outcome), "no access rule covers this name");
  EXPECT_TRUE(policy.decide_access(request("alice-api")).allowed);
}

TEST(PolicyAccess, AllowWhenAnAllowHoldsElseDeny) {
  Policy policy = load(R"(
[[access]]
names = ["alice-*"]
allow = ['jwt.groups.contains("mcp-users")', 'source.ip in cidr("10.0.0.0/8")']
deny  = ['http.method == "DELETE"']
)");
  AccessContext context = request("alice-api");
  AccessDecision decision = policy.decide_access(context);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.outcome, AccessOutcome::kNoAllowMatched);
  EXPECT_EQ(decision.rule_id, "access[0]");
  EXPECT_EQ(decision.expression, -1);

  context.source_ip = *IpAddress::parse("10.3.4.5");
  decision = policy.decide_access(context);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.outcome, AccessOutcome::kAllowed);
  EXPECT_EQ(decision.rule_id, "access[0]");
  EXPECT_EQ(decision.expression, 1);

  std::array<std::string_view, 1> groups = {"mcp-users"};
  context.jwt_groups = groups;
  EXPECT_EQ(policy.decide_access(context).expression, 0);
}

TEST(PolicyAccess, DenyWinsOverAllowInTheSameRule) {
  Policy policy = load(R"(
[[access]]
names = ["alice-*"]
allow = ['true']
deny  = ['http.method == "DELETE"', 'http.path.startsWith("/admin")']
)");
  EXPECT_TRUE(policy.decide_access(request("alice-api", "GET")).allowed);
  AccessDecision decision = policy.decide_access(request("alice-api", "DELETE"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.outcome, AccessOutcome::kDenyRuleMatched);
  EXPECT_EQ(to_string(decision.outcome), "deny rule matched");
  EXPECT_EQ(decision.rule_id, "access[0]");
  EXPECT_EQ(decision.expression, 0);
  AccessContext admin = request("alice-api");
  admin.http_path = "/admin/users";
  EXPECT_EQ(policy.decide_access(admin).expression, 1);
}

TEST(PolicyAccess, DenyWinsAcrossRulesWhateverTheFileOrder) {
  for (bool deny_first : {true, false}) {
    std::string allow_rule = R"(
[[access]]
id = "everyone"
names = ["*"]
allow = ['true']
)";
    std::string deny_rule = R"(
[[access]]
id = "no-deletes-on-alice"
names = ["alice-*"]
deny = ['http.method == "DELETE"']
)";
    Policy policy = load(deny_first ? deny_rule + allow_rule : allow_rule + deny_rule);
    AccessDecision decision = policy.decide_access(request("alice-api", "DELETE"));
    EXPECT_FALSE(decision.allowed);
    EXPECT_EQ(decision.rule_id, "no-deletes-on-alice");
    EXPECT_TRUE(policy.decide_access(request("alice-api", "GET")).allowed);
    EXPECT_EQ(policy.decide_access(request("alice-api", "GET")).rule_id, "everyone");
    EXPECT_TRUE(policy.decide_access(request("bob-api", "DELETE")).allowed);
  }
}

TEST(PolicyAccess, NamesTheEarliestDecidingRuleInTheFile) {
  Policy policy = load(R"(
[[access]]
names = ["*-api"]
allow = ['http.method == "GET"']
[[access]]
names = ["alice-*"]
allow = ['true']
deny = ['http.method == "PUT"']
[[access]]
names = ["alice-api"]
deny = ['http.method in ["PUT", "POST"]']
[[access]]
names = ["a*"]
allow = ['true']
)");
  EXPECT_EQ(policy.decide_access(request("alice-api", "GET")).rule_id, "access[0]");
  EXPECT_EQ(policy.decide_access(request("alice-api", "PATCH")).rule_id, "access[1]");
  EXPECT_EQ(policy.decide_access(request("alice-api", "PUT")).rule_id, "access[1]");
  EXPECT_EQ(policy.decide_access(request("alice-api", "POST")).rule_id, "access[2]");
  EXPECT_EQ(policy.decide_access(request("al", "POST")).rule_id, "access[3]");
}

TEST(PolicyAccess, ADenyThatCannotBeEvaluatedDenies) {
  Policy policy = load(R"(
[[access]]
names = ["alice-*"]
allow = ['true']
deny = ['time.hour < 6', 'http.header["x-role"] == "intern"']
)");
  AccessContext context = request("alice-api");
  context.unix_time = 1704585600 + 12 * 3600;
  EXPECT_TRUE(policy.decide_access(context).allowed);

  context.unix_time = kUnknownTime;
  AccessDecision decision = policy.decide_access(context);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.outcome, AccessOutcome::kDenyUnevaluable);
  EXPECT_EQ(decision.expression, 0);

  context.unix_time = 1704585600 + 12 * 3600;
  std::array<KeyValue, 2> twice = {{{"X-Role", "intern"}, {"X-Role", "admin"}}};
  context.http_headers = KeyLookup::headers(twice);
  decision = policy.decide_access(context);
  EXPECT_EQ(decision.outcome, AccessOutcome::kDenyUnevaluable);
  EXPECT_EQ(decision.expression, 1);
}

TEST(PolicyAccess, AnAllowThatCannotBeEvaluatedDoesNotAllow) {
  Policy policy = load(R"(
[[access]]
names = ["alice-*"]
allow = ['time.hour >= 9']
)");
  AccessContext context = request("alice-api");
  context.unix_time = kUnknownTime;
  EXPECT_EQ(policy.decide_access(context).outcome, AccessOutcome::kNoAllowMatched);
}

TEST(PolicyAccess, AbsentIdentityDoesNotSlipThroughNotEquals) {
  Policy policy = load(R"(
[[access]]
names = ["alice-*"]
allow = ['jwt.sub != "mallory"']
deny = ['!(jwt.iss == "https://idp.example.com")']
)");
  AccessContext anonymous = request("alice-api");
  AccessDecision decision = policy.decide_access(anonymous);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.outcome, AccessOutcome::kDenyRuleMatched);
  AccessContext alice = anonymous;
  alice.jwt_iss = "https://idp.example.com";
  alice.jwt_sub = "alice";
  EXPECT_TRUE(policy.decide_access(alice).allowed);
  alice.jwt_sub = "mallory";
  EXPECT_EQ(policy.decide_access(alice).outcome, AccessOutcome::kNoAllowMatched);
}

TEST(PolicyAccess, ClassesAndOwnersInAccessRules) {
  Policy policy = load(R"(
[[access]]
names = ["*"]
allow = ['tunnel.class == "agent" && jwt.scope.contains("mcp")', 'tunnel.class == "human"']
deny = ['tunnel.class == "workload" && !(source.ip in cidr("10.0.0.0/8"))']
)");
  AccessContext context = request("x");
  EXPECT_TRUE(policy.decide_access(context).allowed);
  context.tunnel_class = ActorClass::kAgent;
  EXPECT_FALSE(policy.decide_access(context).allowed);
  context.jwt_scope = StringList::space_separated("read mcp");
  EXPECT_TRUE(policy.decide_access(context).allowed);
  context.tunnel_class = ActorClass::kWorkload;
  EXPECT_EQ(policy.decide_access(context).outcome, AccessOutcome::kDenyRuleMatched);
}

TEST(PolicyAccess, TenThousandRulesDecideEachNameByItsOwnRule) {
  std::string text;
  for (int n = 0; n < 10000; ++n) {
    std::string id = std::to_string(n);
    text += "[[access]]\nnames = [\"tenant-" + id + "-*\"]\nallow = ['jwt.groups.contains(\"team-" +
            id + "\")']\ndeny = ['http.method == \"DELETE\"']\n";
  }
  Policy policy = load(text);
  ASSERT_EQ(policy.access_rule_count(), 10000u);
  for (int n : {0, 1, 42, 4242, 9999}) {
    std::string name = "tenant-" + std::to_string(n) + "-api";
    std::string mine = "team-" + std::to_string(n);
    std::string theirs = "team-" + std::to_string((n + 1) % 10000);
    std::array<std::string_view, 1> groups = {mine};
    AccessContext context = request(name);
    context.jwt_groups = groups;
    AccessDecision decision = policy.decide_access(context);
    EXPECT_TRUE(decision.allowed) << name;
    EXPECT_EQ(decision.rule_id, "access[" + std::to_string(n) + "]");
    groups[0] = theirs;
    EXPECT_EQ(policy.decide_access(context).outcome, AccessOutcome::kNoAllowMatched) << name;
  }
  EXPECT_EQ(policy.decide_access(request("tenant-10000-api")).outcome,
            AccessOutcome::kNoRuleCovers);
}

ExposeContext publisher(std::string_view name, std::string_view user = "alice",
                        ActorClass wanted = ActorClass::kNone) {
  ExposeContext context;
  context.name = name;
  context.ssh_user = user;
  context.ssh_key = "SHA256:alicekey";
  context.ssh_source_ip = *IpAddress::parse("198.51.100.7");
  context.requested_class = wanted;
  context.unix_time = 1704585600;
  return context;
}

constexpr std::string_view kExposePolicy = R"(
[[expose]]
names = ["secret-*"]
when  = 'ssh.user == "root" && ssh.key == "SHA256:rootkey"'

[[expose]]
names = ["alice-*"]
when  = 'ssh.key in ["SHA256:alicekey"] || ssh.user == "alice"'
class = "human"
classes = ["workload"]

[[expose]]
id = "agents"
names = ["bot-*"]
when = 'ssh.user == "alice" && ssh.source.ip in cidr("198.51.100.0/24") && ssh.key == "SHA256:botkey"'
classes = ["agent", "workload"]

[[expose]]
names = ["open-*"]
)";

TEST(PolicyExpose, NoRuleForTheName) {
  Policy policy = load(kExposePolicy);
  ExposeDecision decision = policy.decide_expose(publisher("carol-api"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason, "no expose rule matches the name \"carol-api\"");
  EXPECT_EQ(decision.rule_id, "");
  EXPECT_EQ(Policy().decide_expose(publisher("x")).reason,
            "no policy is loaded, so no name can be exposed");
}

TEST(PolicyExpose, AdmitsWithTheRulesClass) {
  Policy policy = load(kExposePolicy);
  ExposeDecision decision = policy.decide_expose(publisher("alice-api"));
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.actor_class, ActorClass::kHuman);
  EXPECT_EQ(decision.rule_id, "expose[1]");
  EXPECT_EQ(decision.reason, "");

  decision = policy.decide_expose(publisher("open-thing", "anyone"));
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.actor_class, ActorClass::kHuman);  // no class in the rule: human
  EXPECT_EQ(decision.rule_id, "expose[3]");
}

TEST(PolicyExpose, ExplainsAFalseCondition) {
  Policy policy = load(kExposePolicy);
  ExposeContext bob = publisher("alice-api", "bob");
  bob.ssh_key = "SHA256:bobkey";
  ExposeDecision decision = policy.decide_expose(bob);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule_id, "expose[1]");
  EXPECT_EQ(decision.reason,
            "rule expose[1] requires ssh.key in [\"SHA256:alicekey\"] || ssh.user == \"alice\", "
            "which is false");
  // Only the governing rule is quoted: nothing about secret-* or its users.
  EXPECT_EQ(decision.reason.find("root"), std::string::npos);
}

TEST(PolicyExpose, PointsAtTheFailingPartOfAConjunction) {
  Policy policy = load(kExposePolicy);
  ExposeDecision decision = policy.decide_expose(publisher("bot-1"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule_id, "agents");
  EXPECT_EQ(decision.reason,
            "rule agents requires ssh.user == \"alice\" && ssh.source.ip in "
            "cidr(\"198.51.100.0/24\") && ssh.key == \"SHA256:botkey\": ssh.key == "
            "\"SHA256:botkey\" is false");
  ExposeContext elsewhere = publisher("bot-1");
  elsewhere.ssh_source_ip = *IpAddress::parse("203.0.113.1");
  EXPECT_EQ(policy.decide_expose(elsewhere).reason.substr(decision.reason.find(": ")),
            ": ssh.source.ip in cidr(\"198.51.100.0/24\") is false");
}

TEST(PolicyExpose, RequestedClasses) {
  Policy policy = load(kExposePolicy);
  ExposeDecision decision =
      policy.decide_expose(publisher("alice-api", "alice", ActorClass::kWorkload));
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.actor_class, ActorClass::kWorkload);
  decision = policy.decide_expose(publisher("alice-api", "alice", ActorClass::kHuman));
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.actor_class, ActorClass::kHuman);

  decision = policy.decide_expose(publisher("alice-api", "alice", ActorClass::kAgent));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule_id, "expose[1]");
  EXPECT_EQ(decision.reason,
            "rule expose[1] does not allow class \"agent\" for \"alice-api\"; it allows human, "
            "workload");

  // Without `class`, the first of `classes` is the default.
  ExposeContext bot = publisher("bot-1");
  bot.ssh_key = "SHA256:botkey";
  decision = policy.decide_expose(bot);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.actor_class, ActorClass::kAgent);
  bot.requested_class = ActorClass::kHuman;
  EXPECT_EQ(policy.decide_expose(bot).reason,
            "rule agents does not allow class \"human\" for \"bot-1\"; it allows workload, agent");
  // A rule without class or classes grants human only.
  EXPECT_FALSE(policy.decide_expose(publisher("open-x", "alice", ActorClass::kAgent)).allowed);
}

TEST(PolicyExpose, ALaterRuleMayAdmitWhatAnEarlierRefuses) {
  Policy policy = load(R"(
[[expose]]
names = ["shared-*"]
when = 'ssh.user == "alice"'
[[expose]]
names = ["shared-*"]
when = 'ssh.user == "bob"'
classes = ["agent"]
)");
  EXPECT_TRUE(policy.decide_expose(publisher("shared-x", "bob")).allowed);
  EXPECT_EQ(policy.decide_expose(publisher("shared-x", "bob")).rule_id, "expose[1]");
  // The first rule admits alice but not as an agent; the second would, but not for alice.
  ExposeDecision decision =
      policy.decide_expose(publisher("shared-x", "alice", ActorClass::kAgent));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason,
            "rule expose[0] does not allow class \"agent\" for \"shared-x\"; it allows human");
  EXPECT_EQ(policy.decide_expose(publisher("shared-x", "carol")).reason,
            "rule expose[0] requires ssh.user == \"alice\", which is false");
}

TEST(PolicyExpose, ALongConditionIsCutBetweenCharacters) {
  // A quoted condition is cut at 160 bytes: here 13 bytes, then two-byte characters, so byte
  // 160 is the second byte of one. The refusal must stay UTF-8 for the publisher's terminal.
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\u00e9";
  Policy policy =
      load("[[expose]]\nnames = [\"a-name\"]\nwhen = 'ssh.user == \"" + accents + "\"'\n");
  const ExposeDecision decision = policy.decide_expose(publisher("a-name", "bob"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason, "rule expose[0] requires ssh.user == \"" + accents.substr(0, 146) +
                                 "\u2026, which is false");
}

TEST(PolicyExpose, ConditionsThatCannotBeEvaluatedRefuse) {
  Policy policy = load(R"(
[[expose]]
names = ["night-*"]
when = """
  ssh.user == "alice" &&
  time.hour < 6"""
)");
  ExposeContext context = publisher("night-job");
  context.unix_time = kUnknownTime;
  ExposeDecision decision = policy.decide_expose(context);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason,
            "rule expose[0] requires ssh.user == \"alice\" && time.hour < 6: time.hour < 6 "
            "cannot be evaluated here (the time is unknown)");
  context.unix_time = 1704585600 + 3600;
  EXPECT_TRUE(policy.decide_expose(context).allowed);
}

}  // namespace
}  // namespace tg::policy
