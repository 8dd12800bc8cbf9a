/// The process-wide budget for bytes held in visitor connections' buffers.
///
/// Every connection has fixed caps on its buffers, but many connections together could still
/// grow the process without bound. Each worker counts exactly what its own connections hold
/// (`WorkerMemory`, no atomics), and once per loop round publishes its total in its own slot
/// of the shared `MemoryBudget` (a relaxed store on a cache line no one else writes) and reads
/// the others' (relaxed loads). A worker therefore sees the others' usage as of their last
/// round: the budget is soft by at most what other workers took within one round, which the
/// per-connection caps bound. Over the budget, new connections and new requests get 503 with
/// Retry-After; exchanges in progress go on and release memory as they finish.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace tg {

class MemoryBudget {
 public:
  /// `budget_bytes` 0: no budget.
  MemoryBudget(std::uint64_t budget_bytes, unsigned workers)
      : budget_bytes_(budget_bytes), workers_(workers), slots_(std::make_unique<Slot[]>(workers)) {}

  std::uint64_t budget_bytes() const { return budget_bytes_; }
  /// Worker `worker` holds `bytes` now.
  void publish(unsigned worker, std::uint64_t bytes) {
    slots_[worker].bytes.store(bytes, std::memory_order_relaxed);
  }
  /// What every worker but `worker` last published.
  std::uint64_t held_by_others(unsigned worker) const {
    std::uint64_t total = 0;
    for (unsigned other = 0; other < workers_; ++other) {
      if (other != worker) total += slots_[other].bytes.load(std::memory_order_relaxed);
    }
    return total;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> bytes{0};
  };
  const std::uint64_t budget_bytes_;
  const unsigned workers_;
  std::unique_ptr<Slot[]> slots_;
};

/// One worker's share: exact for its own connections, refreshed from the others every round.
class WorkerMemory {
 public:
  WorkerMemory(MemoryBudget& budget, unsigned worker) : budget_(budget), worker_(worker) {}

  /// A connection's buffers grew (positive) or shrank (negative) by `delta` bytes.
  void charge(std::int64_t delta) {
    held_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(held_) + delta);
  }
  std::uint64_t held() const { return held_; }
  /// Publishes this worker's total and takes in the others'; once per loop round.
  void refresh() {
    budget_.publish(worker_, held_);
    others_ = budget_.held_by_others(worker_);
  }
  /// True when new connections and requests should be refused.
  bool over_budget() const {
    return budget_.budget_bytes() != 0 && held_ + others_ >= budget_.budget_bytes();
  }

 private:
  MemoryBudget& budget_;
  unsigned worker_;
  std::uint64_t held_ = 0;
  std::uint64_t others_ = 0;
};

}  // namespace tg
