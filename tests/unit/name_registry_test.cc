#include "relay/routing/name_registry.h"

#include <gtest/gtest.h>

#include <optional>

#include "relay/routing/route_table.h"

namespace tg {
namespace {

NameOwner owner(unsigned worker, std::uint64_t session, std::string key,
                std::uint64_t generation = 0) {
  return NameOwner{worker, session, std::move(key), true, generation};
}

TEST(NameRegistry, GrantsFreeNamesAndRefusesOtherKeys) {
  NameRegistry registry;
  EXPECT_EQ(registry.claim("notes", owner(0, 1, "SHA256:a")).outcome,
            NameRegistry::Outcome::kGranted);
  const auto refused = registry.claim("notes", owner(1, 2, "SHA256:b"));
  EXPECT_EQ(refused.outcome, NameRegistry::Outcome::kHeldByOtherKey);
  EXPECT_EQ(refused.previous.session_id, 1u);
  EXPECT_EQ(registry.find("notes")->session_id, 1u) << "a refused claim changes nothing";
}

TEST(NameRegistry, SameKeyTakesOverAndTheOldReleaseIsIgnored) {
  NameRegistry registry;
  ASSERT_EQ(registry.claim("notes", owner(0, 1, "SHA256:a")).outcome,
            NameRegistry::Outcome::kGranted);
  const auto taken = registry.claim("notes", owner(1, 7, "SHA256:a"));
  EXPECT_EQ(taken.outcome, NameRegistry::Outcome::kTakenOver);
  EXPECT_EQ(taken.previous.worker, 0u);
  EXPECT_EQ(taken.previous.session_id, 1u);
  registry.release("notes", 1);  // the old session ends afterwards
  ASSERT_TRUE(registry.find("notes").has_value());
  EXPECT_TRUE(registry.find("notes")->online);
  EXPECT_EQ(registry.find("notes")->session_id, 7u);
  EXPECT_EQ(registry.claim("notes", owner(1, 7, "SHA256:a")).outcome,
            NameRegistry::Outcome::kAlreadyYours);
}

TEST(NameRegistry, ReleasedNamesStayKnownAsOfflineAndAnyKeyMayClaimThem) {
  NameRegistry registry;
  registry.claim("notes", owner(0, 1, "SHA256:a"));
  registry.release("notes", 1);
  ASSERT_TRUE(registry.find("notes").has_value());
  EXPECT_FALSE(registry.find("notes")->online);
  EXPECT_FALSE(registry.find("other").has_value());
  EXPECT_EQ(registry.claim("notes", owner(1, 2, "SHA256:b")).outcome,
            NameRegistry::Outcome::kGranted);
}

TEST(NameRegistry, EveryGrantGetsANewerGenerationAndReleaseReturnsTheOneItEnded) {
  NameRegistry registry;
  const auto first = registry.claim("notes", owner(0, 1, "SHA256:a"));
  ASSERT_EQ(first.outcome, NameRegistry::Outcome::kGranted);
  EXPECT_EQ(registry.find("notes")->generation, first.generation);
  const auto other = registry.claim("docs", owner(0, 1, "SHA256:a"));
  EXPECT_GT(other.generation, first.generation) << "one count for every name";
  const auto taken = registry.claim("notes", owner(1, 7, "SHA256:a"));
  ASSERT_EQ(taken.outcome, NameRegistry::Outcome::kTakenOver);
  EXPECT_GT(taken.generation, other.generation) << "a takeover is a grant too";
  EXPECT_EQ(registry.claim("notes", owner(1, 7, "SHA256:a")).generation, 0u)
      << "kAlreadyYours grants nothing";
  EXPECT_EQ(registry.release("notes", 1), std::nullopt) << "the old session holds no claim";
  EXPECT_EQ(registry.release("notes", 7), taken.generation);
  EXPECT_EQ(registry.find("notes")->generation, taken.generation) << "offline, same claim";
  EXPECT_EQ(registry.release("notes", 7), std::nullopt) << "released once";
  const auto again = registry.claim("notes", owner(0, 8, "SHA256:b"));
  ASSERT_EQ(again.outcome, NameRegistry::Outcome::kGranted);
  EXPECT_GT(again.generation, taken.generation);
}

TEST(RouteTable, LateOfflineFromAnOldSessionDoesNotHideANewerClaim) {
  RouteTable table;
  table.set_online("notes", owner(1, 9, ""));  // the newer session's update arrived first
  table.set_offline("notes", 3, 0);            // then the old session's
  ASSERT_NE(table.find("notes"), nullptr);
  EXPECT_TRUE(table.find("notes")->online);
  EXPECT_EQ(table.find("notes")->worker, 1u);
  table.set_offline("notes", 9, 0);
  EXPECT_FALSE(table.find("notes")->online);
}

// The race these generations exist for: sessions L (worker 0) and W (worker 1) of one key
// claim a name at nearly the same time; L is granted, then W takes it over. A third worker
// hears W's "online" before L's (their queues are separate), then L's "offline" as L closes.
TEST(RouteTable, ALateOnlineOfAClaimTakenOverIsIgnored) {
  RouteTable table;
  table.set_online("notes", owner(1, 20, "", 2));  // W, granted second
  table.set_online("notes", owner(0, 10, "", 1));  // L, granted first, arrives late
  ASSERT_NE(table.find("notes"), nullptr);
  EXPECT_TRUE(table.find("notes")->online);
  EXPECT_EQ(table.find("notes")->worker, 1u);
  EXPECT_EQ(table.find("notes")->session_id, 20u);
  EXPECT_EQ(table.find("notes")->generation, 2u);
}

TEST(RouteTable, AnOfflineOfAClaimTakenOverChangesNothing) {
  RouteTable table;
  table.set_online("notes", owner(1, 20, "", 2));
  table.set_online("notes", owner(0, 10, "", 1));
  table.set_offline("notes", 10, 1);  // L closes
  ASSERT_NE(table.find("notes"), nullptr);
  EXPECT_TRUE(table.find("notes")->online) << "W still serves the name";
  EXPECT_EQ(table.find("notes")->session_id, 20u);
}

TEST(RouteTable, AnOfflineForTheClaimHeldApplies) {
  RouteTable table;
  table.set_online("notes", owner(0, 10, "", 1));
  table.set_online("notes", owner(1, 20, "", 2));  // in claim order this time
  table.set_offline("notes", 10, 1);               // the old claim's: ignored
  EXPECT_TRUE(table.find("notes")->online);
  table.set_offline("notes", 20, 2);
  ASSERT_NE(table.find("notes"), nullptr);
  EXPECT_FALSE(table.find("notes")->online) << "visitors get 502, not 404";
}

TEST(RouteTable, AnOfflineMustNameTheSessionOfTheClaimHeld) {
  RouteTable table;
  table.set_online("notes", owner(1, 20, "", 2));
  table.set_offline("notes", 10, 2);
  EXPECT_TRUE(table.find("notes")->online);
}

TEST(RouteTable, ANewerClaimAfterOfflineApplies) {
  RouteTable table;
  table.set_online("notes", owner(0, 10, "", 1));
  table.set_offline("notes", 10, 1);
  table.set_online("notes", owner(0, 10, "", 1));  // a duplicate of the claim that ended
  EXPECT_FALSE(table.find("notes")->online) << "an ended claim does not come back";
  table.set_online("notes", owner(2, 30, "", 3));  // published again
  ASSERT_NE(table.find("notes"), nullptr);
  EXPECT_TRUE(table.find("notes")->online);
  EXPECT_EQ(table.find("notes")->worker, 2u);
  EXPECT_EQ(table.find("notes")->session_id, 30u);
  table.set_offline("notes", 10, 1);  // very late: changes nothing
  EXPECT_TRUE(table.find("notes")->online);
}

TEST(RouteTable, AnOfflineOfANewerClaimThanTheOneHeldApplies) {
  RouteTable table;
  table.set_online("notes", owner(0, 10, "", 1));
  table.set_offline("notes", 20, 2);
  ASSERT_NE(table.find("notes"), nullptr);
  EXPECT_FALSE(table.find("notes")->online);
  table.set_online("notes", owner(1, 20, "", 2));  // that claim's "online": it has ended
  EXPECT_FALSE(table.find("notes")->online);
}

TEST(RouteTable, GenerationsFromTheRegistryOrderUpdatesInAnyArrivalOrder) {
  NameRegistry registry;
  const auto l = registry.claim("notes", owner(0, 10, "SHA256:a"));
  const auto w = registry.claim("notes", owner(1, 20, "SHA256:a"));
  ASSERT_EQ(w.outcome, NameRegistry::Outcome::kTakenOver);
  RouteTable third;
  third.set_online("notes", owner(1, 20, "", w.generation));
  third.set_online("notes", owner(0, 10, "", l.generation));
  EXPECT_EQ(registry.release("notes", 10), std::nullopt) << "L has no offline to send";
  third.set_offline("notes", 10, l.generation);  // even if one came
  ASSERT_NE(third.find("notes"), nullptr);
  EXPECT_TRUE(third.find("notes")->online);
  EXPECT_EQ(third.find("notes")->worker, 1u);
  const auto ended = registry.release("notes", 20);
  ASSERT_TRUE(ended.has_value());
  third.set_offline("notes", 20, *ended);
  EXPECT_FALSE(third.find("notes")->online);
}

TEST(RouteTable, ForgetsTheOldestOfflineNamesPastItsCap) {
  RouteTable table;
  constexpr int kNames = 70'000;  // above the cap of 65,536 offline names
  for (int i = 0; i < kNames; ++i) {
    const std::string name = "n" + std::to_string(i);
    const auto session = static_cast<std::uint64_t>(i);
    table.set_online(name, owner(0, session, "", session + 1));
    table.set_offline(name, session, session + 1);
  }
  EXPECT_EQ(table.find("n0"), nullptr) << "the oldest offline names are forgotten";
  ASSERT_NE(table.find("n69999"), nullptr);
  EXPECT_FALSE(table.find("n69999")->online);
  EXPECT_LE(table.size(), 65'536u);
  table.set_online("n0", owner(1, 99'999, "", kNames + 1));  // a forgotten name, published again
  ASSERT_NE(table.find("n0"), nullptr);
  EXPECT_TRUE(table.find("n0")->online);
  EXPECT_EQ(table.find("n0")->worker, 1u);
}

}  // namespace
}  // namespace tg
