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

// Whether `ring` receives the wake-up `wake` within a second.
bool woken(Ring& ring, Completion& wake) {
  bool seen = false;
  for (int round = 0; round < 20 && !seen; ++round) {
    ring.submit_and_wait(50);
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(ring.raw(), &cqe) == 0) {
      seen = seen || io_uring_cqe_get_data(cqe) == &wake;
      io_uring_cqe_seen(ring.raw(), cqe);
    }
  }
  return seen;
}

std::unique_ptr<Message> route_update(std::uint64_t id) {
  auto message = std::make_unique<Message>();
  message->kind = Message::Kind::kRoute;
  message->session_id = id;
  return message;
}

// Worker 0 sends worker 1 a message (session 1) before worker 1 attaches its ring, as when a
// name is granted while another worker is still starting; then worker 1 attaches.
class MailboxesSentBeforeAttach : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sender.init(64).ok());
    ASSERT_TRUE(receiver.init(64).ok());
    ASSERT_EQ(mailboxes.send(sender, 0, 1, route_update(1)), nullptr);
    io_uring_submit(sender.raw());
    mailboxes.attach(1, receiver.fd(), &wake);
  }
  Mailboxes mailboxes{2};
  Ring sender;
  Ring receiver;
  Completion wake{&on_wake, nullptr};
};

// Worker 0 may grant a name, and so send route updates, while worker 1 is still starting:
// that message must not leave a wake-up "pending" towards no ring, which would keep every
// later sender from waking worker 1.
TEST_F(MailboxesSentBeforeAttach, AMessageSentBeforeAttachDoesNotSilenceLaterWakeUps) {
  ASSERT_EQ(mailboxes.send(sender, 0, 1, route_update(2)), nullptr);
  io_uring_submit(sender.raw());
  EXPECT_TRUE(woken(receiver, wake)) << "a message sent after attach wakes the receiver";
  std::vector<std::uint64_t> taken;
  mailboxes.drain(1,
                  [&](std::unique_ptr<Message> message) { taken.push_back(message->session_id); });
  EXPECT_EQ(taken, (std::vector<std::uint64_t>{1, 2}));
}

// The drain a worker does right after attaching takes what was sent before, and from then
// on each message wakes it.
TEST_F(MailboxesSentBeforeAttach, TheFirstDrainAfterAttachTakesWhatCameBefore) {
  unsigned drained = 0;
  mailboxes.drain(1, [&](std::unique_ptr<Message>) { ++drained; });
  EXPECT_EQ(drained, 1u);
  ASSERT_EQ(mailboxes.send(sender, 0, 1, route_update(2)), nullptr);
  io_uring_submit(sender.raw());
  EXPECT_TRUE(woken(receiver, wake));
}

// Attaching races with senders on other threads (a starting worker, a serving one): under
// ThreadSanitizer this shows the ring's fd and completion are published safely, and in any
// build that nothing sent around the attach is left waiting for a wake-up that never comes.
TEST(Mailboxes, AttachingWhileAnotherWorkerSendsLosesNoWakeUp) {
  for (int trial = 0; trial < 20; ++trial) {
    Mailboxes mailboxes(2);
    Receiver receiver;
    std::atomic<bool> sent{false};
    std::thread producer([&] {
      Ring ring;
      ASSERT_TRUE(ring.init(64).ok());
      for (std::uint64_t i = 0; i < 200; ++i) {
        ASSERT_EQ(mailboxes.send(ring, 0, 1, route_update(i)), nullptr);
        io_uring_submit(ring.raw());
      }
      sent = true;
    });
    ASSERT_TRUE(receiver.ring.init(64).ok());
    mailboxes.attach(1, receiver.ring.fd(), &receiver.wake);
    std::size_t total = 0;
    auto take = [&] { mailboxes.drain(1, [&](std::unique_ptr<Message>) { ++total; }); };
    take();  // as a worker does right after attaching
    // From here on the receiver drains only when woken, as a worker does.
    while (total < 200) {
      if (!woken(receiver.ring, receiver.wake)) break;
      take();
    }
    producer.join();
    ASSERT_EQ(total, 200u) << "trial " << trial << ": messages stranded without a wake-up";
  }
}

}  // namespace
}  // namespace tg::io
