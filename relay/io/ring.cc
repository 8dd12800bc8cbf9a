#include "relay/io/ring.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace tg::io {

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

Status Ring::init(unsigned entries) {
  io_uring_params params{};
  // One thread submits and reaps: let the kernel skip cross-thread synchronisation, and run
  // completion work only when we enter the kernel to wait (fewer interruptions of the loop).
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
                 IORING_SETUP_CQSIZE;
  params.cq_entries = entries * 4;
  int rc = io_uring_queue_init_params(entries, &ring_, &params);
  deferred_taskrun_ = rc == 0;
  if (rc == -EINVAL) {
    // Older kernels: fall back to a plain ring, same semantics, a little more overhead.
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 4;
    rc = io_uring_queue_init_params(entries, &ring_, &params);
  }
  if (rc < 0) return make_error(std::string("io_uring_queue_init: ") + std::strerror(-rc));
  initialized_ = true;
  return Ok{};
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* entry = io_uring_get_sqe(&ring_);
  while (entry == nullptr) {
    io_uring_submit(&ring_);
    entry = io_uring_get_sqe(&ring_);
  }
  return entry;
}

int Ring::submit_and_wait(unsigned timeout_ms) {
  __kernel_timespec ts{};
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
  io_uring_cqe* cqe = nullptr;
  int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  if (rc == -ETIME || rc == -EINTR) return 0;
  return rc;
}

unsigned Ring::dispatch() {
  // Copy a batch out and advance the queue before running handlers: handlers submit new
  // work, and a free completion queue is what keeps the kernel from overflowing it.
  constexpr unsigned kBatch = 256;
  // io_uring_cqe ends in a flexible array member (the upper half of 32-byte CQEs, which this
  // ring does not use), so standard C++ cannot hold it in an array: the batch keeps the
  // three fields and each handler gets a whole io_uring_cqe rebuilt from them.
  struct ReapedEntry {
    __u64 user_data;
    __s32 res;
    __u32 flags;
  };
  ReapedEntry batch[kBatch];
  unsigned total = 0;
  for (;;) {
    unsigned count = 0;
    unsigned head = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      batch[count++] = ReapedEntry{cqe->user_data, cqe->res, cqe->flags};
      if (count == kBatch) break;
    }
    if (count == 0) return total;
    io_uring_cq_advance(&ring_, count);
    for (unsigned i = 0; i < count; ++i) {
      io_uring_cqe entry{};
      entry.user_data = batch[i].user_data;
      entry.res = batch[i].res;
      entry.flags = batch[i].flags;
      auto* completion = static_cast<Completion*>(io_uring_cqe_get_data(&entry));
      if (completion != nullptr && completion->fn != nullptr) {
        completion->fn(completion->owner, entry);
      }
    }
    total += count;
  }
}

}  // namespace tg::io
