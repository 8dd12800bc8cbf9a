// The outbox (what must not be dropped waits there while the receiver's queue is full) and
// late route updates: a visitor routed after its publisher heard "ready" is routed by the new
// claim even when the route update is stuck in the granting worker's outbox. The first test
// runs two workers' threads and is also run under ThreadSanitizer (the `tsan` preset: its
// suite name falls under the `Mailboxes*` filter).
#include "relay/io/outbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "relay/io/mailbox.h"
#include "relay/io/ring.h"
#include "relay/routing/name_registry.h"
#include "relay/routing/route_table.h"

namespace tg::io {
namespace {

std::unique_ptr<Message> filler() {
  auto message = std::make_unique<Message>();
  message->kind = Message::Kind::kReleaseSource;
  return message;
}

std::unique_ptr<Message> route_update(const std::string& name, unsigned worker,
                                      std::uint64_t session_id, std::uint64_t generation,
                                      bool online) {
  auto message = std::make_unique<Message>();
  message->kind = Message::Kind::kRoute;
  message->name = name;
  message->worker = worker;
  message->session_id = session_id;
  message->generation = generation;
  message->online = online;
  return message;
}

// What a worker does with the messages it takes: route updates go into its table.
void take(Mailboxes& mailboxes, unsigned worker, RouteTable& table) {
  mailboxes.drain(worker, [&](std::unique_ptr<Message> message) {
    if (message->kind != Message::Kind::kRoute) return;
    if (message->online) {
      table.set_online(
          message->name,
          NameOwner{message->worker, message->session_id, {}, true, message->generation});
    } else {
      table.set_offline(message->name, message->session_id, message->generation);
    }
  });
}

// Worker 0 grants "x" to a new session while worker 1's queue from it is full; its publisher
// hears "ready"; then worker 1 takes its messages (the queue empties, but the update still
// waits in worker 0's outbox) and routes a visitor for "x".
TEST(MailboxesOutbox, AVisitorAfterReadyMeetsTheNewClaimWhileItsUpdateWaitsInTheOutbox) {
  Mailboxes mailboxes(2);
  NameRegistry registry;
  RouteTable table_of_worker_1;
  // An earlier claim of "x" came and went, and worker 1 heard both: its table says offline.
  const auto first = registry.claim("x", NameOwner{0, 7, "SHA256:key", true});
  ASSERT_EQ(first.outcome, NameRegistry::Outcome::kGranted);
  table_of_worker_1.set_online("x", NameOwner{0, 7, {}, true, first.generation});
  ASSERT_TRUE(registry.release("x", 7).has_value());
  table_of_worker_1.set_offline("x", 7, first.generation);

  Outbox outbox(mailboxes, 0, 2);
  std::atomic<bool> ready{false};
  std::atomic<bool> routed{false};
  std::atomic<bool> flushed{false};
  std::uint64_t granted = 0;

  std::thread worker_0([&] {
    Ring ring;
    ASSERT_TRUE(ring.init(64).ok());
    for (std::uint64_t i = 0; i < Mailboxes::kCapacity; ++i) outbox.send(ring, 1, filler());
    ASSERT_EQ(outbox.waiting(1), 0u);
    const auto claim = registry.claim("x", NameOwner{0, 9, "SHA256:key", true});
    ASSERT_EQ(claim.outcome, NameRegistry::Outcome::kGranted);
    granted = claim.generation;
    outbox.send(ring, 1, route_update("x", 0, 9, claim.generation, true));
    ASSERT_EQ(outbox.waiting(1), 1u) << "the queue is full: the update waits";
    ready = true;  // tcpip-forward answered, URL printed
    while (!routed) std::this_thread::yield();
    outbox.flush(ring);  // the next loop round
    EXPECT_EQ(outbox.waiting(1), 0u);
    flushed = true;
  });

  std::optional<NameOwner> routed_to;
  std::uint64_t late_after_catching_up = 1;
  std::optional<NameOwner> from_table;
  std::thread worker_1([&] {
    while (!ready) std::this_thread::yield();
    // A visitor arrives: take what is queued, then route as VisitorIntake::route does.
    take(mailboxes, 1, table_of_worker_1);
    routed_to = route_owner(table_of_worker_1, registry, "x", mailboxes.late_routes(1) > 0);
    routed = true;
    while (!flushed) std::this_thread::yield();
    take(mailboxes, 1, table_of_worker_1);
    late_after_catching_up = mailboxes.late_routes(1);
    if (const NameOwner* known = table_of_worker_1.find("x")) from_table = *known;
  });
  worker_0.join();
  worker_1.join();

  ASSERT_TRUE(routed_to.has_value()) << "404 for a published name";
  EXPECT_TRUE(routed_to->online) << "502: routed by the table the update has not reached";
  EXPECT_EQ(routed_to->worker, 0u);
  EXPECT_EQ(routed_to->session_id, 9u);
  EXPECT_EQ(late_after_catching_up, 0u) << "the update was taken: the table is current again";
  ASSERT_TRUE(from_table.has_value());
  EXPECT_TRUE(from_table->online);
  EXPECT_EQ(from_table->generation, granted);
}

TEST(MailboxesOutbox, OnlyRouteUpdatesThatWaitAreLateAndTakingThemEndsIt) {
  Mailboxes mailboxes(2);
  Ring ring;
  ASSERT_TRUE(ring.init(64).ok());
  Outbox outbox(mailboxes, 0, 2);
  RouteTable table;
  outbox.send(ring, 1, route_update("a", 0, 1, 1, true));
  EXPECT_EQ(mailboxes.late_routes(1), 0u) << "queued at once: not late";
  for (std::uint64_t i = 1; i < Mailboxes::kCapacity; ++i) outbox.send(ring, 1, filler());
  outbox.send(ring, 1, filler());  // waits: the queue is full
  outbox.send(ring, 1, route_update("b", 0, 2, 2, true));
  EXPECT_EQ(outbox.waiting(1), 2u);
  EXPECT_EQ(mailboxes.late_routes(1), 1u) << "behind a waiting message, the update is late too";
  EXPECT_EQ(mailboxes.late_routes(0), 0u);

  take(mailboxes, 1, table);
  EXPECT_EQ(mailboxes.late_routes(1), 1u) << "still in the outbox";
  outbox.flush(ring);
  EXPECT_EQ(outbox.waiting(1), 0u);
  EXPECT_EQ(mailboxes.late_routes(1), 1u) << "queued, not yet taken";
  take(mailboxes, 1, table);
  EXPECT_EQ(mailboxes.late_routes(1), 0u);
  ASSERT_NE(table.find("b"), nullptr);
  EXPECT_EQ(table.find("b")->generation, 2u);
}

TEST(MailboxesOutbox, MessagesWaitInOrderPerReceiver) {
  Mailboxes mailboxes(3);
  Ring ring;
  ASSERT_TRUE(ring.init(64).ok());
  Outbox outbox(mailboxes, 0, 3);
  for (std::uint64_t i = 0; i < Mailboxes::kCapacity + 3; ++i) {
    auto message = filler();
    message->session_id = i;
    outbox.send(ring, 1, std::move(message));
  }
  outbox.send(ring, 2, filler());
  EXPECT_EQ(outbox.waiting(1), 3u);
  EXPECT_EQ(outbox.waiting(2), 0u) << "a full queue holds up only its own receiver";
  std::vector<std::uint64_t> taken;
  auto collect = [&](std::unique_ptr<Message> message) { taken.push_back(message->session_id); };
  mailboxes.drain(1, collect);
  outbox.flush(ring);
  mailboxes.drain(1, collect);
  ASSERT_EQ(taken.size(), Mailboxes::kCapacity + 3);
  for (std::uint64_t i = 0; i < taken.size(); ++i) ASSERT_EQ(taken[i], i);
}

}  // namespace
}  // namespace tg::io
