#include "relay/routing/name_registry.h"

#include <gtest/gtest.h>

#include "relay/routing/route_table.h"

namespace tg {
namespace {

NameOwner owner(unsigned worker, std::uint64_t session, std::string key) {
  return NameOwner{worker, session, std::move(key), true};
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

TEST(RouteTable, LateOfflineFromAnOldSessionDoesNotHideANewerClaim) {
  RouteTable table;
  table.set_online("notes", owner(1, 9, ""));  // the newer session's update arrived first
  table.set_offline("notes", 3);               // then the old session's
  ASSERT_NE(table.find("notes"), nullptr);
  EXPECT_TRUE(table.find("notes")->online);
  EXPECT_EQ(table.find("notes")->worker, 1u);
  table.set_offline("notes", 9);
  EXPECT_FALSE(table.find("notes")->online);
}

TEST(RouteTable, ForgetsTheOldestOfflineNamesPastItsCap) {
  RouteTable table;
  constexpr int kNames = 70'000;  // above the cap of 65,536 offline names
  for (int i = 0; i < kNames; ++i) {
    const std::string name = "n" + std::to_string(i);
    table.set_online(name, owner(0, static_cast<std::uint64_t>(i), ""));
    table.set_offline(name, static_cast<std::uint64_t>(i));
  }
  EXPECT_EQ(table.find("n0"), nullptr) << "the oldest offline names are forgotten";
  ASSERT_NE(table.find("n69999"), nullptr);
  EXPECT_LE(table.size(), 65'536u);
}

}  // namespace
}  // namespace tg
