#include <gtest/gtest.h>

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
// clang-format on

#include <string>
#include <vector>

#include "relay/identity/api_keys.h"
#include "relay/identity/credentials.h"
#include "relay/policy/policy.h"

namespace tg::identity {
namespace {

policy::ApiKey api_key(std::string name, std::string_view key) {
  policy::ApiKey entry;
  entry.name = std::move(name);
  wc_Sha256Hash(reinterpret_cast<const byte*>(key.data()), static_cast<word32>(key.size()),
                entry.sha256.data());
  return entry;
}

TEST(ApiKey, FindsTheNameOfAConfiguredKey) {
  const std::vector<policy::ApiKey> keys = {api_key("ci-bot", "tgk_ci_secret"),
                                            api_key("deploy", "tgk_deploy_secret")};
  ApiKeys table(keys);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.find("tgk_ci_secret"), "ci-bot");
  EXPECT_EQ(table.find("tgk_deploy_secret"), "deploy");
}

TEST(ApiKey, MissesUnknownEmptyAndOversizedKeys) {
  const std::vector<policy::ApiKey> keys = {api_key("ci-bot", "tgk_ci_secret")};
  ApiKeys table(keys);
  EXPECT_FALSE(table.find("tgk_ci_secreT"));
  EXPECT_FALSE(table.find("tgk_ci_secret "));
  EXPECT_FALSE(table.find("ci_secret"));
  EXPECT_FALSE(table.find(""));
  EXPECT_FALSE(table.find(std::string(kMaxApiKeyBytes + 1, 'a')));
  EXPECT_FALSE(ApiKeys().find("tgk_ci_secret"));
}

TEST(ApiKey, FindsEveryKeyAmongMany) {
  std::vector<policy::ApiKey> keys;
  for (int i = 0; i < 500; ++i) {
    keys.push_back(api_key("key-" + std::to_string(i), "tgk_" + std::to_string(i * 7919)));
  }
  ApiKeys table(keys);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(table.find("tgk_" + std::to_string(i * 7919)), "key-" + std::to_string(i));
  }
  EXPECT_FALSE(table.find("tgk_1"));
}

TEST(ApiKey, MatchesTheDigestsThePolicyFileHolds) {
  // `printf %s tgk_example | sha256sum`, as POLICY.md says to produce it (in upper case here).
  Result<policy::Policy> policy = policy::parse_policy(R"(
[[identity.api_key]]
name   = "ci-bot"
sha256 = "4428AB7183BB725C7994A37DFCFA2D0EABDDC9A05099849058235B18558424F6"
)",
                                                       "policy.toml");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  ApiKeys table(policy->identity().api_keys);
  EXPECT_EQ(table.find("tgk_example"), "ci-bot");
  EXPECT_FALSE(table.find("tgk_exampl"));
}

Credentials find(std::vector<policy::KeyValue> headers, std::string_view api_key_header = {}) {
  static std::vector<policy::KeyValue> kept;
  kept = std::move(headers);
  return find_credentials(policy::KeyLookup::headers(kept), api_key_header);
}

TEST(IdentityCredentials, ReadsBearerJwtsAndApiKeys) {
  Credentials jwt = find({{"Authorization", "Bearer aaa.bbb.ccc"}});
  EXPECT_EQ(jwt.jwt, "aaa.bbb.ccc");
  EXPECT_EQ(jwt.api_key, "");
  EXPECT_EQ(jwt.problem, "");
  Credentials key = find({{"authorization", "bearer   tgk_abc  "}});
  EXPECT_EQ(key.api_key, "tgk_abc");
  EXPECT_EQ(key.jwt, "");
  EXPECT_EQ(find({{"AUTHORIZATION", "BEARER\ttgk_x"}}).api_key, "tgk_x");
}

TEST(IdentityCredentials, LeavesOtherCredentialsAlone) {
  EXPECT_EQ(find({{"authorization", "Basic dXNlcjpwYXNz"}}).jwt, "");
  EXPECT_EQ(find({{"authorization", "Bearer opaque-token"}}).jwt, "");
  EXPECT_EQ(find({{"authorization", "Bearertgk_x"}}).api_key, "");
  EXPECT_EQ(find({{"authorization", "Bearer"}}).jwt, "");
  Credentials none = find({{"host", "x"}});
  EXPECT_EQ(none.jwt, "");
  EXPECT_EQ(none.api_key, "");
  EXPECT_EQ(none.problem, "");
}

TEST(IdentityCredentials, ReadsAConfiguredApiKeyHeader) {
  EXPECT_EQ(find({{"X-Api-Key", " tgk_abc "}}, "x-api-key").api_key, "tgk_abc");
  EXPECT_EQ(find({{"X-Api-Key", "tgk_abc"}}).api_key, "");  // not configured
  Credentials both =
      find({{"authorization", "Bearer a.b.c"}, {"x-api-key", "tgk_abc"}}, "x-api-key");
  EXPECT_EQ(both.jwt, "a.b.c");
  EXPECT_EQ(both.api_key, "tgk_abc");
  Credentials same =
      find({{"authorization", "Bearer tgk_abc"}, {"x-api-key", "tgk_abc"}}, "x-api-key");
  EXPECT_EQ(same.api_key, "tgk_abc");
  EXPECT_EQ(same.problem, "");
}

TEST(IdentityCredentials, RefusesAmbiguity) {
  EXPECT_EQ(find({{"authorization", "Bearer a.b.c"}, {"authorization", "Bearer d.e.f"}}).problem,
            "authorization header sent twice");
  EXPECT_EQ(find({{"x-api-key", "tgk_a"}, {"x-api-key", "tgk_b"}}, "x-api-key").problem,
            "API key header sent twice");
  EXPECT_EQ(find({{"authorization", "Bearer tgk_a"}, {"x-api-key", "tgk_b"}}, "x-api-key").problem,
            "two different API keys");
}

}  // namespace
}  // namespace tg::identity
