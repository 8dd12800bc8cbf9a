#include "relay/proxy/mcp_tasks.h"

#include <gtest/gtest.h>

#include <string>

#include "relay/mcp/tasks.h"

namespace tg {
namespace {

using std::optional;

TEST(McpTaskTable, ATaskAnswersOnlyItsCallerAndNamesItsTool) {
  McpTaskTable table(16, 60'000);
  ASSERT_TRUE(table.bind("notes", "t-1", "alice", "slow_report", 30'000, 0));
  EXPECT_EQ(table.tool_of("notes", "t-1", "alice", 10), optional<std::string_view>("slow_report"));
  EXPECT_EQ(table.tool_of("notes", "t-1", "mallory", 10), std::nullopt);
  EXPECT_EQ(table.tool_of("notes", "t-1", "", 10), std::nullopt);       // anonymous is not alice
  EXPECT_EQ(table.tool_of("other", "t-1", "alice", 10), std::nullopt);  // per tunnel
  EXPECT_EQ(table.tool_of("notes", "t-2", "alice", 10), std::nullopt);
  // A server handing the same id to another caller does not move the task.
  EXPECT_FALSE(table.bind("notes", "t-1", "mallory", "slow_report", 30'000, 20));
  EXPECT_EQ(table.tool_of("notes", "t-1", "alice", 30), optional<std::string_view>("slow_report"));
  EXPECT_EQ(table.size(), 1u);
}

TEST(McpTaskTable, BindingsExpireWithTheTasksTtl) {
  McpTaskTable table(16, 1'000);
  ASSERT_TRUE(table.bind("notes", "short", "alice", "t", 100, 0));
  ASSERT_TRUE(table.bind("notes", "default", "alice", "t", std::nullopt, 0));
  EXPECT_TRUE(table.tool_of("notes", "short", "alice", 99).has_value());
  EXPECT_FALSE(table.tool_of("notes", "short", "alice", 100).has_value());
  EXPECT_TRUE(table.tool_of("notes", "default", "alice", 999).has_value());
  EXPECT_FALSE(table.tool_of("notes", "default", "alice", 1'000).has_value());
  // Once expired, the id may be bound again, by anyone the server hands it to.
  EXPECT_TRUE(table.bind("notes", "short", "bob", "t", 100, 2'000));
  EXPECT_TRUE(table.tool_of("notes", "short", "bob", 2'001).has_value());
}

TEST(McpTaskTable, AFullTableEvictsTheOldestAndTunnelsDropTheirOwn) {
  McpTaskTable table(2, 60'000);
  ASSERT_TRUE(table.bind("notes", "a", "alice", "t", std::nullopt, 0));
  ASSERT_TRUE(table.bind("notes", "b", "alice", "t", std::nullopt, 1));
  ASSERT_TRUE(table.bind("wiki", "c", "alice", "t", std::nullopt, 2));
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.evicted(), 1u);
  EXPECT_FALSE(table.tool_of("notes", "a", "alice", 3).has_value());
  table.drop_tunnel("notes");
  EXPECT_FALSE(table.tool_of("notes", "b", "alice", 3).has_value());
  EXPECT_TRUE(table.tool_of("wiki", "c", "alice", 3).has_value());
  table.drop_tunnel("wik");  // a prefix of a name is another tunnel
  EXPECT_EQ(table.size(), 1u);
}

TEST(McpTaskTable, EmptyOrOverlongIdsAreNeverBound) {
  McpTaskTable table(4, 60'000);
  EXPECT_FALSE(table.bind("notes", "", "alice", "t", std::nullopt, 0));
  const std::string longest(McpTaskTable::kMaxTaskIdBytes, 'x');
  EXPECT_TRUE(table.bind("notes", longest, "alice", "t", std::nullopt, 0));
  EXPECT_FALSE(table.bind("notes", longest + "x", "alice", "t", std::nullopt, 0));
  // Any bytes may be in an id (tunnel names, first in the key, never hold a newline).
  EXPECT_TRUE(table.bind("notes", "a\nb", "alice", "t", std::nullopt, 0));
  EXPECT_TRUE(table.tool_of("notes", "a\nb", "alice", 1).has_value());
  EXPECT_FALSE(table.tool_of("notes", "a", "alice", 1).has_value());
}

mcp::CreatedTask read(std::string json) {
  return mcp::read_created_task(mcp::padded(json), 1 << 20);
}

TEST(McpCreatedTask, ReadsTheTasksExtensionsFlatResult) {
  const mcp::CreatedTask task =
      read(R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"786512e2-9e0d",)"
           R"("status":"working","createdAt":"2025-11-25T10:30:00Z","ttlMs":60000,)"
           R"("pollIntervalMs":5000}})");
  EXPECT_TRUE(task.is_response);
  EXPECT_EQ(task.task_id, "786512e2-9e0d");
  EXPECT_EQ(task.ttl_ms, optional<std::uint64_t>(60'000));
  // ttlMs null: no limit from the server.
  const mcp::CreatedTask unlimited = read(
      R"({"jsonrpc":"2.0","id":1,"result":{"taskId":"t\u0031","ttlMs":null,"resultType":"task"}})");
  EXPECT_EQ(unlimited.task_id, "t1");
  EXPECT_EQ(unlimited.ttl_ms, std::nullopt);
}

TEST(McpCreatedTask, ReadsThe20251125NestedResult) {
  const mcp::CreatedTask task =
      read(R"({"jsonrpc":"2.0","id":"x","result":{"task":{"taskId":"abc","status":"working",)"
           R"("ttl":1500.5,"createdAt":"2025-11-25T10:30:00Z","lastUpdatedAt":"x"},"_meta":{}}})");
  EXPECT_EQ(task.task_id, "abc");
  EXPECT_EQ(task.ttl_ms, optional<std::uint64_t>(1500));
}

TEST(McpCreatedTask, OrdinaryResultsErrorsAndDoubtfulTextsCreateNone) {
  for (
      std::string json : {
          R"({"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"complete"}})",
          R"({"jsonrpc":"2.0","id":1,"result":{"taskId":"t","status":"working"}})",
          R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":""}})",
          R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":7}})",
          R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","task":{"taskId":"n"}}})",
          R"({"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m","data":{"taskId":"t"}}})",
          R"({"jsonrpc":"2.0","method":"notifications/tasks","params":{"taskId":"t"}})",
          R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"a","taskId":"b"}})",
          R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"a"},"x":{"k":1,"k":2}})",
          R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"a"}} x)",
          R"([{"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"a"}}])",
          R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"a")",
      }) {
    EXPECT_FALSE(read(json).found()) << json;
  }
  EXPECT_TRUE(read(R"({"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m"}})").is_response);
  EXPECT_FALSE(read(R"({"jsonrpc":"2.0","method":"m"})").is_response);
  // A negative ttl is no ttl; a huge one is capped at a week.
  EXPECT_EQ(read(R"({"id":1,"result":{"resultType":"task","taskId":"a","ttlMs":-5}})").ttl_ms,
            std::nullopt);
  EXPECT_EQ(read(R"({"id":1,"result":{"resultType":"task","taskId":"a","ttlMs":1e300}})").ttl_ms,
            optional<std::uint64_t>(7ull * 86'400'000));
  const std::string big = R"({"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"a"}})";
  EXPECT_FALSE(mcp::read_created_task(big, big.size() - 1).found());
}

}  // namespace
}  // namespace tg

namespace tg {
namespace {

std::optional<std::vector<std::string>> listen(std::string_view json) {
  return mcp::listen_task_ids(json);
}

TEST(McpListenTaskIds, ReadsTheTaskIdsAListenAsksFor) {
  const auto ids =
      listen(R"({"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":)"
             R"({"toolsListChanged":true,"taskIds":["a","\u0062"]},"_meta":{}}})");
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b"}));
  const auto none = listen(
      R"({"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{}}})");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(listen(R"({"jsonrpc":"2.0","id":1,"method":"x"})")->empty());
  // Something the relay cannot read as task ids is refused by the caller.
  for (std::string_view doubtful :
       {R"({"id":1,"params":{"notifications":{"taskIds":"a"}}})",
        R"({"id":1,"params":{"notifications":{"taskIds":["a",7]}}})", R"({"id":1,"params":)"}) {
    EXPECT_FALSE(listen(doubtful).has_value()) << doubtful;
  }
}

}  // namespace
}  // namespace tg
