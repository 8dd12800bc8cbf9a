#include "relay/io/mailbox.h"

#include <unistd.h>

namespace tg::io {

Mailboxes::Mailboxes(unsigned endpoints, std::uint64_t visitor_limit)
    : endpoints_(endpoints),
      visitor_limit_(visitor_limit < kCapacity ? visitor_limit : kCapacity),
      queues_(static_cast<std::size_t>(endpoints) * endpoints),
      targets_(endpoints) {}

Mailboxes::~Mailboxes() {
  for (unsigned to = 0; to < endpoints_; ++to) {
    drain(to, [](std::unique_ptr<Message> message) {
      if (message->fd >= 0) ::close(message->fd);
    });
  }
}

void Mailboxes::attach(unsigned worker, int ring_fd, Completion* wake) {
  targets_[worker].wake = wake;
  // Published after `wake` (a sender that sees the fd sees both), and ordered with the drain
  // that follows: see send().
  targets_[worker].ring_fd.store(ring_fd, std::memory_order_seq_cst);
}

std::unique_ptr<Message> Mailboxes::send(Ring& ring, unsigned from, unsigned to,
                                         std::unique_ptr<Message> message) {
  Queue& q = queue(from, to);
  const std::uint64_t tail = q.tail.load(std::memory_order_relaxed);
  const std::uint64_t limit = message->kind == Message::Kind::kVisitor ? visitor_limit_ : kCapacity;
  if (tail - q.head.load(std::memory_order_acquire) >= limit) return message;
  q.slots[tail & (kCapacity - 1)] = message.release();
  // A store then loads here (the tail, then the receiver's ring and wake-up flag), stores then
  // a load in attach() and drain() (the ring, the flag, then the tails): all sequentially
  // consistent, so either the receiver's next drain reads this tail, or this side sees its ring
  // and its "no wake-up pending" and sends one. (Release/acquire alone lets each side miss the
  // other's store, and a message then waits for the next wake-up.)
  q.tail.store(tail + 1, std::memory_order_seq_cst);

  Target& target = targets_[to];
  // Not attached yet: its first drain takes the message. Waking now would send to no ring
  // yet mark a wake-up pending, and with one "pending" no later sender would wake it again.
  const int ring_fd = target.ring_fd.load(std::memory_order_seq_cst);
  if (ring_fd < 0) return nullptr;
  if (target.wake_pending.exchange(true, std::memory_order_seq_cst)) return nullptr;
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_msg_ring(sqe, ring_fd, 0, reinterpret_cast<std::uint64_t>(target.wake), 0);
  // Only the receiver needs a completion; a successful send posts nothing on ours.
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data(sqe, nullptr);
  return nullptr;
}

}  // namespace tg::io
