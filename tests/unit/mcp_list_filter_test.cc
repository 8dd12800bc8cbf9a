#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "relay/mcp/list_filter.h"

namespace tg::mcp {
namespace {

// Allows the names in a set, whatever the kind.
struct Allowed {
  std::set<std::string, std::less<>> names;
  bool operator()(ListKind, std::string_view name) const { return names.contains(name); }
};

ListRewrite filter(const std::string& json, ListKind kind, const Allowed& allowed) {
  return filter_list_result(std::string_view(json), kind, NameFilter::of(allowed));
}

const std::string kTools =
    R"({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"a","description":"A","inputSchema":)"
    R"({"type":"object","properties":{"name":{"type":"string"}}}},{"name":"b","inputSchema":{}},)"
    R"({"name":"c","inputSchema":{}}],"nextCursor":"n1"}})";

TEST(McpListFilter, KeepsOnlyAllowedTools) {
  const ListRewrite out = filter(kTools, ListKind::kTools, Allowed{{"a", "c"}});
  ASSERT_EQ(out.outcome, ListRewrite::Outcome::kRewritten);
  EXPECT_EQ(
      out.json,
      R"({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"a","description":"A","inputSchema":)"
      R"({"type":"object","properties":{"name":{"type":"string"}}}},{"name":"c","inputSchema":{}}],)"
      R"("nextCursor":"n1"}})");
  EXPECT_EQ(out.lists_filtered, 1u);
  EXPECT_EQ(out.entries_kept, 2u);
  EXPECT_EQ(out.entries_removed, 1u);

  const ListRewrite first_gone = filter(kTools, ListKind::kTools, Allowed{{"b"}});
  EXPECT_EQ(first_gone.json,
            R"({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"b","inputSchema":{}}],)"
            R"("nextCursor":"n1"}})");
  const ListRewrite none = filter(kTools, ListKind::kTools, Allowed{});
  EXPECT_EQ(none.json, R"({"jsonrpc":"2.0","id":2,"result":{"tools":[],"nextCursor":"n1"}})");
}

// Records each listed tool's schema, as the relay does to learn Mcp-Param declarations.
struct Schemas {
  Allowed allowed;
  mutable std::vector<std::pair<std::string, std::string>> seen;
};

TEST(McpListFilter, HandsEveryListedToolsSchemaOver) {
  Schemas schemas{{{"a"}}, {}};
  const NameFilter filter =
      NameFilter(&schemas, [](const void* o, ListKind kind, std::string_view name) noexcept {
        return static_cast<const Schemas*>(o)->allowed(kind, name);
      }).with_schemas([](const void* o, std::string_view tool, std::string_view schema) noexcept {
        static_cast<const Schemas*>(o)->seen.emplace_back(tool, schema);
      });
  const ListRewrite result = filter_list_result(std::string_view(kTools), ListKind::kTools, filter);
  EXPECT_EQ(result.outcome, ListRewrite::Outcome::kRewritten);
  // Hidden tools too: the schema is the server's, whoever may see the tool.
  ASSERT_EQ(schemas.seen.size(), 3u);
  EXPECT_EQ(schemas.seen[0].first, "a");
  EXPECT_EQ(schemas.seen[0].second, R"({"type":"object","properties":{"name":{"type":"string"}}})");
  EXPECT_EQ(schemas.seen[1].first, "b");
  EXPECT_EQ(schemas.seen[1].second, "{}");
  // Prompts have no input schema to hand over.
  schemas.seen.clear();
  filter_list_result(
      std::string_view(R"({"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"a"}]}})"),
      ListKind::kPrompts, filter);
  EXPECT_TRUE(schemas.seen.empty());
}

TEST(McpListFilter, LeavesAFullyAllowedListAlone) {
  const ListRewrite out = filter(kTools, ListKind::kTools, Allowed{{"a", "b", "c"}});
  EXPECT_EQ(out.outcome, ListRewrite::Outcome::kUnchanged);
  EXPECT_EQ(out.json, "");
  EXPECT_EQ(out.entries_kept, 3u);
}

TEST(McpListFilter, KeepsPrettyPrintingIntact) {
  const std::string pretty =
      "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 2,\n  \"result\": {\n    \"tools\": [\n"
      "      {\n        \"name\": \"a\"\n      },\n"
      "      {\n        \"name\": \"b\"\n      },\n"
      "      {\n        \"name\": \"c\"\n      }\n"
      "    ]\n  }\n}\n";
  EXPECT_EQ(filter(pretty, ListKind::kTools, Allowed{{"b", "c"}}).json,
            "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 2,\n  \"result\": {\n    \"tools\": [\n"
            "      {\n        \"name\": \"b\"\n      },\n"
            "      {\n        \"name\": \"c\"\n      }\n"
            "    ]\n  }\n}\n");
  EXPECT_EQ(filter(pretty, ListKind::kTools, Allowed{{"a", "c"}}).json,
            "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 2,\n  \"result\": {\n    \"tools\": [\n"
            "      {\n        \"name\": \"a\"\n      },\n"
            "      {\n        \"name\": \"c\"\n      }\n"
            "    ]\n  }\n}\n");
}

TEST(McpListFilter, FiltersPromptsByNameAndResourcesByUri) {
  const std::string prompts =
      R"({"jsonrpc":"2.0","id":"p","result":{"prompts":[{"name":"x"},{"name":"y"}]}})";
  EXPECT_EQ(filter(prompts, ListKind::kPrompts, Allowed{{"y"}}).json,
            R"({"jsonrpc":"2.0","id":"p","result":{"prompts":[{"name":"y"}]}})");
  const std::string resources =
      R"({"jsonrpc":"2.0","id":3,"result":{"resources":[{"uri":"file:///a","name":"y"},)"
      R"({"uri":"file:///b","name":"x"}]}})";
  EXPECT_EQ(filter(resources, ListKind::kResources, Allowed{{"file:///b"}}).json,
            R"({"jsonrpc":"2.0","id":3,"result":{"resources":[{"uri":"file:///b","name":"x"}]}})");
  // The kind asked for decides which list is read.
  EXPECT_EQ(filter(prompts, ListKind::kTools, Allowed{}).outcome, ListRewrite::Outcome::kUnchanged);
}

TEST(McpListFilter, FiltersTasksByTaskId) {
  const std::string tasks =
      R"({"jsonrpc":"2.0","id":4,"result":{"tasks":[{"taskId":"mine","status":"working"},)"
      R"({"taskId":"theirs","status":"completed"}],"nextCursor":"c"}})";
  EXPECT_EQ(list_kind_of("tasks/list"), ListKind::kTasks);
  EXPECT_EQ(filter(tasks, ListKind::kTasks, Allowed{{"mine"}}).json,
            R"({"jsonrpc":"2.0","id":4,"result":{"tasks":[{"taskId":"mine","status":"working"}],)"
            R"("nextCursor":"c"}})");
}

TEST(McpListFilter, ComparesNamesAfterUnescaping) {
  const std::string escaped =
      R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"\u0061"},{"name":"b\/c"}]}})";
  EXPECT_EQ(filter(escaped, ListKind::kTools, Allowed{{"a", "b/c"}}).outcome,
            ListRewrite::Outcome::kUnchanged);
  EXPECT_EQ(filter(escaped, ListKind::kTools, Allowed{{"b/c"}}).json,
            R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"b\/c"}]}})");
}

TEST(McpListFilter, DropsEntriesItCannotJudge) {
  const std::string odd =
      R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":1},"a",{"title":"a"},)"
      R"({"name":"a","name":"a"},{"name":"a","x":{"k":1,"k":2}},null]}})";
  const ListRewrite out = filter(odd, ListKind::kTools, Allowed{{"a"}});
  ASSERT_EQ(out.outcome, ListRewrite::Outcome::kRewritten);
  // Only the entry with one string name survives; a repeat inside it is the client's to read.
  EXPECT_EQ(out.json,
            R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","x":{"k":1,"k":2}}]}})");
  EXPECT_EQ(out.entries_removed, 5u);
}

TEST(McpListFilter, RefusesListsItCannotTrust) {
  const std::string refused =
      R"({"jsonrpc":"2.0","id":9,"error":{"code":-32603,"message":"Internal error: the relay )"
      R"(could not filter this list"}})";
  for (std::string json :
       {R"({"jsonrpc":"2.0","id":9,"result":{"tools":{"name":"a"}}})",
        R"({"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"a"}],"tools":[]}})",
        R"({"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"a"}]},"result":{}})",
        R"({"jsonrpc":"2.0","id":9,"result":{"_meta":{"k":1,"k":1},"tools":[{"name":"a"}]}})"}) {
    const ListRewrite out = filter(json, ListKind::kTools, Allowed{{"a"}});
    ASSERT_EQ(out.outcome, ListRewrite::Outcome::kRewritten) << json;
    EXPECT_EQ(out.json, refused) << json;
    EXPECT_EQ(out.responses_refused, 1u);
  }
}

TEST(McpListFilter, LeavesErrorsAndOtherResultsAlone) {
  for (std::string json :
       {R"({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}})",
        R"({"jsonrpc":"2.0","id":1,"result":{}})", R"({"jsonrpc":"2.0","method":"x"})", "5",
        R"({"jsonrpc":"2.0","id":1,"result":{"tools":[]}})"}) {
    const ListRewrite out = filter(json, ListKind::kTools, Allowed{});
    EXPECT_EQ(out.outcome, ListRewrite::Outcome::kUnchanged) << json;
  }
}

TEST(McpListFilter, ReportsUnreadableJson) {
  for (std::string json :
       {"", "{", R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},]}})",
        R"({"id":1,"result":{"tools":[]}} x)"}) {
    EXPECT_EQ(filter(json, ListKind::kTools, Allowed{}).outcome, ListRewrite::Outcome::kUnreadable)
        << json;
  }
}

TEST(McpListFilter, DoesNotReadResponsesOverTheLimit) {
  const ListRewrite out = filter_list_result(std::string_view(kTools), ListKind::kTools,
                                             NameFilter::of(Allowed{}), kTools.size() - 1);
  EXPECT_EQ(out.outcome, ListRewrite::Outcome::kTooLarge);
  EXPECT_EQ(
      filter_list_result(std::string_view(kTools), ListKind::kTools, NameFilter(), kTools.size())
          .outcome,
      ListRewrite::Outcome::kRewritten);
}

TEST(McpListFilter, MatchesPendingIdsTheWayServersEchoThem) {
  const Allowed allowed{{"a"}};
  const std::string batch =
      R"([{"jsonrpc":"2.0","id":1,"result":{"content":[]}},)"
      R"({"jsonrpc":"2.0","id":"L","result":{"tools":[{"name":"a"},{"name":"b"}]}},)"
      R"({"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"b"}]}}])";
  PendingLists pending;
  ASSERT_TRUE(pending.add(R"("\u004c")", ListKind::kTools));  // "L", escaped
  EXPECT_FALSE(pending.add("{}", ListKind::kTools));
  EXPECT_FALSE(pending.add("", ListKind::kTools));
  const ListRewrite out =
      filter_list_response(std::string_view(batch), pending, NameFilter::of(allowed));
  ASSERT_EQ(out.outcome, ListRewrite::Outcome::kRewritten);
  // Only the pending request's answer is filtered; id 5 was not a list request of this stream.
  EXPECT_EQ(out.json, R"([{"jsonrpc":"2.0","id":1,"result":{"content":[]}},)"
                      R"({"jsonrpc":"2.0","id":"L","result":{"tools":[{"name":"a"}]}},)"
                      R"({"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"b"}]}}])");
  EXPECT_TRUE(pending.empty());

  // A large integer id echoed by a JavaScript server loses digits; it still matches.
  PendingLists big;
  ASSERT_TRUE(big.add("12345678901234567891", ListKind::kTools));
  const std::string echoed =
      R"({"jsonrpc":"2.0","id":12345678901234567000,"result":{"tools":[{"name":"b"}]}})";
  EXPECT_EQ(filter_list_response(std::string_view(echoed), big, NameFilter::of(allowed)).json,
            R"({"jsonrpc":"2.0","id":12345678901234567000,"result":{"tools":[]}})");

  // A string id does not match the number with its digits.
  PendingLists text;
  ASSERT_TRUE(text.add(R"("1")", ListKind::kTools));
  const std::string numeric = R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"b"}]}})";
  EXPECT_EQ(filter_list_response(std::string_view(numeric), text, NameFilter::of(allowed)).outcome,
            ListRewrite::Outcome::kUnchanged);
  EXPECT_EQ(text.size(), 1u);
}

TEST(McpListFilter, AnUnreadableAnswerLeavesItsListPending) {
  PendingLists pending;
  ASSERT_TRUE(pending.add("7", ListKind::kTools));
  const std::string trailing = R"({"jsonrpc":"2.0","id":7,"result":{"tools":[]}} {)";
  EXPECT_EQ(filter_list_response(std::string_view(trailing), pending, NameFilter()).outcome,
            ListRewrite::Outcome::kUnreadable);
  EXPECT_EQ(pending.size(), 1u);
}

TEST(McpListFilter, PendingListsComeFromListRequests) {
  const std::string body =
      R"([{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call",)"
      R"("params":{"name":"a"}},{"jsonrpc":"2.0","method":"prompts/list"},)"
      R"({"jsonrpc":"2.0","id":3,"method":"resources/list","params":{"cursor":"c"}}])";
  const Inspection in = inspect_request(std::string_view(body), "");
  ASSERT_TRUE(in.ok());
  PendingLists pending;
  int added = 0;
  for (const Message& m : in.messages()) added += pending.add(m) ? 1 : 0;
  EXPECT_EQ(added, 2);  // tools/list and resources/list: the notification expects no answer
  EXPECT_EQ(list_kind_of("prompts/list"), ListKind::kPrompts);
  EXPECT_EQ(list_kind_of("resources/templates/list"), std::nullopt);
}

TEST(McpListFilter, AnyFiltersEveryListResponse) {
  PendingLists any = PendingLists::any();
  EXPECT_FALSE(any.empty());
  const Allowed allowed{{"a"}};
  const std::string json =
      R"({"jsonrpc":"2.0","id":77,"result":{"prompts":[{"name":"a"},{"name":"z"}]}})";
  EXPECT_EQ(filter_list_response(std::string_view(json), any, NameFilter::of(allowed)).json,
            R"({"jsonrpc":"2.0","id":77,"result":{"prompts":[{"name":"a"}]}})");
}

TEST(McpListFilter, ADefaultFilterAllowsNothing) {
  EXPECT_EQ(filter_list_result(std::string_view(kTools), ListKind::kTools, NameFilter()).json,
            R"({"jsonrpc":"2.0","id":2,"result":{"tools":[],"nextCursor":"n1"}})");
}

}  // namespace
}  // namespace tg::mcp
