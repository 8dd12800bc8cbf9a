// The policy file: the issue's example, identity tables, and every malformed policy with its
// `file:line[:col]` error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "relay/policy/policy.h"

namespace tg::policy {
namespace {

// The error for `text`, or "(no error)".
std::string error(std::string_view text) {
  auto policy = parse_policy(text, "p.toml");
  return policy.ok() ? "(no error)" : policy.error().message;
}

constexpr std::string_view kIssueExample = R"(
[[expose]]
names = ["alice-*"]
when  = 'ssh.key in ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"] || ssh.user == "alice"'
class = "human"                       # class the tunnel gets

[[access]]
names = ["alice-*"]
allow = ['jwt.groups.contains("mcp-users")', 'source.ip in cidr("10.0.0.0/8")']
deny  = ['http.method == "DELETE"']

[[identity.jwt]]
issuer    = "https://idp.example.com"
jwks      = "jwks.json"                # a file, or an https:// URL
audiences = []                         # empty: the tunnel's public URL

[[identity.jwt]]
issuer    = "https://login.example.org/tenant"
jwks      = "https://login.example.org/tenant/keys"
audiences = ["https://api.example.org", "mcp"]

[[identity.api_key]]
name   = "ci-bot"
sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
)";

TEST(PolicyFile, LoadsTheIssueExample) {
  auto policy = parse_policy(kIssueExample, "/etc/tunnelgate/policy.toml");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  EXPECT_EQ(policy->source(), "/etc/tunnelgate/policy.toml");
  EXPECT_EQ(policy->expose_rule_count(), 1u);
  EXPECT_EQ(policy->access_rule_count(), 1u);

  const Identity& identity = policy->identity();
  ASSERT_EQ(identity.jwt.size(), 2u);
  EXPECT_EQ(identity.jwt[0].issuer, "https://idp.example.com");
  EXPECT_EQ(identity.jwt[0].jwks, "/etc/tunnelgate/jwks.json");
  EXPECT_FALSE(identity.jwt[0].jwks_is_url);
  EXPECT_TRUE(identity.jwt[0].audiences.empty());
  EXPECT_EQ(identity.jwt[0].line, 12);
  EXPECT_EQ(identity.jwt[1].jwks, "https://login.example.org/tenant/keys");
  EXPECT_TRUE(identity.jwt[1].jwks_is_url);
  EXPECT_EQ(identity.jwt[1].audiences,
            (std::vector<std::string>{"https://api.example.org", "mcp"}));
  ASSERT_EQ(identity.api_keys.size(), 1u);
  EXPECT_EQ(identity.api_keys[0].name, "ci-bot");
  EXPECT_EQ(identity.api_keys[0].sha256[0], 0x9f);
  EXPECT_EQ(identity.api_keys[0].sha256[31], 0x08);

  AccessContext context;
  context.tunnel_name = "alice-mcp";
  context.source_ip = *IpAddress::parse("10.0.0.9");
  context.http_method = "GET";
  EXPECT_TRUE(policy->decide_access(context).allowed);
  context.http_method = "DELETE";
  EXPECT_EQ(policy->decide_access(context).outcome, AccessOutcome::kDenyRuleMatched);
}

TEST(PolicyFile, ExpressionErrorsPointAtLineAndColumn) {
  EXPECT_EQ(
      error("[[access]]\nnames = [\"a\"]\nallow = ['jwt.sub == \"x\"', 'jwt.grops == \"y\"']\n"),
      "p.toml:3:29: unknown attribute jwt.grops; did you mean jwt.groups?");
  EXPECT_EQ(error("[[access]]\nnames = [\"a\"]\ndeny = [\"jwt.sub == \\\"x\\\" && time.hour == "
                  "\\\"9\\\"\"]\n"),
            "p.toml:3:40: == cannot compare an int with a string");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nwhen = 'http.method == \"GET\"'\n"),
            "p.toml:3:9: http.method is known only in [[access]] rules");
  // A multi-line basic string: the first newline is dropped, escapes count from their
  // backslash, and a line-ending backslash joins lines.
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nwhen = \"\"\"\n  ssh.user == \\\"alice\\\" \\\n"
                  "     && ssh.kee == \\\"k\\\"\"\"\"\n"),
            "p.toml:5:9: unknown attribute ssh.kee; did you mean ssh.key?");
  // A multi-line literal string keeps everything as written.
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nwhen = '''\nssh.user == \"alice\" ||\n"
                  "\tssh.user == 7'''\n"),
            "p.toml:5:11: == cannot compare a string with an int");
  // Windows line ends: toml++ gives "\n", the columns stay right.
  EXPECT_EQ(error("[[expose]]\r\nnames = [\"a\"]\r\nwhen = '''\r\nssh.user == \"a\" ||\r\n"
                  "  ssh.usr == \"b\"'''\r\n"),
            "p.toml:5:3: unknown attribute ssh.usr; did you mean ssh.user?");
  // Characters, not bytes, make columns.
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nwhen = 'ssh.user == \"\xc3\xa9t\xc3\xa9\" && x'\n"),
            "p.toml:3:30: unknown attribute x");
  // The end of the expression is its closing quote.
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nwhen = 'ssh.user =='\n"),
            "p.toml:3:20: expected a value, found the end of the expression");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nwhen = '(ssh.user == \"a\"'\n"),
            "p.toml:3:25: expected ')' to close '(', found the end of the expression");
}

TEST(PolicyFile, TomlSyntaxErrors) {
  std::string message = error("[[expose]]\nnames = [\"a\"\n");
  EXPECT_EQ(message.rfind("p.toml:2:", 0), 0u) << message;
  message = error("[[access]]\nnames = [\"a\"]\nallow = ['x' 'y']\n");
  EXPECT_EQ(message.rfind("p.toml:3:", 0), 0u) << message;
}

TEST(PolicyFile, UnknownKeys) {
  EXPECT_EQ(error("version = 2\n"),
            "p.toml:1: unknown key \"version\" in the policy file (known: expose, access, "
            "identity)");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nwhen = 'true'\nclass = \"human\"\nallow = []\n"),
            "p.toml:5: unknown key \"allow\" in [[expose]] (known: id, names, when, class, "
            "classes)");
  EXPECT_EQ(error("[[access]]\nnames = [\"a\"]\nallow = ['true']\nwhen = 'true'\nzzz = 1\n"),
            "p.toml:4: unknown key \"when\" in [[access]] (known: id, names, allow, deny, mcp, "
            "origins, scopes)");
  EXPECT_EQ(error("[identity]\noidc = 1\n"),
            "p.toml:2: unknown key \"oidc\" in [identity] (known: jwt, api_key)");
  EXPECT_EQ(error("[[identity.jwt]]\nissuer = \"i\"\njwks = \"j\"\nleeway = 5\n"),
            "p.toml:4: unknown key \"leeway\" in [[identity.jwt]] (known: issuer, jwks, "
            "audiences, jwks_ca, jwks_refresh_seconds)");
  EXPECT_EQ(error("[[identity.api_key]]\nname = \"n\"\nkey = \"k\"\n"),
            "p.toml:3: unknown key \"key\" in [[identity.api_key]] (known: name, sha256)");
}

TEST(PolicyFile, MalformedRules) {
  EXPECT_EQ(error("[expose]\nnames = [\"a\"]\n"),
            "p.toml:1: \"expose\" must be written as [[expose]] tables, with double brackets");
  EXPECT_EQ(error("[[expose]]\nwhen = 'true'\n"),
            "p.toml:1: missing required key \"names\" in [[expose]]");
  EXPECT_EQ(error("[[expose]]\nnames = []\n"),
            "p.toml:2: \"names\" in [[expose]] must list at least one entry");
  EXPECT_EQ(error("[[expose]]\nnames = \"alice-*\"\n"),
            "p.toml:2: \"names\" in [[expose]] must be an array of strings, such as names = "
            "[\"…\"]");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\", 3]\n"),
            "p.toml:2: \"names\" in [[expose]] must hold only strings");
  EXPECT_EQ(error("[[expose]]\nnames = [\"Alice-*\"]\n"),
            "p.toml:2: tunnel names are lower case, so \"Alice-*\" would never match");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a.b\"]\n"),
            "p.toml:2: \"a.b\" can never match: tunnel names hold only a-z, 0-9 and -");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a-[b\"]\n"),
            "p.toml:2: bad glob \"a-[b\": the [ at position 3 is never closed with ]");
  EXPECT_EQ(error("[[expose]]\nnames = [\"\"]\n"), "p.toml:2: \"names\" must not hold \"\"");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nwhen = true\n"),
            "p.toml:3: \"when\" in [[expose]] must be an expression string");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nclass = \"robot\"\n"),
            "p.toml:3: \"class\" in [[expose]] must name human, workload or agent, not \"robot\"");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nclasses = [\"agent\", 1]\n"),
            "p.toml:3: \"classes\" in [[expose]] must name human, workload or agent");
  EXPECT_EQ(error("[[expose]]\nnames = [\"a\"]\nclasses = []\n"),
            "p.toml:3: \"classes\" in [[expose]] must list classes, such as classes = "
            "[\"human\", \"agent\"]");
  EXPECT_EQ(error("[[access]]\nnames = [\"a\"]\n"),
            "p.toml:1: an [[access]] rule needs allow or deny expressions (to deny everything, "
            "write deny = [\"true\"])");
  EXPECT_EQ(error("[[access]]\nnames = [\"a\"]\nallow = 'true'\n"),
            "p.toml:3: \"allow\" in [[access]] must be an array of strings, such as allow = "
            "[\"…\"]");
  EXPECT_EQ(error("[[access]]\nnames = [\"a\"]\nallow = ['ssh.user == \"a\"']\n"),
            "p.toml:3:11: ssh.user is known only in [[expose]] rules");
}

TEST(PolicyFile, RuleIds) {
  EXPECT_EQ(error("[[access]]\nid = \"x\"\nnames = [\"a\"]\nallow = ['true']\n"
                  "[[access]]\nnames = [\"b\"]\nid = \"x\"\nallow = ['true']\n"),
            "p.toml:7: rule id \"x\" is already used on line 2");
  EXPECT_EQ(error("[[access]]\nid = \"access[1]\"\nnames = [\"a\"]\nallow = ['true']\n"
                  "[[access]]\nnames = [\"b\"]\nallow = ['true']\n"),
            "p.toml:5: rule id \"access[1]\" is already used on line 2");
  EXPECT_EQ(error("[[access]]\nid = \"has space\"\nnames = [\"a\"]\nallow = ['true']\n"),
            "p.toml:2: \"id\" \"has space\" must be printable ASCII without spaces or quotes");
  EXPECT_EQ(error("[[access]]\nid = \"\"\nnames = [\"a\"]\nallow = ['true']\n"),
            "p.toml:2: \"id\" in [[access]] must not be empty");
  // Expose and access ids are separate namespaces.
  EXPECT_EQ(error("[[expose]]\nid = \"a\"\nnames = [\"a\"]\n"
                  "[[access]]\nid = \"a\"\nnames = [\"a\"]\nallow = ['true']\n"),
            "(no error)");
}

TEST(PolicyIdentity, MalformedTables) {
  EXPECT_EQ(error("[[identity.jwt]]\njwks = \"j\"\n"),
            "p.toml:1: missing required key \"issuer\" in [[identity.jwt]]");
  EXPECT_EQ(error("[[identity.jwt]]\nissuer = \"i\"\n"),
            "p.toml:1: missing required key \"jwks\" in [[identity.jwt]]");
  EXPECT_EQ(error("[[identity.jwt]]\nissuer = \"i\"\njwks = \"http://idp/keys\"\n"),
            "p.toml:3: \"jwks\" in [[identity.jwt]] must be a file or an https:// URL, not "
            "\"http://idp/keys\"");
  EXPECT_EQ(error("[[identity.jwt]]\nissuer = \"i\"\njwks = \"j\"\naudiences = \"a\"\n"),
            "p.toml:4: \"audiences\" in [[identity.jwt]] must be an array of strings, such as "
            "audiences = [\"…\"]");
  EXPECT_EQ(error("[[identity.jwt]]\nissuer = \"i\"\njwks = \"j\"\n"
                  "[[identity.jwt]]\nissuer = \"i\"\njwks = \"k\"\n"),
            "p.toml:4: issuer \"i\" is declared twice");
  const std::string url_issuer = "[[identity.jwt]]\nissuer = \"i\"\njwks = \"https://idp/k\"\n";
  EXPECT_EQ(error(url_issuer + "jwks_refresh_seconds = 29\n"),
            "p.toml:4: \"jwks_refresh_seconds\" in [[identity.jwt]] must be from 30 to 86400, "
            "not 29");
  EXPECT_EQ(error(url_issuer + "jwks_refresh_seconds = 86401\n"),
            "p.toml:4: \"jwks_refresh_seconds\" in [[identity.jwt]] must be from 30 to 86400, "
            "not 86401");
  EXPECT_EQ(error(url_issuer + "jwks_refresh_seconds = \"60\"\n"),
            "p.toml:4: \"jwks_refresh_seconds\" in [[identity.jwt]] must be an integer");
  EXPECT_EQ(error(url_issuer + "jwks_ca = \"\"\n"),
            "p.toml:4: \"jwks_ca\" in [[identity.jwt]] must not be empty");
  EXPECT_EQ(error(url_issuer + "jwks_ca = 1\n"),
            "p.toml:4: \"jwks_ca\" in [[identity.jwt]] must be a string");
  EXPECT_EQ(error(url_issuer + "jwks_cafile = \"x\"\n"),
            "p.toml:4: unknown key \"jwks_cafile\" in [[identity.jwt]] (known: issuer, jwks, "
            "audiences, jwks_ca, jwks_refresh_seconds)");
  EXPECT_EQ(error("[[identity.jwt]]\nissuer = \"i\"\njwks = \"j\"\njwks_ca = \"ca.pem\"\n"),
            "p.toml:4: \"jwks_ca\" in [[identity.jwt]] applies only to an https:// jwks URL");
  EXPECT_EQ(error("[[identity.jwt]]\nissuer = \"i\"\njwks = \"j\"\njwks_refresh_seconds = 60\n"),
            "p.toml:4: \"jwks_refresh_seconds\" in [[identity.jwt]] applies only to an https:// "
            "jwks URL");
  EXPECT_EQ(error(url_issuer + "jwks_refresh_seconds = 30\njwks_ca = \"/etc/ca.pem\"\n"),
            "(no error)");
  EXPECT_EQ(error("[identity]\njwt = 1\n"),
            "p.toml:2: \"jwt\" must be written as [[identity.jwt]] tables, with double brackets");
  EXPECT_EQ(error("identity = 1\n"), "p.toml:1: \"identity\" must be a table");

  std::string key = std::string(64, 'a');
  EXPECT_EQ(error("[[identity.api_key]]\nname = \"k\"\nsha256 = \"" + key.substr(1) + "\"\n"),
            "p.toml:3: \"sha256\" of API key \"k\" must be 64 hex digits (the SHA-256 of the "
            "key, as `printf %s KEY | sha256sum` prints it)");
  EXPECT_EQ(error("[[identity.api_key]]\nname = \"k\"\nsha256 = \"" + key.substr(1) + "g\"\n"),
            error("[[identity.api_key]]\nname = \"k\"\nsha256 = \"" + key.substr(1) + "\"\n"));
  EXPECT_EQ(error("[[identity.api_key]]\nname = \"k\"\nsha256 = \"" + key +
                  "\"\n"
                  "[[identity.api_key]]\nname = \"k\"\nsha256 = \"" +
                  std::string(64, 'b') + "\"\n"),
            "p.toml:4: API key name \"k\" is declared twice");
  EXPECT_EQ(error("[[identity.api_key]]\nname = \"k\"\nsha256 = \"" + key +
                  "\"\n"
                  "[[identity.api_key]]\nname = \"j\"\nsha256 = \"" +
                  key + "\"\n"),
            "p.toml:4: API key \"j\" has the same sha256 as an earlier key");
  EXPECT_EQ(error("[[identity.api_key]]\nsha256 = \"" + key + "\"\n"),
            "p.toml:1: missing required key \"name\" in [[identity.api_key]]");
}

TEST(PolicyFile, LoadsFromDisk) {
  std::string pattern = "/tmp/tg-policy-test-" + std::string(6, 'X');  // mkdtemp's template
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  std::string dir = pattern;
  std::string path = dir + "/policy.toml";
  std::ofstream(path) << kIssueExample;
  auto policy = load_policy(path);
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  EXPECT_EQ(policy->identity().jwt[0].jwks, dir + "/jwks.json");
  // A URL issuer's CA bundle: the system's by default, a relative path against the folder.
  EXPECT_EQ(policy->identity().jwt[1].jwks_ca, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(policy->identity().jwt[1].jwks_refresh_seconds, 300);
  std::ofstream(path) << "[[identity.jwt]]\nissuer = \"i\"\njwks = \"https://idp/keys\"\n"
                         "jwks_ca = \"idp-ca.pem\"\njwks_refresh_seconds = 3600\n";
  auto with_ca = load_policy(path);
  ASSERT_TRUE(with_ca.ok()) << with_ca.error().message;
  EXPECT_EQ(with_ca->identity().jwt[0].jwks_ca, dir + "/idp-ca.pem");
  EXPECT_EQ(with_ca->identity().jwt[0].jwks_refresh_seconds, 3600);
  EXPECT_EQ(with_ca->identity().jwt[0].jwks, "https://idp/keys");

  std::ofstream(path) << "[[access]]\nnames = [\"a\"]\nallow = ['jwt.sub = \"x\"']\n";
  auto broken = load_policy(path);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message, path + ":3:19: use == to compare (= alone is not an operator)");

  auto missing = load_policy(dir + "/nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, dir + "/nope.toml: cannot read: No such file or directory");
  std::filesystem::remove_all(dir);
}

TEST(PolicyFile, APolicyOutlivesItsTextAndMoves) {
  std::string text(kIssueExample);
  auto loaded = parse_policy(text, "p.toml");
  ASSERT_TRUE(loaded.ok());
  text.assign(text.size(), 'x');  // the compiled policy holds no view into the text
  Policy moved = std::move(*loaded);
  Policy target;
  target = std::move(moved);
  AccessContext context;
  context.tunnel_name = "alice-x";
  context.source_ip = *IpAddress::parse("10.1.1.1");
  context.http_method = "GET";
  AccessDecision decision = target.decide_access(context);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.rule_id, "access[0]");
}

}  // namespace
}  // namespace tg::policy
