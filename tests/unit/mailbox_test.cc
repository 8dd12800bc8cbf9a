// The cross-worker mailboxes under real threads, each with its own io_uring as the workers
// have: every message arrives once, in order per sender, and the receiver is woken through
// its ring; a full queue hands the message back instead of losing it. Also run under
// ThreadSanitizer (the `tsan` preset) to check the ring's memory ordering.
#include "relay/io/mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "relay/io/ring.h"

namespace tg::io {
namespace {

constexpr unsigned kMessages = 20'000;

struct Receiver {
  Ring ring;
  Completion wake{};
  std::vector<std::uint64_t> received[2];
  std::atomic<bool> ready{false};
};

void on_wake(void*, const io_uring_cqe&) {}

TEST(Mailboxes, EveryMessageArrivesOnceInOrderAcrossThreads) {
  Mailboxes mailboxes(3);  // workers 0 and 1 send to worker 2
  Receiver receiver;
  std::atomic<unsigned> done_senders{0};

  std::thread consumer([&] {
    ASSERT_TRUE(receiver.ring.init(256).ok());
    receiver.wake = {&on_wake, &receiver};
    mailboxes.attach(2, receiver.ring.fd(), &receiver.wake);
    receiver.ready = true;
    std::size_t total = 0;
    while (total < 2 * kMessages) {
      receiver.ring.submit_and_wait(50);
      receiver.ring.dispatch();
      mailboxes.drain(2, [&](std::unique_ptr<Message> message) {
        receiver.received[message->worker].push_back(message->session_id);
        ++total;
      });
    }
  });
  while (!receiver.ready) std::this_thread::yield();

  auto producer = [&](unsigned from) {
    Ring ring;
    ASSERT_TRUE(ring.init(256).ok());
    for (std::uint64_t i = 0; i < kMessages; ++i) {
      auto message = std::make_unique<Message>();
      message->kind = Message::Kind::kRoute;
      message->worker = from;
      message->session_id = i;
      while ((message = mailboxes.send(ring, from, 2, std::move(message))) != nullptr) {
        io_uring_submit(ring.raw());  // full: let the receiver catch up, then retry
        std::this_thread::yield();
      }
      if (i % 64 == 0) io_uring_submit(ring.raw());
    }
    io_uring_submit(ring.raw());
    ++done_senders;
  };
  std::thread first(producer, 0u);
  std::thread second(producer, 1u);
  first.join();
  second.join();
  consumer.join();
  for (unsigned from = 0; from < 2; ++from) {
    ASSERT_EQ(receiver.received[from].size(), kMessages);
    for (std::uint64_t i = 0; i < kMessages; ++i) {
      ASSERT_EQ(receiver.received[from][i], i) << "sender " << from;
    }
  }
}

TEST(Mailboxes, AFullQueueHandsTheMessageBack) {
  Mailboxes mailboxes(2);
  Ring ring;
  ASSERT_TRUE(ring.init(64).ok());
  Completion wake{&on_wake, nullptr};
  mailboxes.attach(1, ring.fd(), &wake);
  unsigned accepted = 0;
  std::unique_ptr<Message> refused;
  for (unsigned i = 0; i < 10'000 && refused == nullptr; ++i) {
    auto message = std::make_unique<Message>();
    message->session_id = i;
    refused = mailboxes.send(ring, 0, 1, std::move(message));
    if (refused == nullptr) ++accepted;
  }
  ASSERT_NE(refused, nullptr) << "the queue is bounded";
  EXPECT_EQ(refused->session_id, accepted) << "the refused message comes back intact";
  EXPECT_EQ(mailboxes.depth(1), accepted);
  unsigned drained = 0;
  mailboxes.drain(1, [&](std::unique_ptr<Message>) { ++drained; });
  EXPECT_EQ(drained, accepted);
  EXPECT_EQ(mailboxes.depth(1), 0u);
}

TEST(Mailboxes, VisitorHandoffsLeaveRoomForControlMessages) {
  Mailboxes mailboxes(2, /*visitor_limit=*/2);
  Ring ring;
  ASSERT_TRUE(ring.init(64).ok());
  Completion wake{&on_wake, nullptr};
  mailboxes.attach(1, ring.fd(), &wake);
  auto visitor = [] {
    auto message = std::make_unique<Message>();
    message->kind = Message::Kind::kVisitor;
    return message;
  };
  EXPECT_EQ(mailboxes.send(ring, 0, 1, visitor()), nullptr);
  EXPECT_EQ(mailboxes.send(ring, 0, 1, visitor()), nullptr);
  EXPECT_NE(mailboxes.send(ring, 0, 1, visitor()), nullptr) << "the third handoff is refused";
  auto route = std::make_unique<Message>();
  route->kind = Message::Kind::kRoute;
  EXPECT_EQ(mailboxes.send(ring, 0, 1, std::move(route)), nullptr) << "a route update still fits";
  unsigned drained = 0;
  mailboxes.drain(1, [&](std::unique_ptr<Message>) { ++drained; });
  EXPECT_EQ(drained, 3u);
  EXPECT_EQ(mailboxes.send(ring, 0, 1, visitor()), nullptr) << "room again once taken";
}

TEST(Mailboxes, AZeroVisitorLimitRefusesEveryHandoff) {
  Mailboxes mailboxes(2, 0);
  Ring ring;
  ASSERT_TRUE(ring.init(64).ok());
  Completion wake{&on_wake, nullptr};
  mailboxes.attach(1, ring.fd(), &wake);
  auto message = std::make_unique<Message>();
  message->kind = Message::Kind::kVisitor;
  message->fd = 12345;
  auto refused = mailboxes.send(ring, 0, 1, std::move(message));
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->fd, 12345) << "the socket comes back to the caller, never lost";
  EXPECT_EQ(mailboxes.depth(1), 0u);
}

}  // namespace
}  // namespace tg::io
