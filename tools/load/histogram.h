/// A log-bucketed latency histogram, in the manner of HdrHistogram, for the load generator.
///
/// Values (nanoseconds, or any unsigned count) fall into buckets whose width grows with the
/// value: below 2^kSubBits every value has its own bucket; above, each power of two is cut
/// into 2^kSubBits linear sub-buckets. So a recorded value is known to within 1/2^kSubBits
/// of itself (0.8 % with 7 bits) from 1 ns to 2^64 ns, in a fixed 7,424 counters (58 KiB),
/// with no allocation after construction and O(1) recording: one count-leading-zeros, one
/// shift, one increment. Percentiles walk the counters once.
///
/// A percentile reports the highest value its bucket can hold (never lower than the true
/// sample, at most 1/2^kSubBits above it), capped at the exact maximum recorded; min, max
/// and the mean are exact. Each thread records into its own histogram; `merge` adds them up
/// at the end, so recording never touches shared memory.
///
/// Header-only and free of I/O so the unit tests (tests/unit/load_histogram_test.cc) can
/// include it without linking the tool.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace tg::load {

class LogHistogram {
 public:
  /// 2^kSubBits linear sub-buckets per power of two: the relative precision.
  static constexpr unsigned kSubBits = 7;
  static constexpr std::uint64_t kSubCount = std::uint64_t{1} << kSubBits;
  static constexpr std::size_t kBucketCount = (65 - kSubBits) * kSubCount;

  LogHistogram() : counts_(kBucketCount, 0) {}

  /// The bucket holding `value`.
  static std::size_t index_of(std::uint64_t value) {
    if (value < kSubCount) return static_cast<std::size_t>(value);
    const unsigned exponent = 63 - static_cast<unsigned>(std::countl_zero(value));
    const unsigned shift = exponent - kSubBits;
    // The top kSubBits+1 bits of the value, in [kSubCount, 2 * kSubCount).
    const std::uint64_t mantissa = value >> shift;
    return static_cast<std::size_t>((shift + 1) * kSubCount + (mantissa - kSubCount));
  }

  /// The smallest value that falls into bucket `index`.
  static std::uint64_t lowest_in(std::size_t index) {
    if (index < kSubCount) return index;
    const std::uint64_t block = index >> kSubBits;  // 1.. : which power of two
    const std::uint64_t sub = index & (kSubCount - 1);
    return (kSubCount + sub) << (block - 1);
  }

  /// The largest value that falls into bucket `index`.
  static std::uint64_t highest_in(std::size_t index) {
    if (index < kSubCount) return index;
    const std::uint64_t block = index >> kSubBits;
    return lowest_in(index) + ((std::uint64_t{1} << (block - 1)) - 1);
  }

  void record(std::uint64_t value) {
    ++counts_[index_of(value)];
    ++total_;
    sum_ += static_cast<double>(value);
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  void merge(const LogHistogram& other) {
    for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  void clear() {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = 0;
    sum_ = 0;
    min_ = std::numeric_limits<std::uint64_t>::max();
    max_ = 0;
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t min() const { return total_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_); }

  /// The value below or at which `percent` % of the samples lie (0 < percent <= 100); 0 for an
  /// empty histogram. The sample of rank ceil(percent/100 * count) is in the bucket found.
  std::uint64_t percentile(double percent) const {
    if (total_ == 0) return 0;
    const double exact_rank = std::ceil(percent / 100.0 * static_cast<double>(total_));
    const std::uint64_t rank =
        std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::max(exact_rank, 1.0)), 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBucketCount; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(highest_in(i), max_);
    }
    return max_;
  }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  double sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

}  // namespace tg::load
