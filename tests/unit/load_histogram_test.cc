#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "tools/load/histogram.h"

namespace tg::load {
namespace {

using H = LogHistogram;

// The exact sample a percentile names: rank ceil(p/100 * n), 1-based, in sorted order.
std::uint64_t exact_percentile(std::vector<std::uint64_t> values, double percent) {
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(
      std::max(1.0, std::ceil(percent / 100.0 * static_cast<double>(values.size()))));
  return values[std::min(rank, values.size()) - 1];
}

TEST(LoadHistogram, BucketsTileTheWholeRangeWithoutGapsOrOverlap) {
  EXPECT_EQ(H::lowest_in(0), 0u);
  for (std::size_t i = 0; i + 1 < H::kBucketCount; ++i) {
    ASSERT_LE(H::lowest_in(i), H::highest_in(i)) << i;
    ASSERT_EQ(H::highest_in(i) + 1, H::lowest_in(i + 1)) << i;
  }
  EXPECT_EQ(H::highest_in(H::kBucketCount - 1), std::numeric_limits<std::uint64_t>::max());
}

TEST(LoadHistogram, EveryValueFallsInsideItsBucket) {
  std::vector<std::uint64_t> values;
  for (std::uint64_t v = 0; v < 5000; ++v) values.push_back(v);
  for (unsigned bit = 0; bit < 64; ++bit) {
    const std::uint64_t p = std::uint64_t{1} << bit;
    values.insert(values.end(), {p - 1, p, p + 1});
  }
  std::mt19937_64 random(42);
  for (int i = 0; i < 20000; ++i) values.push_back(random() >> (random() % 64));
  values.push_back(std::numeric_limits<std::uint64_t>::max());
  for (std::uint64_t v : values) {
    const std::size_t index = H::index_of(v);
    ASSERT_LT(index, H::kBucketCount) << v;
    ASSERT_LE(H::lowest_in(index), v) << v;
    ASSERT_GE(H::highest_in(index), v) << v;
  }
}

TEST(LoadHistogram, BucketWidthIsWithinTheStatedPrecision) {
  for (std::size_t i = H::kSubCount; i < H::kBucketCount; ++i) {
    const long double width = static_cast<long double>(H::highest_in(i) - H::lowest_in(i)) + 1;
    ASSERT_LE(width / static_cast<long double>(H::lowest_in(i)), 1.0L / H::kSubCount) << i;
  }
}

TEST(LoadHistogram, SmallValuesAreExact) {
  H h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(0.001), 1u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LoadHistogram, PercentilesAreWithinBucketPrecisionOfTheExactSample) {
  // Latency-like: log-uniform from 10 µs to 1 s, plus a slow tail, in nanoseconds.
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> exponent(4.0, 9.0);
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 100000; ++i) {
    values.push_back(static_cast<std::uint64_t>(std::pow(10.0, exponent(random))));
  }
  for (int i = 0; i < 50; ++i) values.push_back(5'000'000'000u + static_cast<std::uint64_t>(i));
  H h;
  for (std::uint64_t v : values) h.record(v);
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const std::uint64_t exact = exact_percentile(values, p);
    const std::uint64_t reported = h.percentile(p);
    // Never below the true sample; at most one bucket width (1/128) above it.
    EXPECT_GE(reported, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(reported),
              static_cast<double>(exact) * (1.0 + 1.0 / H::kSubCount))
        << "p" << p;
  }
  EXPECT_EQ(h.percentile(100), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(h.count(), values.size());
}

TEST(LoadHistogram, APercentileNeverExceedsTheMaximum) {
  H h;
  h.record(1'000'001);  // the bucket's upper edge lies above this value
  EXPECT_EQ(h.percentile(50), 1'000'001u);
  EXPECT_EQ(h.percentile(100), 1'000'001u);
  EXPECT_EQ(h.min(), 1'000'001u);
}

TEST(LoadHistogram, MergeEqualsRecordingEverythingInOne) {
  H a;
  H b;
  H all;
  std::mt19937_64 random(3);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t v = random() % 50'000'000;
    (i % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
}

TEST(LoadHistogram, EmptyAndClearedHistogramsReportZero) {
  H h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  h.record(12345);
  h.clear();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  H other;
  other.merge(h);  // merging an empty one changes nothing
  EXPECT_EQ(other.count(), 0u);
  EXPECT_EQ(other.min(), 0u);
}

TEST(LoadHistogram, ExtremeValuesDoNotOverflow) {
  H h;
  h.record(0);
  h.record(std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.percentile(100), std::numeric_limits<std::uint64_t>::max());
}

}  // namespace
}  // namespace tg::load
