#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "relay/mcp/mcp.h"

namespace tg::mcp {
namespace {

using namespace std::string_literals;

// The results are views into `body`: literals and the constants below outlive them.
Inspection inspect(std::string_view body) {
  return inspect_request(body, "");
}

TEST(McpAnswers, ErrorBodiesEchoTheIdByteForByte) {
  EXPECT_EQ(make_jsonrpc_error("7", -32602, "Unknown tool: x"),
            R"({"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Unknown tool: x"}})");
  EXPECT_EQ(make_jsonrpc_error(R"("a\"b\u00e9")", -32600, "m"),
            R"({"jsonrpc":"2.0","id":"a\"b\u00e9","error":{"code":-32600,"message":"m"}})");
  EXPECT_EQ(make_jsonrpc_error("123456789012345678901234567890", -32603, "m"),
            R"({"jsonrpc":"2.0","id":123456789012345678901234567890,)"
            R"("error":{"code":-32603,"message":"m"}})");
  EXPECT_EQ(make_jsonrpc_error("", -32700, "Parse error: invalid JSON"),
            R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,)"
            R"("message":"Parse error: invalid JSON"}})");
}

TEST(McpAnswers, MessagesAreEscapedAsJsonStrings) {
  std::string out;
  append_json_string_contents("a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj\x7fk\xC3\xA9l</m>", out);
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001i\\u001fj\x7fk\xC3\xA9l</m>");
  out.clear();
  append_json_string_contents(std::string_view("\0z", 2), out);
  EXPECT_EQ(out, "\\u0000z");
}

TEST(McpAnswers, DeniedCallsLookLikeUnknownNames) {
  Inspection in =
      inspect(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_all"}})");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(make_denied_answer(in.messages()[0]),
            R"({"jsonrpc":"2.0","id":3,"error":{"code":-32602,)"
            R"("message":"Unknown tool: delete_all"}})");
  EXPECT_EQ(make_denied_answer(in.messages()[0], -32000),
            R"({"jsonrpc":"2.0","id":3,"error":{"code":-32000,)"
            R"("message":"Unknown tool: delete_all"}})");

  // The name is unescaped when read and escaped again when written.
  in = inspect(
      R"({"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"a\"b\\c\n\u00e9"}})");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(make_denied_answer(in.messages()[0]),
            R"({"jsonrpc":"2.0","id":"x","error":{"code":-32602,)"
            "\"message\":\"Unknown tool: a\\\"b\\\\c\\n\xC3\xA9\"}}");

  in = inspect(R"({"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"p"}})");
  EXPECT_EQ(make_denied_answer(in.messages()[0]),
            R"({"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"Unknown prompt: p"}})");
  in = inspect(R"({"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"s3://b/k"}})");
  EXPECT_EQ(make_denied_answer(in.messages()[0]),
            R"({"jsonrpc":"2.0","id":5,"error":{"code":-32602,)"
            R"("message":"Unknown resource: s3://b/k"}})");
  in = inspect(R"({"jsonrpc":"2.0","id":6,"method":"tools/list"})");
  EXPECT_EQ(make_denied_answer(in.messages()[0]),
            R"({"jsonrpc":"2.0","id":6,"error":{"code":-32601,"message":"Method not found"}})");
  in = inspect(R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}})");
  EXPECT_EQ(make_denied_answer(in.messages()[0]), "");  // a notification gets no answer
  in = inspect(R"({"jsonrpc":"2.0","id":1,"result":{}})");
  EXPECT_EQ(make_denied_answer(in.messages()[0]), "");
}

const std::string kCallA =
    R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"q":[1, 2]}}})";
const std::string kCallB =
    R"({"jsonrpc":"2.0","id":"two","method":"tools/call","params":{"name":"b"}})";
const std::string kNote = R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})";
const std::string kList = R"({ "jsonrpc" : "2.0" , "id" : 4 , "method" : "tools/list" })";
const std::string kBatch = "[" + kCallA + ",\n " + kCallB + " , " + kNote + "," + kList + "]";

TEST(McpAnswers, SplitsABatchIntoForwardedBytesAndAnswers) {
  const Inspection in = inspect(kBatch);
  ASSERT_TRUE(in.ok()) << in.error().message;
  const bool allowed[] = {true, false, false, true};
  const BatchSplit split = split_batch(in, allowed);
  EXPECT_EQ(split.forward, "[" + kCallA + "," + kList + "]");
  EXPECT_EQ(split.allowed, 2u);
  EXPECT_EQ(split.denied, 2u);
  ASSERT_EQ(split.answers.size(), 1u);  // the notification gets none
  EXPECT_EQ(split.answers[0],
            R"({"jsonrpc":"2.0","id":"two","error":{"code":-32602,"message":"Unknown tool: b"}})");
}

TEST(McpAnswers, TheForwardedPartReinspectsToTheAllowedMessages) {
  const Inspection in = inspect(kBatch);
  ASSERT_TRUE(in.ok());
  const auto messages = in.messages();
  // Every subset of the four messages.
  for (unsigned mask = 0; mask < 16; ++mask) {
    bool allowed[4];
    std::vector<const Message*> expected;
    for (unsigned i = 0; i < 4; ++i) {
      allowed[i] = (mask >> i) & 1;
      if (allowed[i]) expected.push_back(&messages[i]);
    }
    const BatchSplit split = split_batch(in, allowed);
    if (expected.empty()) {
      EXPECT_EQ(split.forward, "");
      continue;
    }
    const Inspection again = inspect(split.forward);
    ASSERT_TRUE(again.ok()) << split.forward;
    EXPECT_TRUE(again.batch());
    ASSERT_EQ(again.messages().size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const Message& m = again.messages()[i];
      EXPECT_EQ(m.raw, expected[i]->raw);
      EXPECT_EQ(m.id_raw, expected[i]->id_raw);
      EXPECT_EQ(m.method, expected[i]->method);
      EXPECT_EQ(m.kind, expected[i]->kind);
      EXPECT_EQ(m.target_name(), expected[i]->target_name());
    }
  }
}

TEST(McpAnswers, AShortDecisionListDeniesTheRest) {
  const Inspection in = inspect(kBatch);
  const bool allowed[] = {true};
  const BatchSplit split = split_batch(in, allowed);
  EXPECT_EQ(split.forward, "[" + kCallA + "]");
  EXPECT_EQ(split.answers.size(), 2u);  // b and the list; not the notification
}

TEST(McpAnswers, MergesThePublishersAnswerWithTheRelays) {
  const std::vector<std::string> answers = {R"({"id":2})", R"({"id":3})"};
  EXPECT_EQ(merge_json_batch_response(R"([{"id":1}])", answers), R"([{"id":1},{"id":2},{"id":3}])");
  EXPECT_EQ(merge_json_batch_response(" [ {\"id\":1} ]\n", answers),
            R"([ {"id":1} ,{"id":2},{"id":3}])");
  EXPECT_EQ(merge_json_batch_response("[]", answers), R"([{"id":2},{"id":3}])");
  EXPECT_EQ(merge_json_batch_response("[ \n ]", answers), "[ \n {\"id\":2},{\"id\":3}]");
  EXPECT_EQ(merge_json_batch_response(R"({"id":1})", answers), R"([{"id":1},{"id":2},{"id":3}])");
  EXPECT_EQ(merge_json_batch_response("", answers), R"([{"id":2},{"id":3}])");
  EXPECT_EQ(merge_json_batch_response(" \r\n", answers), R"([{"id":2},{"id":3}])");
  EXPECT_EQ(merge_json_batch_response("<html>", answers), "<html>");
  EXPECT_EQ(merge_json_batch_response(R"([{"id":1}])", {}), R"([{"id":1}])");
  EXPECT_EQ(json_array(answers), R"([{"id":2},{"id":3}])");
  EXPECT_EQ(json_array({}), "[]");
}

TEST(McpAnswers, SseEventsCarryOneAnswerEach) {
  const std::vector<std::string> answers = {R"({"id":2})", R"({"id":3})"};
  EXPECT_EQ(sse_events(answers), "data: {\"id\":2}\n\ndata: {\"id\":3}\n\n");
  EXPECT_EQ(sse_events({}), "");
}

}  // namespace
}  // namespace tg::mcp
