#include <gtest/gtest.h>

#include <string>

#include "relay/identity/jws_signer.h"
#include "relay/identity/token_cache.h"

namespace tg::identity {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kTunnel = "https://app.tunnel.test";

class JwtCache : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<SigningKey> generated = SigningKey::generate(JwsAlgorithm::kEdDSA, "ed-1");
    ASSERT_TRUE(generated.ok());
    key_ = std::make_unique<SigningKey>(std::move(generated).value());
    verifier_ = std::make_unique<JwtVerifier>(make_verifier());
  }

  JwtVerifier make_verifier() {
    policy::Identity identity;
    identity.jwt.push_back({"https://idp.test", "memory", false, {}, 1});
    const SigningKey* keys[] = {key_.get()};
    const std::string jwks = jwks_json(keys);
    Result<JwtVerifier> verifier = JwtVerifier::create(
        identity, [&](const policy::JwtIssuer&) -> Result<std::string> { return jwks; });
    EXPECT_TRUE(verifier.ok());
    return std::move(verifier).value();
  }

  std::string token(const std::string& sub, std::int64_t exp = kNow + 600,
                    const std::string& aud = kTunnel) {
    Result<std::string> signed_token =
        key_->sign_jwt(R"({"iss":"https://idp.test","aud":")" + aud + R"(","sub":")" + sub +
                       R"(","groups":["ops"],"exp":)" + std::to_string(exp) + "}");
    EXPECT_TRUE(signed_token.ok());
    return *signed_token;
  }

  std::unique_ptr<SigningKey> key_;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(JwtCache, AHitReturnsTheSameClaimsWithoutVerifying) {
  TokenCache cache;
  const std::string alice = token("alice");
  Result<const VerifiedToken*> first = cache.verify(*verifier_, alice, kTunnel, kNow);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(cache.stats().misses, 1u);
  EXPECT_EQ(cache.size(), 1u);
  Result<const VerifiedToken*> second = cache.verify(*verifier_, alice, kTunnel, kNow + 5);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(*second, *first);
  EXPECT_EQ((*second)->subject(), "alice");
  policy::AccessContext context;
  (*second)->fill(context);
  EXPECT_TRUE(context.jwt_groups.contains("ops"));
}

TEST_F(JwtCache, KeepsTokensApart) {
  TokenCache cache;
  const std::string alice = token("alice"), bob = token("bob");
  ASSERT_TRUE(cache.verify(*verifier_, alice, kTunnel, kNow).ok());
  ASSERT_TRUE(cache.verify(*verifier_, bob, kTunnel, kNow).ok());
  EXPECT_EQ((*cache.verify(*verifier_, alice, kTunnel, kNow))->subject(), "alice");
  EXPECT_EQ((*cache.verify(*verifier_, bob, kTunnel, kNow))->subject(), "bob");
  EXPECT_EQ(cache.stats().hits, 2u);
  EXPECT_EQ(cache.stats().misses, 2u);
}

TEST_F(JwtCache, AnEntryExpiresWithItsToken) {
  TokenCache cache;
  const std::string short_lived = token("alice", kNow + 100);
  ASSERT_TRUE(cache.verify(*verifier_, short_lived, kTunnel, kNow).ok());
  // exp + leeway (60 s) - 1 is the last second it is accepted, cached or not.
  EXPECT_TRUE(cache.verify(*verifier_, short_lived, kTunnel, kNow + 159).ok());
  EXPECT_EQ(cache.stats().hits, 1u);
  Result<const VerifiedToken*> late = cache.verify(*verifier_, short_lived, kTunnel, kNow + 160);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().message, "expired");
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.stats().expirations, 1u);
  EXPECT_EQ(verifier_->verify(short_lived, kTunnel, kNow + 160).error().message, "expired");
  // Asked again, it is verified again and refused the same way.
  EXPECT_EQ(cache.verify(*verifier_, short_lived, kTunnel, kNow + 161).error().message, "expired");
}

TEST_F(JwtCache, AHitStillChecksTheAudience) {
  TokenCache cache;
  const std::string alice = token("alice");
  ASSERT_TRUE(cache.verify(*verifier_, alice, kTunnel, kNow).ok());
  Result<const VerifiedToken*> elsewhere =
      cache.verify(*verifier_, alice, "https://other.tunnel.test", kNow);
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().message, "wrong audience");
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST_F(JwtCache, DoesNotRememberFailures) {
  TokenCache cache;
  std::string forged = token("alice");
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(cache.verify(*verifier_, forged, kTunnel, kNow).ok());
  EXPECT_FALSE(cache.verify(*verifier_, forged, kTunnel, kNow).ok());
  EXPECT_EQ(cache.stats().misses, 2u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(JwtCache, ForgetsEverythingWhenTheVerifierChanges) {
  TokenCache cache;
  const std::string alice = token("alice");
  ASSERT_TRUE(cache.verify(*verifier_, alice, kTunnel, kNow).ok());
  // A reload whose JWKS no longer holds the key: the token must stop working at once.
  Result<SigningKey> other = SigningKey::generate(JwsAlgorithm::kEdDSA, "ed-2");
  ASSERT_TRUE(other.ok());
  const SigningKey* keys[] = {&*other};
  const std::string rotated = jwks_json(keys);
  policy::Identity identity;
  identity.jwt.push_back({"https://idp.test", "memory", false, {}, 1});
  Result<JwtVerifier> reloaded = JwtVerifier::create(
      identity, [&](const policy::JwtIssuer&) -> Result<std::string> { return rotated; });
  ASSERT_TRUE(reloaded.ok());
  EXPECT_NE(reloaded->id(), verifier_->id());
  Result<const VerifiedToken*> after = cache.verify(*reloaded, alice, kTunnel, kNow);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().message, "unknown kid");
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(JwtCache, StaysWithinItsCapacity) {
  TokenCache cache(4);
  std::vector<std::string> tokens;
  for (int i = 0; i < 10; ++i) tokens.push_back(token("user" + std::to_string(i)));
  for (const std::string& each : tokens) {
    Result<const VerifiedToken*> verified = cache.verify(*verifier_, each, kTunnel, kNow);
    ASSERT_TRUE(verified.ok());
    EXPECT_LE(cache.size(), 4u);
  }
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.stats().evictions, 6u);
  // Every token still answers correctly, from the cache or not.
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      Result<const VerifiedToken*> verified = cache.verify(*verifier_, tokens[i], kTunnel, kNow);
      ASSERT_TRUE(verified.ok());
      EXPECT_EQ((*verified)->subject(), "user" + std::to_string(i));
    }
  }
  EXPECT_EQ(cache.size(), 4u);
}

TEST_F(JwtCache, ClockKeepsAReferencedEntry) {
  TokenCache cache(2);
  const std::string a = token("a"), b = token("b"), c = token("c");
  ASSERT_TRUE(cache.verify(*verifier_, a, kTunnel, kNow).ok());
  ASSERT_TRUE(cache.verify(*verifier_, b, kTunnel, kNow).ok());
  ASSERT_TRUE(cache.verify(*verifier_, a, kTunnel, kNow).ok());  // a referenced
  ASSERT_TRUE(cache.verify(*verifier_, c, kTunnel, kNow).ok());  // evicts b
  const std::uint64_t hits = cache.stats().hits;
  ASSERT_TRUE(cache.verify(*verifier_, a, kTunnel, kNow).ok());
  EXPECT_EQ(cache.stats().hits, hits + 1);
  ASSERT_TRUE(cache.verify(*verifier_, b, kTunnel, kNow).ok());
  EXPECT_EQ(cache.stats().hits, hits + 1);  // b was gone
}

TEST_F(JwtCache, ExpiredEntriesMakeRoomFirst) {
  TokenCache cache(2);
  const std::string soon = token("soon", kNow + 10), later = token("later", kNow + 6000);
  ASSERT_TRUE(cache.verify(*verifier_, soon, kTunnel, kNow).ok());
  ASSERT_TRUE(cache.verify(*verifier_, later, kTunnel, kNow).ok());
  ASSERT_TRUE(cache.verify(*verifier_, soon, kTunnel, kNow).ok());   // referenced
  ASSERT_TRUE(cache.verify(*verifier_, later, kTunnel, kNow).ok());  // referenced
  const std::string fresh = token("fresh", kNow + 6000);
  ASSERT_TRUE(cache.verify(*verifier_, fresh, kTunnel, kNow + 1000).ok());
  EXPECT_EQ(cache.stats().expirations, 1u);
  EXPECT_EQ(cache.stats().evictions, 0u);
  const std::uint64_t hits = cache.stats().hits;
  ASSERT_TRUE(cache.verify(*verifier_, later, kTunnel, kNow + 1000).ok());
  EXPECT_EQ(cache.stats().hits, hits + 1);
}

TEST_F(JwtCache, ManyTokensSurviveIndexChurn) {
  // Exercises probing and backward-shift deletion with a small index.
  TokenCache cache(8);
  std::vector<std::string> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back(token("u" + std::to_string(i), kNow + 60 + i * 7));
  for (int step = 0; step < 400; ++step) {
    const std::size_t i = static_cast<std::size_t>((step * 17 + step / 3) % 40);
    const std::int64_t now = kNow + step;
    Result<const VerifiedToken*> verified = cache.verify(*verifier_, tokens[i], kTunnel, now);
    const bool valid = now <= kNow + 60 + static_cast<std::int64_t>(i) * 7 + 59;
    ASSERT_EQ(verified.ok(), valid) << step;
    if (valid) {
      EXPECT_EQ((*verified)->subject(), "u" + std::to_string(i));
    }
    ASSERT_LE(cache.size(), 8u);
  }
}

}  // namespace
}  // namespace tg::identity
