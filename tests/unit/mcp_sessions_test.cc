#include "relay/proxy/mcp_sessions.h"

#include <gtest/gtest.h>

#include <string>

namespace tg {
namespace {

using Check = McpSessionTable::Check;

TEST(McpSessionTable, ABindingAdmitsItsSubjectOnlyAndOtherSubjectsGetRefused) {
  McpSessionTable table(16, 60'000);
  ASSERT_TRUE(table.bind("notes", "s-1", "alice", 0));
  EXPECT_EQ(table.check("notes", "s-1", "alice", 10), Check::kBound);
  EXPECT_EQ(table.check("notes", "s-1", "mallory", 10), Check::kOtherSubject);
  EXPECT_EQ(table.check("notes", "s-1", "", 10), Check::kOtherSubject);  // anonymous is not alice
  EXPECT_EQ(table.check("other", "s-1", "alice", 10), Check::kUnknown);  // per tunnel
  EXPECT_EQ(table.check("notes", "s-2", "alice", 10), Check::kUnknown);
  // Rebinding to another subject is refused and leaves the binding as it was.
  EXPECT_FALSE(table.bind("notes", "s-1", "mallory", 20));
  EXPECT_EQ(table.check("notes", "s-1", "alice", 30), Check::kBound);
  EXPECT_TRUE(table.bind("notes", "s-1", "alice", 40));  // same subject: fine
  EXPECT_EQ(table.size(), 1u);
}

TEST(McpSessionTable, AnonymousCallersShareTheEmptySubject) {
  McpSessionTable table(16, 60'000);
  ASSERT_TRUE(table.bind("notes", "s", "", 0));
  EXPECT_EQ(table.check("notes", "s", "", 1), Check::kBound);
  EXPECT_EQ(table.check("notes", "s", "alice", 1), Check::kOtherSubject);
}

TEST(McpSessionTable, DropAndDropTunnelForgetBindings) {
  McpSessionTable table(16, 60'000);
  table.bind("notes", "a", "alice", 0);
  table.bind("notes", "b", "alice", 0);
  table.bind("notes-2", "c", "alice", 0);  // a name that starts like the other
  table.drop("notes", "a");
  EXPECT_EQ(table.check("notes", "a", "alice", 1), Check::kUnknown);
  table.drop_tunnel("notes");
  EXPECT_EQ(table.check("notes", "b", "alice", 1), Check::kUnknown);
  EXPECT_EQ(table.check("notes-2", "c", "alice", 1), Check::kBound);
  EXPECT_EQ(table.size(), 1u);
}

TEST(McpSessionTable, IdleBindingsExpireAndUseRestartsTheClock) {
  McpSessionTable table(16, 1000);
  table.bind("notes", "a", "alice", 0);
  table.bind("notes", "b", "alice", 0);
  EXPECT_EQ(table.check("notes", "a", "alice", 900), Check::kBound);  // a used at 900
  table.expire(1500);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.check("notes", "b", "alice", 1500), Check::kUnknown);
  EXPECT_EQ(table.check("notes", "a", "alice", 1899), Check::kBound);
  EXPECT_EQ(table.check("notes", "a", "alice", 2899), Check::kUnknown);  // expired on check
  EXPECT_EQ(table.size(), 0u);
}

TEST(McpSessionTable, AFullTableEvictsTheLeastRecentlyUsed) {
  McpSessionTable table(2, 60'000);
  table.bind("t", "a", "x", 0);
  table.bind("t", "b", "x", 1);
  EXPECT_EQ(table.check("t", "a", "x", 2), Check::kBound);  // b is now the oldest
  table.bind("t", "c", "x", 3);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.evicted(), 1u);
  EXPECT_EQ(table.check("t", "b", "x", 4), Check::kUnknown);
  EXPECT_EQ(table.check("t", "a", "x", 4), Check::kBound);
  EXPECT_EQ(table.check("t", "c", "x", 4), Check::kBound);
}

TEST(McpSessionTable, SessionIdsOutsideVisibleAsciiOrTooLongAreNeverBound) {
  McpSessionTable table(16, 60'000);
  EXPECT_FALSE(table.bind("t", "", "x", 0));
  EXPECT_FALSE(table.bind("t", "a b", "x", 0));
  EXPECT_FALSE(table.bind("t", "a\nb", "x", 0));
  EXPECT_FALSE(table.bind("t", std::string(McpSessionTable::kMaxSessionIdBytes + 1, 'a'), "x", 0));
  EXPECT_TRUE(table.bind("t", std::string(McpSessionTable::kMaxSessionIdBytes, 'a'), "x", 0));
  EXPECT_EQ(table.check("t", "a\nb", "x", 1), Check::kUnknown);
}

}  // namespace
}  // namespace tg
