// identify_caller: credentials found, checked, and which headers carried them.
#include "relay/proxy/caller.h"

#include <gtest/gtest.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "relay/identity/jws_signer.h"

namespace tg {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kTunnel = "https://app.tunnel.test";
constexpr const char* kKey = "tgk_build-bot-key";

class CallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = identity::SigningKey::generate(identity::JwsAlgorithm::kES256, "k1");
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<identity::SigningKey>(std::move(*key));
    policy::Identity config;
    config.jwt.push_back({"https://idp.test", "memory", false, {}, 1});
    policy::ApiKey api_key;
    api_key.name = "build-bot";
    wc_Sha256Hash(reinterpret_cast<const byte*>(kKey), static_cast<word32>(std::strlen(kKey)),
                  api_key.sha256.data());
    config.api_keys.push_back(api_key);
    const identity::SigningKey* keys[] = {key_.get()};
    const std::string jwks = identity::jwks_json(keys);
    auto sources = identity::build_sources(
        config, [&](const policy::JwtIssuer&) -> Result<std::string> { return jwks; });
    ASSERT_TRUE(sources.ok()) << sources.error().message;
    sources_ = std::make_unique<identity::Sources>(std::move(*sources));
  }

  std::string token(const std::string& sub, std::int64_t exp = kNow + 600) {
    auto signed_token =
        key_->sign_jwt(R"({"iss":"https://idp.test","aud":")" + std::string(kTunnel) +
                       R"(","sub":")" + sub + R"(","exp":)" + std::to_string(exp) + "}");
    EXPECT_TRUE(signed_token.ok());
    return *signed_token;
  }

  Caller identify(std::vector<policy::KeyValue> headers, std::string_view api_key_header = {}) {
    headers_ = std::move(headers);
    return identify_caller(policy::KeyLookup::headers(headers_), api_key_header, *sources_, cache_,
                           kTunnel, kNow);
  }

  std::unique_ptr<identity::SigningKey> key_;
  std::unique_ptr<identity::Sources> sources_;
  identity::TokenCache cache_;
  std::vector<policy::KeyValue> headers_;
};

TEST_F(CallerTest, NoCredentialIsAnonymous) {
  Caller caller = identify({{"accept", "*/*"}, {"authorization", "Basic dTpw"}});
  EXPECT_EQ(caller.status, Caller::Status::kAnonymous);
  EXPECT_EQ(caller.subject(), "");
  EXPECT_FALSE(caller.authorization_consumed);
}

TEST_F(CallerTest, AVerifiedTokenNamesItsSubjectAndIsConsumed) {
  const std::string jwt = token("alice");
  const std::string authorization = "Bearer " + jwt;
  Caller caller = identify({{"Authorization", authorization}});
  ASSERT_EQ(caller.status, Caller::Status::kIdentified) << caller.detail;
  EXPECT_EQ(caller.subject(), "alice");
  EXPECT_TRUE(caller.authorization_consumed);
  EXPECT_EQ(caller.valid_until, kNow + 600 + 60 - 1);
  policy::AccessContext context;
  caller.fill(context);
  EXPECT_EQ(context.jwt_sub, "alice");
}

TEST_F(CallerTest, ABadTokenIsRefusedWithAPhraseAndTheExactReasonForTheLog) {
  const std::string authorization = "Bearer " + token("alice", kNow - 3600);
  Caller caller = identify({{"authorization", authorization}});
  EXPECT_EQ(caller.status, Caller::Status::kRefused);
  EXPECT_EQ(caller.error, "the token expired");
  EXPECT_EQ(caller.detail, "expired");
  EXPECT_EQ(caller.token, nullptr);
}

TEST_F(CallerTest, ApiKeysFromAuthorizationOrTheConfiguredHeader) {
  Caller bearer = identify({{"authorization", std::string("Bearer ") + kKey}});
  ASSERT_EQ(bearer.status, Caller::Status::kIdentified);
  EXPECT_EQ(bearer.subject(), "build-bot");
  EXPECT_TRUE(bearer.authorization_consumed);
  EXPECT_FALSE(bearer.api_key_header_consumed);

  Caller header = identify({{"X-Api-Key", kKey}}, "x-api-key");
  ASSERT_EQ(header.status, Caller::Status::kIdentified);
  EXPECT_EQ(header.api_key_name, "build-bot");
  EXPECT_TRUE(header.api_key_header_consumed);
  EXPECT_FALSE(header.authorization_consumed);

  Caller unknown = identify({{"authorization", "Bearer tgk_guess"}});
  EXPECT_EQ(unknown.status, Caller::Status::kRefused);
  EXPECT_EQ(unknown.api_key_name, "");
}

TEST_F(CallerTest, AmbiguousCredentialsAreRefused) {
  Caller caller = identify({{"authorization", "Bearer tgk_a"}, {"authorization", "Bearer tgk_b"}});
  EXPECT_EQ(caller.status, Caller::Status::kRefused);
  EXPECT_EQ(caller.error, "authorization header sent twice");
}

}  // namespace
}  // namespace tg
