// JwksSource with a fake fetcher: first fetch, answers from memory, refresh timing, changed
// documents, failed refreshes keeping the last good one, and forgetting unused URLs.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "relay/identity/jwks_source.h"
#include "relay/identity/jws_signer.h"

namespace tg::identity {
namespace {

std::string key_set(const char* kid) {
  auto key = SigningKey::generate(JwsAlgorithm::kES256, kid);
  EXPECT_TRUE(key.ok());
  return "{\"keys\":[" + key->public_jwk() + "]}";
}

policy::JwtIssuer url_issuer(std::string name, std::string url, std::int64_t refresh = 300) {
  policy::JwtIssuer issuer;
  issuer.issuer = std::move(name);
  issuer.jwks = std::move(url);
  issuer.jwks_is_url = true;
  issuer.jwks_refresh_seconds = refresh;
  issuer.line = 1;
  return issuer;
}

// Answers each URL from `documents` (an absent one: "HTTP 404"), counting fetches and noting
// the CA file each asked for.
struct FakeServer {
  std::map<std::string, Result<std::string>> documents;
  int fetches = 0;
  std::string last_ca;

  JwksSource::Fetcher fetcher() {
    return [this](std::string_view url, const FetchOptions& options) -> Result<std::string> {
      ++fetches;
      last_ca = options.ca_file;
      auto found = documents.find(std::string(url));
      if (found == documents.end()) return make_error(std::string(url) + ": HTTP 404");
      return found->second;
    };
  }
};

class JwksSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    first_ = new std::string(key_set("one"));
    second_ = new std::string(key_set("two"));
  }
  static void TearDownTestSuite() {
    delete first_;
    delete second_;
  }
  static std::string* first_;
  static std::string* second_;
};

std::string* JwksSourceTest::first_ = nullptr;
std::string* JwksSourceTest::second_ = nullptr;

TEST_F(JwksSourceTest, FetchesAUrlOnceAndAnswersReloadsFromMemory) {
  FakeServer server;
  server.documents.emplace("https://a/keys", *first_);
  JwksSource source({}, server.fetcher());
  policy::Identity identity;
  identity.jwt.push_back(url_issuer("a", "https://a/keys"));
  identity.jwt[0].jwks_ca = "/ca.pem";
  identity.jwt.push_back(url_issuer("b", "https://a/keys"));  // shares the document
  identity.jwt[1].jwks_ca = "/ca.pem";

  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(100)).ok());
  EXPECT_EQ(server.fetches, 1);
  EXPECT_EQ(server.last_ca, "/ca.pem");
  EXPECT_EQ(source.document_count(), 1u);
  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(150)).ok());  // a reload
  EXPECT_EQ(server.fetches, 1);
  EXPECT_FALSE(source.refresh_due(399));
  EXPECT_TRUE(source.refresh_due(400));
  EXPECT_EQ(source.next_refresh_at(), 400);
}

TEST_F(JwksSourceTest, ReadsFileIssuersFromDisk) {
  JwksSource source({}, FakeServer{}.fetcher());
  policy::JwtIssuer issuer;
  issuer.issuer = "f";
  issuer.jwks = "/nonexistent/jwks.json";
  EXPECT_EQ(source.loader(0)(issuer).error().message,
            "cannot read /nonexistent/jwks.json: No such file or directory");
  EXPECT_EQ(source.next_refresh_at(), std::nullopt);
  EXPECT_FALSE(source.refresh_due(1'000'000));
}

TEST_F(JwksSourceTest, RefreshReportsChangesAndKeepsTheLastGoodDocument) {
  FakeServer server;
  server.documents.emplace("https://a/keys", *first_);
  JwksSource source({}, server.fetcher());
  policy::Identity identity;
  identity.jwt.push_back(url_issuer("a", "https://a/keys", 60));
  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(0)).ok());

  JwksRefresh same = source.refresh(60);
  EXPECT_TRUE(same.changed.empty());
  EXPECT_TRUE(same.errors.empty());
  EXPECT_EQ(source.refresh(100).changed.size(), 0u);  // not due: no fetch
  EXPECT_EQ(server.fetches, 2);

  // The server fails: the old keys stay, the error is reported, and a retry comes in 30 s.
  server.documents.erase("https://a/keys");
  JwksRefresh failed = source.refresh(120);
  EXPECT_TRUE(failed.changed.empty());
  ASSERT_EQ(failed.errors.size(), 1u);
  EXPECT_EQ(failed.errors[0], "https://a/keys: HTTP 404");
  EXPECT_EQ(source.next_refresh_at(), 150);
  EXPECT_EQ(source.loader(120)(identity.jwt[0]).value(), *first_);

  // A 200 that is no usable key set is a failure too.
  server.documents.emplace("https://a/keys", std::string("{\"keys\":[]}"));
  JwksRefresh broken = source.refresh(150);
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_EQ(broken.errors[0].substr(0, 22), "https://a/keys: jwks: ");
  EXPECT_EQ(source.loader(150)(identity.jwt[0]).value(), *first_);

  // Rotated keys: reported as changed, answered by the loader, next fetch a full interval on.
  server.documents.insert_or_assign("https://a/keys", *second_);
  JwksRefresh rotated = source.refresh(180);
  ASSERT_EQ(rotated.changed.size(), 1u);
  EXPECT_EQ(rotated.changed[0], "https://a/keys");
  EXPECT_TRUE(rotated.errors.empty());
  EXPECT_EQ(source.loader(180)(identity.jwt[0]).value(), *second_);
  EXPECT_EQ(source.next_refresh_at(), 240);
}

TEST_F(JwksSourceTest, AFailedFirstFetchKeepsNothing) {
  FakeServer server;
  JwksSource source({}, server.fetcher());
  policy::Identity identity;
  identity.jwt.push_back(url_issuer("a", "https://a/keys"));
  auto verifier = JwtVerifier::create(identity, source.loader(0));
  ASSERT_FALSE(verifier.ok());
  EXPECT_EQ(verifier.error().message, "issuer \"a\" (line 1): https://a/keys: HTTP 404");
  EXPECT_EQ(source.document_count(), 0u);

  server.documents.emplace("https://a/keys", *first_);  // the next load tries again
  EXPECT_TRUE(JwtVerifier::create(identity, source.loader(10)).ok());
  EXPECT_EQ(server.fetches, 2);
}

TEST_F(JwksSourceTest, RetainForgetsUnusedUrlsAndTakesNewIntervals) {
  FakeServer server;
  server.documents.emplace("https://a/keys", *first_);
  server.documents.emplace("https://b/keys", *second_);
  JwksSource source({}, server.fetcher());
  policy::Identity both;
  both.jwt.push_back(url_issuer("a", "https://a/keys", 300));
  both.jwt.push_back(url_issuer("b", "https://b/keys", 300));
  ASSERT_TRUE(JwtVerifier::create(both, source.loader(0)).ok());
  EXPECT_EQ(source.document_count(), 2u);

  policy::Identity only_a;
  only_a.jwt.push_back(url_issuer("a", "https://a/keys", 60));
  source.retain(only_a);
  EXPECT_EQ(source.document_count(), 1u);
  EXPECT_EQ(source.next_refresh_at(), 60);  // the shorter interval brings the fetch forward
  // The same URL with another CA bundle is another document.
  only_a.jwt[0].jwks_ca = "/other-ca.pem";
  ASSERT_TRUE(JwtVerifier::create(only_a, source.loader(10)).ok());
  EXPECT_EQ(server.fetches, 3);
  EXPECT_EQ(source.document_count(), 2u);
  source.retain(only_a);
  EXPECT_EQ(source.document_count(), 1u);
  EXPECT_EQ(source.next_refresh_at(), 70);
}

}  // namespace
}  // namespace tg::identity
