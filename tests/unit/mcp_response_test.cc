#include "relay/proxy/mcp_response.h"

#include <gtest/gtest.h>

#include <string>

#include "relay/proxy/origin_check.h"

namespace tg {
namespace {

using Mode = McpResponseRewriter::Mode;

const auto kOnlyEcho = [](mcp::ListKind, std::string_view name) { return name == "echo"; };

const std::string kList =
    R"({"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"echo"},{"name":"wipe"}]}})";
const std::string kFiltered = R"({"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"echo"}]}})";

McpResponsePlan list_plan() {
  McpResponsePlan plan;
  plan.pending.add("3", mcp::ListKind::kTools);
  plan.single_list = mcp::ListKind::kTools;
  plan.single_id = "3";
  return plan;
}

// Parses `head` (kept alive by the caller) into `out`.
void parse(const std::string& head, http::ResponseHead& out) {
  ASSERT_EQ(http::parse_response_head(head, "POST", out).state, http::ParseState::kComplete);
}

// The body of a whole HTTP/1.1 response with Content-Length.
std::string body_of(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

TEST(McpResponseRewriter, FiltersAJsonListAndRecomputesTheLength) {
  const std::string head_text =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Mcp-Session-Id: s\r\nContent-Length: " +
      std::to_string(kList.size()) + "\r\n\r\n";
  http::ResponseHead head;
  parse(head_text, head);
  McpResponseRewriter rewriter;
  std::string out;
  ASSERT_EQ(
      rewriter.start(list_plan(), head, true, true, mcp::NameFilter::of(kOnlyEcho), 1 << 20, out),
      Mode::kBuffer);
  EXPECT_EQ(out, "");  // nothing before the body is whole
  EXPECT_TRUE(rewriter.body(std::string_view(kList).substr(0, 10), out));
  EXPECT_TRUE(rewriter.body(std::string_view(kList).substr(10), out));
  EXPECT_EQ(out, "");
  rewriter.finish(out);
  EXPECT_EQ(body_of(out), kFiltered);
  EXPECT_NE(out.find("Content-Length: " + std::to_string(kFiltered.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("Mcp-Session-Id: s\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Content-Length: " + std::to_string(kList.size())), std::string::npos);
  EXPECT_EQ(rewriter.stats().entries_removed, 1u);
}

TEST(McpResponseRewriter, DecodesAChunkedJsonList) {
  const std::string head_text =
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
  http::ResponseHead head;
  parse(head_text, head);
  McpResponseRewriter rewriter;
  std::string out;
  rewriter.start(list_plan(), head, true, true, mcp::NameFilter::of(kOnlyEcho), 1 << 20, out);
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", kList.size());
  EXPECT_TRUE(rewriter.body(std::string(size) + kList + "\r\n0\r\n\r\n", out));
  rewriter.finish(out);
  EXPECT_EQ(body_of(out), kFiltered);
  EXPECT_EQ(out.find("chunked"), std::string::npos);
}

TEST(McpResponseRewriter, AListOverTheCapIsReplacedByAnError) {
  const std::string head_text =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(kList.size()) + "\r\n\r\n";
  http::ResponseHead head;
  parse(head_text, head);
  McpResponseRewriter rewriter;
  std::string out;
  rewriter.start(list_plan(), head, true, true, mcp::NameFilter::of(kOnlyEcho), 16, out);
  EXPECT_TRUE(rewriter.body(kList, out));
  rewriter.finish(out);
  EXPECT_EQ(body_of(out),
            R"({"jsonrpc":"2.0","id":3,"error":{"code":-32603,"message":"Internal error: the )"
            R"(response is larger than the relay reads"}})");
}

TEST(McpResponseRewriter, RewritesListEventsOfAStreamAndRechunksIt) {
  const std::string head_text =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
      "Content-Length: 5000\r\n\r\n";
  http::ResponseHead head;
  parse(head_text, head);
  McpResponseRewriter rewriter;
  std::string out;
  ASSERT_EQ(
      rewriter.start(list_plan(), head, true, true, mcp::NameFilter::of(kOnlyEcho), 1 << 20, out),
      Mode::kStream);
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
  out.clear();
  // A notification passes as soon as its event is complete.
  const std::string note = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\n";
  EXPECT_TRUE(rewriter.body(note, out));
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", note.size());
  EXPECT_EQ(out, std::string(size) + note + "\r\n");
  out.clear();
  EXPECT_TRUE(rewriter.body("data: " + kList + "\n\n", out));
  EXPECT_NE(out.find(kFiltered), std::string::npos);
  EXPECT_EQ(out.find("wipe"), std::string::npos);
  out.clear();
  rewriter.finish(out);
  EXPECT_EQ(out, "0\r\n\r\n");
}

McpResponsePlan watch_plan() {
  McpResponsePlan plan;
  plan.watch_task = true;
  plan.single_id = "4";
  return plan;
}

const std::string kCreated =
    R"({"jsonrpc":"2.0","id":4,"result":{"resultType":"task","taskId":"t-9","ttlMs":5000}})";

TEST(McpResponseRewriter, AToolCallsJsonAnswerPassesUnchangedAndIsReadForATask) {
  const std::string head_text =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(kCreated.size()) + "\r\n\r\n";
  http::ResponseHead head;
  parse(head_text, head);
  McpResponseRewriter rewriter;
  std::string out;
  ASSERT_EQ(rewriter.start(watch_plan(), head, true, true, {}, 1 << 20, out), Mode::kObserve);
  EXPECT_EQ(out, "");  // the exchange writes the head as it came
  EXPECT_TRUE(rewriter.body(std::string_view(kCreated).substr(0, 20), out));
  EXPECT_FALSE(rewriter.take_created_task().has_value());
  EXPECT_TRUE(rewriter.body(std::string_view(kCreated).substr(20), out));
  rewriter.finish(out);
  EXPECT_EQ(out, kCreated);  // byte for byte, as it arrived
  const auto task = rewriter.take_created_task();
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->task_id, "t-9");
  EXPECT_EQ(task->ttl_ms, std::optional<std::uint64_t>(5000));
  EXPECT_FALSE(rewriter.take_created_task().has_value());  // once

  // Larger than the cap: passed on unread.
  McpResponseRewriter big;
  out.clear();
  ASSERT_EQ(big.start(watch_plan(), head, true, true, {}, 16, out), Mode::kObserve);
  EXPECT_TRUE(big.body(kCreated, out));
  big.finish(out);
  EXPECT_EQ(out, kCreated);
  EXPECT_FALSE(big.take_created_task().has_value());
}

TEST(McpResponseRewriter, AToolCallsStreamYieldsItsTaskBeforeTheEventIsSent) {
  const std::string head_text =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  http::ResponseHead head;
  parse(head_text, head);
  McpResponseRewriter rewriter;
  std::string out;
  ASSERT_EQ(rewriter.start(watch_plan(), head, true, true, {}, 1 << 20, out), Mode::kStream);
  out.clear();
  const std::string progress =
      "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n";
  const std::string event = "data: " + kCreated + "\n\n";
  auto chunk = [](const std::string& data) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return std::string(size) + data + "\r\n";
  };
  EXPECT_TRUE(rewriter.body(chunk(progress), out));
  EXPECT_EQ(out, chunk(progress));
  EXPECT_FALSE(rewriter.take_created_task().has_value());
  out.clear();
  EXPECT_TRUE(rewriter.body(chunk(event.substr(0, 30)), out));
  EXPECT_EQ(out, "");  // the event is held until complete
  EXPECT_TRUE(rewriter.body(chunk(event.substr(30)), out));
  EXPECT_EQ(out, chunk(event));
  const auto task = rewriter.take_created_task();
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->task_id, "t-9");
  // After the response the stream passes through untouched.
  out.clear();
  EXPECT_TRUE(rewriter.body(chunk("data: "
                                  "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"resultType\":"
                                  "\"task\",\"taskId\":\"late\"}}\n\n"),
                            out));
  EXPECT_FALSE(rewriter.take_created_task().has_value());
}

TEST(McpResponseRewriter, AnHttp10CallerGetsTheStreamDelimitedByClosing) {
  const std::string head_text = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
  http::ResponseHead head;
  parse(head_text, head);
  McpResponseRewriter rewriter;
  std::string out;
  ASSERT_EQ(
      rewriter.start(list_plan(), head, false, true, mcp::NameFilter::of(kOnlyEcho), 1 << 20, out),
      Mode::kStream);
  EXPECT_TRUE(rewriter.closes_visitor());
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
}

TEST(McpResponseRewriter, RelayAnswersJoinABatchOrReplaceABodiless202) {
  McpResponsePlan plan;
  plan.answers = {
      R"({"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Unknown tool: w"}})"};
  {
    const std::string head_text = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
    http::ResponseHead head;
    parse(head_text, head);
    McpResponseRewriter rewriter;
    std::string out;
    ASSERT_EQ(rewriter.start(plan, head, true, true, {}, 1 << 20, out), Mode::kBuffer);
    rewriter.finish(out);
    EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
    EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos);
    EXPECT_EQ(body_of(out), "[" + plan.answers[0] + "]");
  }
  {
    const std::string publisher = R"([{"jsonrpc":"2.0","id":1,"result":{}}])";
    const std::string head_text =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(publisher.size()) + "\r\n\r\n";
    http::ResponseHead head;
    parse(head_text, head);
    McpResponseRewriter rewriter;
    std::string out;
    ASSERT_EQ(rewriter.start(plan, head, true, true, {}, 1 << 20, out), Mode::kBuffer);
    rewriter.body(publisher, out);
    rewriter.finish(out);
    EXPECT_EQ(body_of(out), R"([{"jsonrpc":"2.0","id":1,"result":{}},)" + plan.answers[0] + "]");
  }
}

TEST(McpResponseRewriter, ErrorsAndOtherTypesPassThrough) {
  for (const std::string& head_text :
       {std::string(
            "HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n"),
        std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n")}) {
    http::ResponseHead head;
    parse(head_text, head);
    McpResponseRewriter rewriter;
    std::string out;
    EXPECT_EQ(rewriter.start(list_plan(), head, true, true, {}, 1 << 20, out), Mode::kPass);
    EXPECT_EQ(out, "");
  }
}

TEST(OriginCheck, OwnUrlAndListedOriginsOnly) {
  const std::string_view allowed[] = {"https://app.example.com"};
  EXPECT_TRUE(origin_allowed("https://notes.tg.test:8443", "https://notes.tg.test:8443/", allowed));
  EXPECT_TRUE(origin_allowed("HTTPS://Notes.TG.test:8443", "https://notes.tg.test:8443/", allowed));
  EXPECT_TRUE(origin_allowed("https://app.example.com", "https://notes.tg.test/", allowed));
  EXPECT_FALSE(origin_allowed("https://notes.tg.test", "https://notes.tg.test:8443/", allowed));
  EXPECT_FALSE(origin_allowed("http://notes.tg.test:8443", "https://notes.tg.test:8443/", allowed));
  EXPECT_FALSE(origin_allowed("null", "https://notes.tg.test/", allowed));
  EXPECT_FALSE(origin_allowed("https://evil.example", "https://notes.tg.test/", {}));
}

}  // namespace
}  // namespace tg
