// JwksDocuments with a fake fetcher, on its real refresh thread: a reload (a policy load, as
// worker 0 runs it) never waits for a refresh's fetch, which may take seconds. Also run under
// ThreadSanitizer (the `tsan` preset): the fetch runs unlocked beside the load.
#include "relay/worker/jwks_documents.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "relay/identity/jws_signer.h"

namespace tg {
namespace {

constexpr char kUrl[] = "https://idp.test/jwks.json";

// Answers the first fetch at once; every later one (the refresh's) waits until `release`, or
// 10 s at most, so that a test that fails ends rather than hangs.
struct SlowServer {
  std::mutex mutex;
  std::condition_variable changed;
  std::string document;
  int fetches = 0;
  bool released = false;
  bool slow_fetch_started = false;
  bool slow_fetch_ended = false;

  identity::JwksSource::Fetcher fetcher() {
    return [this](std::string_view, const identity::FetchOptions&) -> Result<std::string> {
      std::unique_lock lock(mutex);
      if (++fetches == 1) return document;
      slow_fetch_started = true;
      changed.notify_all();
      changed.wait_for(lock, std::chrono::seconds(10), [this] { return released; });
      slow_fetch_ended = true;
      changed.notify_all();
      return document;
    };
  }
};

class JwksDocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/tg-jwks-documents-" + std::string(6, 'X');  // mkdtemp's template
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    policy_path_ = dir_ + "/policy.toml";
    std::ofstream(policy_path_) << "[[expose]]\nnames = [\"*\"]\n\n[[access]]\nnames = [\"*\"]\n"
                                   "allow = ['jwt.sub == \"alice\"']\n\n[[identity.jwt]]\n"
                                   "issuer = \"https://idp.test\"\njwks = \""
                                << kUrl << "\"\n";
    auto key = identity::SigningKey::generate(identity::JwsAlgorithm::kES256, "one");
    ASSERT_TRUE(key.ok());
    server_.document = "{\"keys\":[" + key->public_jwk() + "]}";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string policy_path_;
  SlowServer server_;
};

TEST_F(JwksDocumentsTest, AReloadDuringASlowRefreshFetchDoesNotWaitForIt) {
  JwksDocuments documents(identity::JwksSource({}, server_.fetcher()));
  ASSERT_TRUE(documents.load(policy_path_).ok());
  documents.start_refreshing([] {});
  // As a token naming an unknown kid would: the refresh thread fetches the document at once.
  documents.refresh_requests().ask(~std::uint64_t{0});
  {
    std::unique_lock lock(server_.mutex);
    ASSERT_TRUE(server_.changed.wait_for(lock, std::chrono::seconds(10), [this] {
      return server_.slow_fetch_started;
    })) << "no refresh fetch started";
  }

  // The identity provider has not answered yet: a reload must complete all the same.
  auto reloaded = documents.load(policy_path_);
  bool fetch_ended_first = false;
  int fetches = 0;
  {
    std::lock_guard lock(server_.mutex);
    fetch_ended_first = server_.slow_fetch_ended;
    fetches = server_.fetches;
    server_.released = true;
  }
  server_.changed.notify_all();
  EXPECT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_FALSE(fetch_ended_first) << "the reload waited for the refresh's fetch to end";
  EXPECT_EQ(fetches, 2) << "the reload answered from the document held";
  documents.stop_refreshing();
}

}  // namespace
}  // namespace tg
