// The per-source connection cap's counting and the memory budget's arithmetic, apart from
// the event loop (tests/integration/test_source_and_memory_limits.py drives them end to end).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "relay/http/http.h"
#include "relay/limits/memory_budget.h"
#include "relay/limits/source_limiter.h"

namespace tg {
namespace {

sockaddr_storage address(const char* text, std::uint16_t port) {
  sockaddr_storage storage{};
  if (std::string_view(text).find(':') == std::string_view::npos) {
    auto& in4 = reinterpret_cast<sockaddr_in&>(storage);
    in4.sin_family = AF_INET;
    in4.sin_port = htons(port);
    inet_pton(AF_INET, text, &in4.sin_addr);
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(storage);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    inet_pton(AF_INET6, text, &in6.sin6_addr);
  }
  return storage;
}

TEST(SourceKey, IPv4IsWholeAndPortsDoNotMatter) {
  EXPECT_EQ(SourceKey::of(address("10.0.0.1", 1)), SourceKey::of(address("10.0.0.1", 2)));
  EXPECT_NE(SourceKey::of(address("10.0.0.1", 1)), SourceKey::of(address("10.0.0.2", 1)));
}

TEST(SourceKey, IPv6IsCountedByItsSlash64) {
  EXPECT_EQ(SourceKey::of(address("2001:db8:1:2::1", 1)),
            SourceKey::of(address("2001:db8:1:2:ffff::9", 2)));
  EXPECT_NE(SourceKey::of(address("2001:db8:1:2::1", 1)),
            SourceKey::of(address("2001:db8:1:3::1", 1)));
  // An IPv4-mapped address is one IPv4 host, the same as that host over IPv4.
  EXPECT_EQ(SourceKey::of(address("::ffff:10.0.0.1", 1)), SourceKey::of(address("10.0.0.1", 1)));
  EXPECT_NE(SourceKey::of(address("::ffff:10.0.0.1", 1)),
            SourceKey::of(address("::ffff:10.0.0.2", 1)));
}

TEST(SourceLimiter, RefusesBeyondTheCapAndAdmitsAgainAfterARelease) {
  SourceLimiter limiter(2);
  const SourceKey a = SourceKey::of(address("192.0.2.1", 1));
  const SourceKey b = SourceKey::of(address("192.0.2.2", 1));
  EXPECT_TRUE(limiter.admit(a));
  EXPECT_TRUE(limiter.admit(a));
  EXPECT_FALSE(limiter.admit(a));
  EXPECT_EQ(limiter.open_from(a), 2u) << "a refusal counts nothing";
  EXPECT_TRUE(limiter.admit(b)) << "other sources are not affected";
  limiter.release(a);
  EXPECT_TRUE(limiter.admit(a));
  limiter.release(a);
  limiter.release(a);
  limiter.release(b);
  EXPECT_EQ(limiter.sources(), 0u) << "sources without open connections hold no entry";
  limiter.release(a);  // a stray release is harmless
  EXPECT_EQ(limiter.open_from(a), 0u);
}

TEST(SourceLimiter, AFullTableRefusesNewSourcesOnly) {
  SourceLimiter limiter(10, /*max_sources=*/2);
  const SourceKey a = SourceKey::of(address("192.0.2.1", 1));
  const SourceKey b = SourceKey::of(address("192.0.2.2", 1));
  const SourceKey c = SourceKey::of(address("192.0.2.3", 1));
  EXPECT_TRUE(limiter.admit(a));
  EXPECT_TRUE(limiter.admit(b));
  EXPECT_FALSE(limiter.admit(c));
  EXPECT_TRUE(limiter.admit(a)) << "known sources still count up to the cap";
}

TEST(SourceLimiter, ZeroCapCountsNothing) {
  SourceLimiter limiter(0);
  const SourceKey a = SourceKey::of(address("192.0.2.1", 1));
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.admit(a));
  EXPECT_EQ(limiter.sources(), 0u);
}

TEST(MemoryBudget, EachWorkerSeesTheOthersAfterTheirRefresh) {
  MemoryBudget budget(1000, 2);
  WorkerMemory zero(budget, 0), one(budget, 1);
  zero.charge(600);
  EXPECT_FALSE(zero.over_budget());
  one.charge(300);
  zero.refresh();
  one.refresh();
  zero.refresh();
  EXPECT_FALSE(zero.over_budget()) << "600 + 300 is under 1000";
  one.charge(200);
  EXPECT_TRUE(one.over_budget()) << "its own bytes count at once: 500 + 600 published";
  EXPECT_FALSE(zero.over_budget()) << "the others' only after their next round";
  one.refresh();
  zero.refresh();
  EXPECT_TRUE(zero.over_budget());
  one.charge(-500);
  one.refresh();
  zero.refresh();
  EXPECT_FALSE(zero.over_budget());
}

TEST(MemoryBudget, ZeroMeansNoBudget) {
  MemoryBudget budget(0, 1);
  WorkerMemory only(budget, 0);
  only.charge(std::int64_t{1} << 40);
  EXPECT_FALSE(only.over_budget());
}

TEST(ErrorResponse, A503SaysWhenToRetry) {
  const std::string response = http::make_error_response(503, "busy", true);
  EXPECT_NE(response.find("\r\nretry-after: 1\r\n"), std::string::npos) << response;
  EXPECT_EQ(http::make_error_response(502, "gone", true).find("retry-after"), std::string::npos);
}

}  // namespace
}  // namespace tg
