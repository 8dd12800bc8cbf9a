#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "tools/load/histogram.h"
#include "tools/load/schedule.h"

namespace tg::load {
namespace {

constexpr std::uint64_t kStart = 1'000'000'000'000;  // an arbitrary CLOCK_MONOTONIC reading
constexpr std::uint64_t kSecond = 1'000'000'000;

TEST(LoadSchedule, RequestsAreDueAtStartPlusNOverRate) {
  const OpenLoopSchedule s(kStart, 1000.0, 1);
  EXPECT_EQ(s.due_ns(0), kStart);
  EXPECT_EQ(s.due_ns(1), kStart + 1'000'000);
  EXPECT_EQ(s.due_ns(999), kStart + 999'000'000);
  EXPECT_EQ(s.due_ns(1'000'000'000), kStart + 1'000'000 * kSecond);  // 11.6 days in, still exact
}

TEST(LoadSchedule, ConnectionsInterleaveToCoverTheGlobalTimetableOnce) {
  const std::uint32_t m = 7;
  const OpenLoopSchedule s(kStart, 3333.3, m);
  std::set<std::uint64_t> seen;
  for (std::uint32_t c = 0; c < m; ++c) {
    std::uint64_t previous = 0;
    for (std::uint64_t j = 0; j < 100; ++j) {
      const std::uint64_t n = s.global_index(c, j);
      EXPECT_EQ(n % m, c);
      EXPECT_TRUE(seen.insert(n).second) << n;
      EXPECT_EQ(s.due_ns(c, j), s.due_ns(n));
      if (j > 0) {
        EXPECT_GT(s.due_ns(c, j), previous);  // each connection's own times increase
      }
      previous = s.due_ns(c, j);
    }
  }
  EXPECT_EQ(seen.size(), 700u);
  EXPECT_EQ(*seen.rbegin(), 699u);
}

TEST(LoadSchedule, DueCountAgreesWithDueTimesToTheNanosecond) {
  for (double rate : {1.0, 7.0, 1000.0, 3333.3, 1e6, 2.5e6}) {
    for (std::uint32_t m : {1u, 3u, 16u}) {
      const OpenLoopSchedule s(kStart, rate, m);
      for (std::uint32_t c = 0; c < m; c += (m > 4 ? 5 : 1)) {
        EXPECT_EQ(s.due_count(c, kStart - 1), 0u);
        for (std::uint64_t j = 0; j < 200; ++j) {
          const std::uint64_t due = s.due_ns(c, j);
          ASSERT_EQ(s.due_count(c, due), j + 1) << rate << " " << m << " " << c << " " << j;
          ASSERT_EQ(s.due_count(c, due - 1), j) << rate << " " << m << " " << c << " " << j;
        }
      }
    }
  }
}

TEST(LoadSchedule, TotalDueIsTheSumOverConnections) {
  const std::uint32_t m = 5;
  const OpenLoopSchedule s(kStart, 12345.6, m);
  std::mt19937_64 random(11);
  for (int i = 0; i < 500; ++i) {
    const std::uint64_t now = kStart - 1000 + random() % (3 * kSecond);
    std::uint64_t sum = 0;
    for (std::uint32_t c = 0; c < m; ++c) sum += s.due_count(c, now);
    ASSERT_EQ(s.total_due(now), sum) << now;
  }
}

TEST(LoadSchedule, AWindowHoldsRateTimesItsLength) {
  const OpenLoopSchedule s(kStart, 2000.0, 16);
  EXPECT_EQ(s.due_between(kStart + kSecond, kStart + 3 * kSecond), 4000u);
  EXPECT_EQ(s.due_between(kStart, kStart + kSecond / 2), 1000u);
  EXPECT_EQ(s.due_between(kStart + kSecond, kStart + kSecond), 0u);
  // A non-integer period: the count is the rate's, within one request.
  const OpenLoopSchedule odd(kStart, 333.3, 3);
  const auto count = static_cast<double>(odd.due_between(kStart + kSecond, kStart + 11 * kSecond));
  EXPECT_NEAR(count, 3333.0, 1.0);
}

// Why latency is measured from the timetable: one connection, 1,000 requests/s, 100 µs of
// service, and the server stalls for one second at t = 2 s. Measured from the scheduled
// times, every request due during the stall shows it; measured from when each request was
// actually sent (what a closed loop does), the stall is a single slow sample.
TEST(LoadSchedule, MeasuringFromScheduledTimesKeepsAStallVisible) {
  const OpenLoopSchedule s(kStart, 1000.0, 1);
  const std::uint64_t service = 100'000;
  const std::uint64_t stall_begin = kStart + 2 * kSecond;
  const std::uint64_t stall_end = stall_begin + kSecond;
  LogHistogram from_schedule;
  LogHistogram from_send;
  std::uint64_t free_at = kStart;  // when the connection can send again
  for (std::uint64_t j = 0; j < 5000; ++j) {
    const std::uint64_t due = s.due_ns(0, j);
    const std::uint64_t sent = std::max(due, free_at);  // queued on the busy connection
    std::uint64_t done = sent + service;
    if (sent < stall_end && done > stall_begin) done = stall_end + service;
    free_at = done;
    from_schedule.record(done - due);
    from_send.record(done - sent);
  }
  // About a thousand requests were due during the stall: over 1 % of 5,000 see >= 100 ms.
  EXPECT_GE(from_schedule.percentile(99), 100'000'000u);
  EXPECT_GE(from_schedule.percentile(90), 10'000'000u);
  // From the send time, the same run looks healthy at p99.
  EXPECT_LT(from_send.percentile(99), 1'000'000u);
  EXPECT_GE(from_send.max(), 900'000'000u);  // one sample holds the whole stall
}

}  // namespace
}  // namespace tg::load
