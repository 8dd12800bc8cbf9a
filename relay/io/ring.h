/// One worker's io_uring: submission helpers and completion dispatch.
///
/// Every worker owns exactly one Ring and is the only thread that submits to it, so the ring
/// is created with IORING_SETUP_SINGLE_ISSUER and IORING_SETUP_DEFER_TASKRUN (completions
/// are processed when the worker asks for them, not by interrupting it) where the kernel
/// has them. Each submission carries a pointer to the `Completion` that handles its result;
/// the owner of a Completion keeps it alive until every operation it submitted has
/// completed (see `IoObject`). Submissions are batched: nothing reaches the kernel until
/// the loop's next `submit_and_wait`, so one io_uring_enter carries a whole round of work.
#pragma once

#include <liburing.h>

#include <cstdint>

#include "relay/base/result.h"

namespace tg::io {

/// What an operation calls when it completes. Stateless function pointer plus the object it
/// belongs to: no virtual dispatch, no allocation per operation.
struct Completion {
  void (*fn)(void* owner, const io_uring_cqe& cqe) = nullptr;
  void* owner = nullptr;
};

/// Base for objects with operations in flight: counts them, so the object is destroyed only
/// once the kernel can no longer write into it.
struct IoObject {
  std::uint32_t in_flight = 0;
  bool closing = false;
};

class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  Status init(unsigned entries);
  io_uring* raw() { return &ring_; }
  int fd() const { return ring_.ring_fd; }
  bool deferred_taskrun() const { return deferred_taskrun_; }

  /// A free submission entry; submits what is queued first when the queue is full.
  io_uring_sqe* sqe();

  static void set_completion(io_uring_sqe* sqe, Completion* completion) {
    io_uring_sqe_set_data(sqe, completion);
  }

  /// Submits queued entries and waits for at least one completion (or `timeout_ms`).
  int submit_and_wait(unsigned timeout_ms);

  /// Calls each pending completion's handler; returns how many ran.
  unsigned dispatch();

 private:
  io_uring ring_{};
  bool initialized_ = false;
  bool deferred_taskrun_ = false;
};

}  // namespace tg::io
