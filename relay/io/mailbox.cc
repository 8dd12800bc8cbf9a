#include "relay/io/mailbox.h"

#include <unistd.h>

namespace tg::io {

Mailboxes::Mailboxes(unsigned workers, std::uint64_t visitor_limit)
    : workers_(workers),
      visitor_limit_(visitor_limit < kCapacity ? visitor_limit : kCapacity),
      queues_(static_cast<std::size_t>(workers) * workers),
      targets_(workers) {}

Mailboxes::~Mailboxes() {
  for (unsigned to = 0; to < workers_; ++to) {
    drain(to, [](std::unique_ptr<Message> message) {
      if (message->fd >= 0) ::close(message->fd);
    });
  }
}

void Mailboxes::attach(unsigned worker, int ring_fd, Completion* wake) {
  targets_[worker].ring_fd = ring_fd;
  targets_[worker].wake = wake;
}

std::unique_ptr<Message> Mailboxes::send(Ring& ring, unsigned from, unsigned to,
                                         std::unique_ptr<Message> message) {
  Queue& q = queue(from, to);
  const std::uint64_t tail = q.tail.load(std::memory_order_relaxed);
  const std::uint64_t limit = message->kind == Message::Kind::kVisitor ? visitor_limit_ : kCapacity;
  if (tail - q.head.load(std::memory_order_acquire) >= limit) return message;
  q.slots[tail & (kCapacity - 1)] = message.release();
  // A store then a load here, a store then a load in drain(): all four sequentially
  // consistent, so either the receiver's drain reads this tail, or this exchange reads the
  // receiver's "no wake-up pending" and sends one. (Release/acquire alone lets each side miss
  // the other's store, and a message then waits for the next wake-up.)
  q.tail.store(tail + 1, std::memory_order_seq_cst);

  Target& target = targets_[to];
  if (target.wake_pending.exchange(true, std::memory_order_seq_cst)) return nullptr;
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_msg_ring(sqe, target.ring_fd, 0, reinterpret_cast<std::uint64_t>(target.wake), 0);
  // Only the receiver needs a completion; a successful send posts nothing on ours.
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data(sqe, nullptr);
  return nullptr;
}

}  // namespace tg::io
