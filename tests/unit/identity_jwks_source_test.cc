// JwksSource with a fake fetcher: first fetch, answers from memory, refresh timing, changed
// documents, failed refreshes keeping the last good one, forgetting unused URLs, and early
// fetches asked for by unknown kids with their cooldown.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "relay/identity/jwks_refresh_requests.h"
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

// Issuer "a", whose document https://a/keys the server serves, refreshed every `refresh` s: the
// arrangement of the early-refresh tests.
struct IssuerA {
  IssuerA(const std::string& document, std::int64_t refresh) : source({}, server.fetcher()) {
    server.documents.emplace("https://a/keys", document);
    identity.jwt.push_back(url_issuer("a", "https://a/keys", refresh));
  }
  FakeServer server;  // before `source`, whose fetcher points at it
  JwksSource source;
  policy::Identity identity;
};

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
  IssuerA a(*first_, 60);
  auto& [server, source, identity] = a;
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

// The bit a worker sets for a url_issuer's document (the default CA bundle).
std::uint64_t bit_of(const std::string& url) {
  return jwks_document_bit(url, policy::kSystemCaBundle);
}

TEST_F(JwksSourceTest, AnAskedDocumentIsFetchedAtOnceThenAtMostOncePerCooldown) {
  IssuerA a(*first_, 3600);
  auto& [server, source, identity] = a;
  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(0)).ok());
  const std::uint64_t bit = bit_of("https://a/keys");
  ASSERT_EQ(kJwksEarlyRefreshCooldownSeconds, 30);

  // Not due by its interval, but asked for: due now, and the request is served.
  EXPECT_FALSE(source.refresh_due(10));
  EXPECT_TRUE(source.refresh_due(10, bit));
  EXPECT_EQ(source.next_refresh_at(), 3600);
  EXPECT_EQ(source.next_refresh_at(bit), 0);
  EXPECT_EQ(source.servable_requests(10, bit), bit);
  server.documents.insert_or_assign("https://a/keys", *second_);  // a key rotated in
  JwksRefresh early = source.refresh(10, bit);
  EXPECT_EQ(server.fetches, 2);
  EXPECT_EQ(early.early, std::vector<std::string>{"https://a/keys"});
  EXPECT_EQ(early.changed, std::vector<std::string>{"https://a/keys"});
  EXPECT_TRUE(early.errors.empty());
  EXPECT_EQ(source.loader(10)(identity.jwt[0]).value(), *second_);
  EXPECT_EQ(source.next_refresh_at(), 3610);  // a fresh document restarts the interval

  // Within the cooldown: not due, the request is kept (not servable), nothing is fetched.
  for (std::int64_t now : {10, 11, 25, 39}) {
    EXPECT_FALSE(source.refresh_due(now, bit)) << now;
    EXPECT_EQ(source.servable_requests(now, bit), 0u) << now;
    EXPECT_TRUE(source.refresh(now, bit).early.empty()) << now;
  }
  EXPECT_EQ(server.fetches, 2);
  EXPECT_EQ(source.next_refresh_at(bit), 40);  // where the refresh thread sleeps to

  // At the cooldown's end the waiting request is served: one more early fetch, no change.
  EXPECT_TRUE(source.refresh_due(40, bit));
  EXPECT_EQ(source.servable_requests(40, bit), bit);
  JwksRefresh again = source.refresh(40, bit);
  EXPECT_EQ(again.early.size(), 1u);
  EXPECT_TRUE(again.changed.empty());
  EXPECT_EQ(server.fetches, 3);
  EXPECT_FALSE(source.refresh_due(41, bit));
}

TEST_F(JwksSourceTest, RequestsForNoDocumentAreServedWithoutAFetch) {
  IssuerA a(*first_, 3600);
  auto& [server, source, identity] = a;
  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(0)).ok());
  // A bit no document stands for (a policy reload dropped the issuer that was asked for).
  const std::uint64_t stale = bit_of("https://a/keys") == 1 ? 2 : 1;
  EXPECT_FALSE(source.refresh_due(10, stale));
  EXPECT_EQ(source.servable_requests(10, stale), stale);  // cleared, so it cannot linger
  EXPECT_TRUE(source.refresh(10, stale).early.empty());
  EXPECT_EQ(server.fetches, 1);
}

TEST_F(JwksSourceTest, AFailedEarlyFetchKeepsTheLastGoodDocumentAndStillCoolsDown) {
  IssuerA a(*first_, 300);
  auto& [server, source, identity] = a;
  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(0)).ok());
  const std::uint64_t bit = bit_of("https://a/keys");

  server.documents.erase("https://a/keys");  // the identity provider is down
  JwksRefresh failed = source.refresh(10, bit);
  EXPECT_EQ(failed.early.size(), 1u);
  ASSERT_EQ(failed.errors.size(), 1u);
  EXPECT_EQ(failed.errors[0], "https://a/keys: HTTP 404");
  EXPECT_TRUE(failed.changed.empty());
  EXPECT_EQ(source.loader(10)(identity.jwt[0]).value(), *first_);
  EXPECT_EQ(source.next_refresh_at(), 300);  // the schedule is left alone
  // A failure counts against the cooldown: a down identity provider is not hammered.
  EXPECT_FALSE(source.refresh_due(20, bit));
  EXPECT_EQ(source.next_refresh_at(bit), 40);
  EXPECT_EQ(server.fetches, 2);
}

TEST_F(JwksSourceTest, AScheduledFetchServesARequestWaitingOnItsCooldown) {
  IssuerA a(*first_, 30);
  auto& [server, source, identity] = a;
  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(0)).ok());
  const std::uint64_t bit = bit_of("https://a/keys");

  server.documents.erase("https://a/keys");
  EXPECT_EQ(source.refresh(20, bit).errors.size(), 1u);  // early, failed: cooldown until 50
  server.documents.emplace("https://a/keys", *second_);
  EXPECT_EQ(source.servable_requests(25, bit), 0u);
  // At 30 the document is due by its interval: that fetch serves the waiting request too.
  EXPECT_EQ(source.servable_requests(30, bit), bit);
  JwksRefresh scheduled = source.refresh(30, bit);
  EXPECT_TRUE(scheduled.early.empty());
  EXPECT_EQ(scheduled.changed.size(), 1u);
  EXPECT_EQ(server.fetches, 3);
}

TEST_F(JwksSourceTest, TheCooldownOutlivesAReload) {
  IssuerA a(*first_, 3600);
  auto& [server, source, identity] = a;
  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(0)).ok());
  const std::uint64_t bit = bit_of("https://a/keys");
  server.documents.insert_or_assign("https://a/keys", *second_);
  EXPECT_EQ(source.refresh(10, bit).changed.size(), 1u);
  // The change reloads the policy: the document is kept, and so is its cooldown.
  ASSERT_TRUE(JwtVerifier::create(identity, source.loader(11)).ok());
  source.retain(identity);
  EXPECT_FALSE(source.refresh_due(12, bit));
  EXPECT_EQ(source.next_refresh_at(bit), 40);
}

}  // namespace
}  // namespace tg::identity
