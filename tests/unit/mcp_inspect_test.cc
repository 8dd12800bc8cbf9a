#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

#include "relay/mcp/mcp.h"

namespace tg::mcp {
namespace {

using namespace std::string_literals;

bool lies_within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  const auto begin = reinterpret_cast<std::uintptr_t>(whole.data());
  const auto at = reinterpret_cast<std::uintptr_t>(part.data());
  return at >= begin && at + part.size() <= begin + whole.size();
}

// Inspects `body` from a padded copy, so the result may be checked against it.
struct Inspected {
  std::string body;
  Inspection inspection;
};
Inspected inspect(std::string body, std::string_view version = "", const Limits& limits = {}) {
  Inspected out{std::move(body), {}};
  const JsonBytes bytes = padded(out.body);
  out.inspection = inspect_request(bytes, version, limits);
  return out;
}

void expect_refused(std::string body, int code, std::string_view counter = {},
                    std::string_view version = "") {
  const Inspected in = inspect(body, version);
  ASSERT_FALSE(in.inspection.ok()) << body;
  EXPECT_EQ(in.inspection.error().code, code) << body;
  if (!counter.empty()) {
    EXPECT_EQ(in.inspection.error().counter, counter) << body;
  }
  EXPECT_TRUE(in.inspection.messages().empty());
}

const std::string kToolsCall =
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_weather",)"
    R"("arguments":{"location":"Seattle, WA","units":["c","f"],"days":3,"exact":true,)"
    R"("note":null,"ratio":-1.5e3}}})";

TEST(McpInspect, ReadsASingleToolCall) {
  const Inspected in = inspect(kToolsCall);
  ASSERT_TRUE(in.inspection.ok()) << in.inspection.error().message;
  EXPECT_FALSE(in.inspection.batch());
  ASSERT_EQ(in.inspection.messages().size(), 1u);
  const Message& m = in.inspection.messages()[0];
  EXPECT_EQ(m.kind, MessageKind::kRequest);
  EXPECT_EQ(m.id_raw, "7");
  EXPECT_EQ(m.method, "tools/call");
  EXPECT_EQ(m.target, Target::kTool);
  EXPECT_EQ(m.tool(), "get_weather");
  EXPECT_EQ(m.prompt(), "");
  EXPECT_EQ(m.resource(), "");
  EXPECT_EQ(m.raw, in.body);
  for (std::string_view view : {m.raw, m.id_raw, m.method, m.name}) {
    EXPECT_TRUE(lies_within(view, in.body)) << view;
  }
}

TEST(McpInspect, KeepsTheMessageBytesWithoutSurroundingWhitespace) {
  const Inspected in = inspect(" \r\n\t" + kToolsCall + "\n ");
  ASSERT_TRUE(in.inspection.ok());
  EXPECT_EQ(in.inspection.messages()[0].raw, kToolsCall);
}

TEST(McpInspect, ReadsResourcesAndPrompts) {
  Inspected in = inspect(
      R"({"jsonrpc":"2.0","id":"r1","method":"resources/read","params":{"uri":"file:///a.txt"}})");
  ASSERT_TRUE(in.inspection.ok());
  EXPECT_EQ(in.inspection.messages()[0].resource(), "file:///a.txt");
  EXPECT_EQ(in.inspection.messages()[0].target, Target::kResource);
  EXPECT_EQ(in.inspection.messages()[0].id_raw, R"("r1")");

  in = inspect(
      R"({"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"review","arguments":{}}})");
  ASSERT_TRUE(in.inspection.ok());
  EXPECT_EQ(in.inspection.messages()[0].prompt(), "review");

  in = inspect(
      R"({"jsonrpc":"2.0","id":3,"method":"resources/subscribe","params":{"uri":"db://t"}})");
  ASSERT_TRUE(in.inspection.ok());
  EXPECT_EQ(in.inspection.messages()[0].resource(), "db://t");
}

TEST(McpInspect, ReadsTheTaskATaskMethodNames) {
  for (std::string_view method : {"tasks/get", "tasks/update", "tasks/cancel", "tasks/result"}) {
    Inspected in = inspect(R"({"jsonrpc":"2.0","id":9,"method":")" + std::string(method) +
                           R"(","params":{"taskId":"t-\u0031","inputResponses":{}}})");
    ASSERT_TRUE(in.inspection.ok()) << method;
    const Message& m = in.inspection.messages()[0];
    EXPECT_EQ(m.target, Target::kTask);
    EXPECT_EQ(m.task(), "t-1");  // unescaped
    EXPECT_EQ(m.target_name(), "t-1");
    EXPECT_EQ(m.tool(), "");
    for (std::string_view params : {R"({})", R"({"taskId":""})", R"({"taskId":7})"}) {
      expect_refused(R"({"jsonrpc":"2.0","id":9,"method":")" + std::string(method) +
                         R"(","params":)" + std::string(params) + "}",
                     kInvalidParams, "mcp_bad_target");
    }
  }
  // A task id elsewhere is not a target.
  const Inspected call = inspect(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","taskId":"t"}})");
  ASSERT_TRUE(call.inspection.ok());
  EXPECT_EQ(call.inspection.messages()[0].task(), "");
  EXPECT_EQ(call.inspection.messages()[0].task_id, "t");
}

TEST(McpInspect, OtherMethodsHaveNoTargetButKeepTheirName) {
  const Inspected in = inspect(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"c","version":"1"}}})");
  ASSERT_TRUE(in.inspection.ok());
  const Message& m = in.inspection.messages()[0];
  EXPECT_EQ(m.method, "initialize");
  EXPECT_EQ(m.target, Target::kNone);
  EXPECT_EQ(m.name, "");  // clientInfo.name is not params.name
  EXPECT_EQ(m.target_name(), "");
}

TEST(McpInspect, NotificationsHaveNoId) {
  const Inspected in = inspect(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  ASSERT_TRUE(in.inspection.ok());
  EXPECT_EQ(in.inspection.messages()[0].kind, MessageKind::kNotification);
  EXPECT_EQ(in.inspection.messages()[0].id_raw, "");
}

TEST(McpInspect, ResponsesFromTheClientAreMessagesToo) {
  Inspected in = inspect(R"({"jsonrpc":"2.0","id":0,"result":{"action":"accept"}})");
  ASSERT_TRUE(in.inspection.ok());
  EXPECT_EQ(in.inspection.messages()[0].kind, MessageKind::kResponse);
  EXPECT_EQ(in.inspection.messages()[0].method, "");

  in = inspect(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})");
  ASSERT_TRUE(in.inspection.ok());
  EXPECT_EQ(in.inspection.messages()[0].id_raw, "");

  expect_refused(R"({"jsonrpc":"2.0","id":null,"result":{}})", kInvalidRequest, "mcp_bad_id");
  expect_refused(R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})", kInvalidRequest);
  expect_refused(R"({"jsonrpc":"2.0","result":{}})", kInvalidRequest, "mcp_not_a_message");
  expect_refused(R"({"jsonrpc":"2.0","id":1,"method":"x","result":{}})", kInvalidRequest);
}

TEST(McpInspect, IdsAreStringsOrIntegersKeptAsSent) {
  const std::pair<std::string, std::string> accepted[] = {
      {R"("abc")", R"("abc")"},
      {R"("a\"b\u00e9")", R"("a\"b\u00e9")"},
      {R"("")", R"("")"},
      {"0", "0"},
      {"-7", "-7"},
      {"9007199254740993", "9007199254740993"},
      {"123456789012345678901234567890", "123456789012345678901234567890"},
      {"-0", "-0"},
  };
  for (const auto& [id, raw] : accepted) {
    const Inspected in = inspect(R"({"jsonrpc":"2.0","id":)" + id + R"( ,"method":"ping"})");
    ASSERT_TRUE(in.inspection.ok()) << id << ": " << in.inspection.error().message;
    EXPECT_EQ(in.inspection.messages()[0].id_raw, raw);
    EXPECT_TRUE(lies_within(in.inspection.messages()[0].id_raw, in.body));
  }
  for (std::string id : {"1.5", "1.0", "1e3", "-2E-1", "null", "true", "{}", "[1]"}) {
    expect_refused(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"ping"})", kInvalidRequest,
                   "mcp_bad_id");
  }
  // Not numbers at all: the text is not JSON.
  for (std::string id : {"01", "1.", "+1", "-", ".5", "0x10", "1e", "NaN"}) {
    expect_refused(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"ping"})", kParseError);
  }
}

TEST(McpInspect, RefusesAWrongJsonrpcMember) {
  for (std::string member : {R"("jsonrpc":"1.0",)", R"("jsonrpc":2.0,)", R"("jsonrpc":null,)",
                             R"("jsonrpc":"2.0 ",)", ""}) {
    expect_refused("{" + member + R"("id":1,"method":"ping"})", kInvalidRequest, "mcp_bad_jsonrpc");
  }
  // The same text, escaped, is the same string.
  EXPECT_TRUE(inspect(R"({"jsonrpc":"2\u002e0","id":1,"method":"ping"})").inspection.ok());
}

TEST(McpInspect, RefusesMethodsThatAreNotNonEmptyStrings) {
  expect_refused(R"({"jsonrpc":"2.0","id":1,"method":5})", kInvalidRequest, "mcp_bad_method");
  expect_refused(R"({"jsonrpc":"2.0","id":1,"method":""})", kInvalidRequest, "mcp_bad_method");
  expect_refused(R"({"jsonrpc":"2.0","id":1,"method":["tools/call"]})", kInvalidRequest);
  expect_refused(R"({"jsonrpc":"2.0","id":1})", kInvalidRequest, "mcp_not_a_message");
  expect_refused(R"({"jsonrpc":"2.0","id":1,"method":"x","params":"p"})", kInvalidRequest,
                 "mcp_bad_params");
  expect_refused(R"({"jsonrpc":"2.0","id":1,"method":"x","params":null})", kInvalidRequest,
                 "mcp_bad_params");
  EXPECT_TRUE(inspect(R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})").inspection.ok());
}

TEST(McpInspect, RefusesCallsWithoutAStringTarget) {
  for (std::string params :
       {R"("params":{"name":5})", R"("params":{"name":null})", R"("params":{"name":{"a":1}})",
        R"("params":{"name":["t"]})", R"("params":{"name":""})", R"("params":{})",
        R"("params":["get_weather"])", ""}) {
    std::string body = R"({"jsonrpc":"2.0","id":4,"method":"tools/call")";
    if (!params.empty()) body += "," + params;
    body += "}";
    expect_refused(body, kInvalidParams, "mcp_bad_target");
  }
  expect_refused(R"({"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"name":"x"}})",
                 kInvalidParams);
  expect_refused(R"({"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"uri":"x"}})",
                 kInvalidParams);
  // The refusal carries the id, so the answer can name the request.
  const Inspected in =
      inspect(R"({"jsonrpc":"2.0","id":"q","method":"tools/call","params":{"name":1}})");
  EXPECT_EQ(in.inspection.error().id_raw, R"("q")");
  EXPECT_EQ(make_error_body(in.inspection.error()),
            R"({"jsonrpc":"2.0","id":"q","error":{"code":-32602,"message":"Invalid params: )"
            R"(tools/call needs params.name, a non-empty string"}})");
}

TEST(McpInspect, ReadsNamesAfterUnescaping) {
  Inspected in = inspect(
      R"({"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"\u0061dd\ud83d\ude00"}})");
  ASSERT_TRUE(in.inspection.ok()) << in.inspection.error().message;
  const Message& m = in.inspection.messages()[0];
  EXPECT_EQ(m.method, "tools/call");
  EXPECT_EQ(m.tool(), "add\xF0\x9F\x98\x80");
  EXPECT_FALSE(lies_within(m.tool(), in.body));  // owned by the Inspection

  // The owned copies survive moving the Inspection and later calls on this thread.
  Inspection moved = std::move(in.inspection);
  const Inspected other = inspect(R"({"jsonrpc":"2.0","id":1,"method":"x\u0079z"})");
  ASSERT_TRUE(other.inspection.ok());
  EXPECT_EQ(other.inspection.messages()[0].method, "xyz");
  EXPECT_EQ(moved.messages()[0].tool(), "add\xF0\x9F\x98\x80");
  EXPECT_EQ(moved.messages()[0].method, "tools/call");

  expect_refused(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\ud800"}})",
                 kParseError);
  expect_refused(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\q"}})",
                 kParseError);
}

TEST(McpInspect, RefusesRepeatedKeysAtAnyDepth) {
  const std::string repeated[] = {
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{"name":"a"}})",
      R"({"jsonrpc":"2.0","id":1,"id":2,"method":"ping"})",
      R"({"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"ping"})",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}})",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","n\u0061me":"b"}})",
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one body, split for width
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","params":{},)"
      R"("arguments":{"x":[{"k":1,"k":1}]}}})",
      R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"name":"a"},"params":{"name":"b"}})",
  };
  for (const std::string& body : repeated) {
    expect_refused(body, kInvalidRequest, "mcp_duplicate_key");
  }
  // Same key in different objects is fine.
  EXPECT_TRUE(inspect(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a",)"
                      R"("arguments":{"name":"b","o":{"name":"c"}}}})")
                  .inspection.ok());
}

TEST(McpInspect, FindsRepeatsInLargeObjects) {
  std::string arguments;
  for (int i = 0; i < 40; ++i) {
    arguments += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":" + std::to_string(i));
  }
  const std::string head = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a",)";
  EXPECT_TRUE(inspect(head + R"("arguments":{)" + arguments + "}}}").inspection.ok());
  expect_refused(head + R"("arguments":{)" + arguments + R"(,"k17":0}}})", kInvalidRequest,
                 "mcp_duplicate_key");
}

TEST(McpInspect, RefusesInvalidJsonAnywhere) {
  const std::string head = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a",)";
  const std::string invalid[] = {
      "",
      "   ",
      "{",
      head + R"("arguments":{"x":1,}}})",
      head + R"("arguments":{"x":1 "y":2}}})",
      head + R"("arguments":[1 2]}})",
      head + R"("arguments":[01]}})",
      head + R"("arguments":[tru]}})",
      head + R"("arguments":[nul]}})",
      head + R"("arguments":[truex]}})",
      head + R"("arguments":{"x":"a)" + "\x01"s + R"("}}})",
      head + R"("arguments":{"x":")" + "\xC3\x28"s + R"("}}})",
      head + R"("arguments":{"x":"\x"}}})",
      head + R"("arguments":{"x":1}})",
      head + R"("arguments":{"x":1}}}})",
      head + R"("arguments":{"x":1}}} x)",
      head + R"("arguments":{"x":1}}}{})",
      head + R"("arguments":{x:1}}})",
      R"({"jsonrpc":"2.0","id":1,"method":"ping",})",
      R"({'jsonrpc':'2.0'})",
      "\xEF\xBB\xBF" + kToolsCall,
  };
  for (const std::string& body : invalid) {
    expect_refused(body, kParseError, "mcp_parse_error");
  }
}

TEST(McpInspect, RefusesBodiesThatAreNotMessages) {
  expect_refused("5", kInvalidRequest, "mcp_not_a_message");
  expect_refused(R"("tools/call")", kInvalidRequest, "mcp_not_a_message");
  expect_refused("null", kInvalidRequest, "mcp_not_a_message");
}

TEST(McpInspect, RefusesBodiesOverTheLimit) {
  Limits limits;
  limits.max_body = kToolsCall.size();
  EXPECT_TRUE(inspect(kToolsCall, "", limits).inspection.ok());
  limits.max_body = kToolsCall.size() - 1;
  const Inspected in = inspect(kToolsCall, "", limits);
  ASSERT_FALSE(in.inspection.ok());
  EXPECT_EQ(in.inspection.error().code, kInvalidRequest);
  EXPECT_EQ(in.inspection.error().counter, "mcp_body_too_large");
}

TEST(McpInspect, RefusesNestingPastTheLimit) {
  Limits limits;
  limits.max_depth = 8;
  auto nested = [](int levels) {
    std::string arguments = "1";
    for (int i = 0; i < levels; ++i) {
      arguments = (i % 2 ? "[" : "{\"a\":") + arguments + (i % 2 ? "]" : "}");
    }
    return R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":)" +
           arguments + "}}";
  };
  // The message is depth 1, params 2, arguments 3: five more levels fit in eight.
  EXPECT_TRUE(inspect(nested(6), "", limits).inspection.ok());
  const Inspected deep = inspect(nested(7), "", limits);
  ASSERT_FALSE(deep.inspection.ok());
  EXPECT_EQ(deep.inspection.error().counter, "mcp_json_too_deep");
  // The default limit holds against a pathological body.
  const Inspected pathological = inspect(std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_FALSE(pathological.inspection.ok());
}

const std::string kBatch = "[ " + kToolsCall + " ,\n" +
                           R"({"jsonrpc":"2.0","method":"notifications/progress"})" + "," +
                           R"({"jsonrpc":"2.0","id":"L","method":"tools/list"})" + "\n]";

TEST(McpInspect, ReadsBatchesBeforeProtocolVersion20250618) {
  for (std::string_view version : {"", "2025-03-26", "2024-11-05"}) {
    const Inspected in = inspect(kBatch, version);
    ASSERT_TRUE(in.inspection.ok()) << version << ": " << in.inspection.error().message;
    EXPECT_TRUE(in.inspection.batch());
    const auto messages = in.inspection.messages();
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0].raw, kToolsCall);
    EXPECT_EQ(messages[0].tool(), "get_weather");
    EXPECT_EQ(messages[1].raw, R"({"jsonrpc":"2.0","method":"notifications/progress"})");
    EXPECT_EQ(messages[1].kind, MessageKind::kNotification);
    EXPECT_EQ(messages[2].raw, R"({"jsonrpc":"2.0","id":"L","method":"tools/list"})");
    EXPECT_EQ(messages[2].id_raw, R"("L")");
    for (const Message& m : messages) EXPECT_TRUE(lies_within(m.raw, in.body));
  }
  const Inspected one = inspect("[" + kToolsCall + "]");
  ASSERT_TRUE(one.inspection.ok());
  EXPECT_TRUE(one.inspection.batch());
}

TEST(McpInspect, RefusesBatchesFromProtocolVersion20250618) {
  for (std::string_view version : {"2025-06-18", "2025-11-25", "2026-07-28", "9999"}) {
    expect_refused(kBatch, kInvalidRequest, "mcp_batch_refused", version);
  }
}

TEST(McpInspect, RefusesBadBatches) {
  expect_refused("[]", kInvalidRequest, "mcp_empty_batch");
  expect_refused("[1]", kInvalidRequest, "mcp_not_a_message");
  expect_refused("[" + kToolsCall + ",[]]", kInvalidRequest, "mcp_not_a_message");
  expect_refused(R"([{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":1,"method":"b"}])",
                 kInvalidRequest, "mcp_repeated_id");
  expect_refused(
      R"([{"jsonrpc":"2.0","id":"a","method":"a"},{"jsonrpc":"2.0","id":"\u0061","method":"b"}])",
      kInvalidRequest, "mcp_repeated_id");
  // A syntax error later in the batch wins over an earlier element's fault.
  expect_refused(R"([{"jsonrpc":"1.0","id":1,"method":"a"},{"jsonrpc":"2.0",]])", kParseError);
  expect_refused(R"([{"jsonrpc":"2.0","id":1,"method":"a","a":1,"a":2},{"jsonrpc":]])",
                 kParseError);
  Limits limits;
  limits.max_batch = 2;
  const Inspected big = inspect(kBatch, "", limits);
  ASSERT_FALSE(big.inspection.ok());
  EXPECT_EQ(big.inspection.error().counter, "mcp_batch_too_large");
  // One refusal answers the whole batch: its id is null.
  const Inspected bad = inspect(R"([{"jsonrpc":"2.0","id":3,"method":"tools/call"}])");
  ASSERT_FALSE(bad.inspection.ok());
  EXPECT_EQ(bad.inspection.error().id_raw, "");
}

TEST(McpInspect, AcceptsDistinctIdsAndRepeatedNotifications) {
  const Inspected in =
      inspect(R"([{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":"1","method":"b"},)"
              R"({"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","method":"n"}])");
  EXPECT_TRUE(in.inspection.ok()) << in.inspection.error().message;
}

TEST(McpInspect, UnpaddedInputGivesViewsIntoTheCallersBytes) {
  // A string_view converts to JsonBytes without padding: the body is copied to be parsed, and
  // the views must still point into the caller's bytes.
  const std::string body = kBatch;
  const Inspection in = inspect_request(std::string_view(body), "");
  ASSERT_TRUE(in.ok());
  EXPECT_FALSE(JsonBytes(std::string_view(body)).in_place());
  for (const Message& m : in.messages()) {
    for (std::string_view view : {m.raw, m.id_raw, m.method, m.name}) {
      EXPECT_TRUE(lies_within(view, body)) << view;
    }
  }
  EXPECT_EQ(in.messages()[0].tool(), "get_weather");
}

TEST(McpInspect, AStringWithSpareCapacityIsReadInPlace) {
  std::string body = kToolsCall;
  body.reserve(body.size() + kJsonPadding);
  EXPECT_TRUE(JsonBytes(body).in_place());
  const Inspection in = inspect_request(body, "");
  ASSERT_TRUE(in.ok());
  EXPECT_TRUE(lies_within(in.messages()[0].tool(), body));
  std::string tight = "{}";
  tight.shrink_to_fit();
  EXPECT_FALSE(JsonBytes(tight).in_place());  // the 15-byte small-string buffer is too short
}

TEST(McpInspect, FillsThePolicyContext) {
  const Inspected in = inspect(kToolsCall);
  policy::AccessContext context;
  fill_access_context(in.inspection.messages()[0], "2025-06-18", "sess-1", context);
  EXPECT_EQ(context.mcp_method, "tools/call");
  EXPECT_EQ(context.mcp_tool, "get_weather");
  EXPECT_EQ(context.mcp_resource, "");
  EXPECT_EQ(context.mcp_prompt, "");
  EXPECT_EQ(context.mcp_protocol_version, "2025-06-18");
  EXPECT_EQ(context.mcp_session, "sess-1");
}

}  // namespace
}  // namespace tg::mcp
