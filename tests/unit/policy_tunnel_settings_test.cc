// Policy::tunnel_settings: what the access rules covering a name say besides allow and deny.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "relay/policy/policy.h"

namespace tg::policy {
namespace {

Policy load(std::string_view text) {
  auto policy = parse_policy(text, "p.toml");
  EXPECT_TRUE(policy.ok()) << policy.error().message;
  return policy.ok() ? std::move(*policy) : Policy();
}

std::vector<std::string> strings(const std::vector<std::string_view>& views) {
  return {views.begin(), views.end()};
}

std::string error(std::string_view text) {
  auto policy = parse_policy(text, "p.toml");
  return policy.ok() ? "(no error)" : policy.error().message;
}

TEST(TunnelSettings, MergesEveryRuleCoveringTheName) {
  Policy policy = load(R"(
[[access]]
names = ["notes-*"]
mcp = true
allow = ['jwt.groups.contains("mcp-users")']
origins = ["https://app.example.com"]
scopes = ["mcp:tools"]

[[access]]
names = ["*"]
allow = ['source.ip in cidr("10.0.0.0/8")']
origins = ["https://app.example.com", "http://localhost:6274"]

[[access]]
names = ["billing"]
allow = ['api_key.name == "ci-bot"']
deny = ['jwt.sub == "mallory"']
scopes = ["billing:read", "billing:write"]
)");
  TunnelSettings notes = policy.tunnel_settings("notes-alice");
  EXPECT_TRUE(notes.mcp);
  EXPECT_TRUE(notes.reads_jwt);
  EXPECT_FALSE(notes.reads_api_key);
  EXPECT_TRUE(notes.wants_identity());
  EXPECT_EQ(strings(notes.origins),
            (std::vector<std::string>{"https://app.example.com", "http://localhost:6274"}));
  EXPECT_EQ(strings(notes.scopes), std::vector<std::string>{"mcp:tools"});

  // A deny expression reading jwt.* does not make a tunnel ask for a token; an allow does.
  TunnelSettings billing = policy.tunnel_settings("billing");
  EXPECT_FALSE(billing.mcp);
  EXPECT_FALSE(billing.reads_jwt);
  EXPECT_TRUE(billing.reads_api_key);
  EXPECT_EQ(strings(billing.scopes), (std::vector<std::string>{"billing:read", "billing:write"}));

  TunnelSettings other = policy.tunnel_settings("other");
  EXPECT_FALSE(other.mcp);
  EXPECT_FALSE(other.wants_identity());
  EXPECT_EQ(other.origins.size(), 2u);
  EXPECT_TRUE(other.scopes.empty());
}

TEST(TunnelSettings, EmptyPolicyHasNone) {
  TunnelSettings none = Policy().tunnel_settings("x");
  EXPECT_FALSE(none.mcp);
  EXPECT_FALSE(none.wants_identity());
  EXPECT_TRUE(none.origins.empty());
}

TEST(TunnelSettings, MalformedSettingsAreLoadErrors) {
  EXPECT_EQ(error("[[access]]\nnames = [\"a\"]\nallow = ['true']\nmcp = \"yes\"\n"),
            "p.toml:4: \"mcp\" in [[access]] must be true or false");
  EXPECT_EQ(
      error("[[access]]\nnames = [\"a\"]\nallow = ['true']\norigins = [\"app.example.com\"]\n"),
      "p.toml:4: an origin is scheme://host[:port], such as \"https://app.example.com\", "
      "not \"app.example.com\"");
  EXPECT_EQ(
      error("[[access]]\nnames = [\"a\"]\nallow = ['true']\norigins = [\"https://a.example/x\"]\n"),
      "p.toml:4: an origin is scheme://host[:port], such as \"https://app.example.com\", not "
      "\"https://a.example/x\"");
  EXPECT_EQ(error("[[access]]\nnames = [\"a\"]\nallow = ['true']\nscopes = [\"a b\"]\n"),
            "p.toml:4: a scope is one OAuth scope token (no spaces or quotes), not \"a b\"");
}

}  // namespace
}  // namespace tg::policy
