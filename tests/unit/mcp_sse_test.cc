#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "relay/mcp/list_filter.h"

namespace tg::mcp {
namespace {

struct Allowed {
  std::set<std::string, std::less<>> names;
  bool operator()(ListKind, std::string_view name) const { return names.contains(name); }
};
const Allowed kAllowA{{"a"}};

PendingLists pending_tools(std::string_view id_raw) {
  PendingLists pending;
  EXPECT_TRUE(pending.add(id_raw, ListKind::kTools));
  return pending;
}

struct Output {
  std::string out;
  bool ok = true;
};

// Feeds `stream` cut at `cuts` (ascending offsets), then finishes.
Output feed_cut(std::string_view stream, const std::vector<std::size_t>& cuts, PendingLists pending,
                std::size_t cap = SseListFilter::kDefaultMaxEventBytes) {
  SseListFilter filter(std::move(pending), NameFilter::of(kAllowA), cap);
  Output run;
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    run.ok = filter.feed(stream.substr(at, cut - at), run.out) && run.ok;
    at = cut;
  }
  run.ok = filter.feed(stream.substr(at), run.out) && run.ok;
  filter.finish(run.out);
  return run;
}

// Every way of cutting the stream once, and byte by byte, must give the whole stream's output.
void expect_split_invariant(std::string_view stream, const PendingLists& pending,
                            const std::string& expected) {
  const Output whole = feed_cut(stream, {}, pending);
  EXPECT_EQ(whole.out, expected);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    const Output split = feed_cut(stream, {cut}, pending);
    ASSERT_EQ(split.out, expected) << "cut at " << cut;
    for (std::size_t second = cut; second <= stream.size(); second += 7) {
      ASSERT_EQ(feed_cut(stream, {cut, second}, pending).out, expected)
          << "cuts at " << cut << ", " << second;
    }
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
  EXPECT_EQ(feed_cut(stream, every, pending).out, expected);
}

const std::string kProgress =
    R"(data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}})";
const std::string kList =
    R"({"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a"},{"name":"b"}]}})";
const std::string kFiltered = R"({"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a"}]}})";

TEST(McpSse, RewritesOnlyThePendingListResponse) {
  const std::string stream =
      ": keep-alive\n\n" + kProgress + "\n\n" + "event: message\nid: e-2\ndata: " + kList + "\n\n";
  const std::string expected = ": keep-alive\n\n" + kProgress + "\n\n" +
                               "event: message\nid: e-2\ndata: " + kFiltered + "\n\n";
  expect_split_invariant(stream, pending_tools("7"), expected);
}

TEST(McpSse, HandlesCrlfAndCrLineEnds) {
  const std::string crlf = kProgress + "\r\n\r\nid: 1\r\ndata: " + kList + "\r\n\r\n";
  expect_split_invariant(crlf, pending_tools("7"),
                         kProgress + "\r\n\r\nid: 1\r\ndata: " + kFiltered + "\r\n\r\n");
  const std::string cr = kProgress + "\r\rdata:" + kList + "\r\r";
  expect_split_invariant(cr, pending_tools("7"), kProgress + "\r\rdata:" + kFiltered + "\r\r");
}

TEST(McpSse, DroppedLinesNeverJoinALoneCrToTheBlankLine) {
  // The second data line ends in CRLF and the blank line is a lone LF. Writing the comment's
  // lone CR right before that LF would make one CRLF line end and lose the event's end.
  const std::string stream =
      "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[\r"
      ": c\r"
      "data: {\"name\":\"b\"}]}}\r\n"
      "\n" +
      kProgress + "\n\n";
  const std::string expected =
      "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[]}}\r"
      ": c\r"
      "\r" +
      kProgress + "\n\n";
  expect_split_invariant(stream, pending_tools("7"), expected);
}

TEST(McpSse, JoinsDataLinesAndWritesTheRewriteAsDataLines) {
  const std::string stream =
      "id: 3\n"
      "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[\n"
      ": a comment inside the event\n"
      "data:   {\"name\":\"b\"},\n"
      "data:   {\"name\":\"a\"}\n"
      "data: ]}}\n"
      "retry: 1000\n"
      "\n";
  const std::string expected =
      "id: 3\n"
      "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[\n"
      "data:   {\"name\":\"a\"}\n"
      "data: ]}}\n"
      ": a comment inside the event\n"
      "retry: 1000\n"
      "\n";
  expect_split_invariant(stream, pending_tools("7"), expected);
}

TEST(McpSse, EmitsEachEventWhenItsBlankLineArrives) {
  SseListFilter filter(pending_tools("7"), NameFilter::of(kAllowA));
  std::string out;
  ASSERT_TRUE(filter.feed(kProgress + "\n", out));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(filter.feed("\n" + kProgress.substr(0, 10), out));
  EXPECT_EQ(out, kProgress + "\n\n");
  ASSERT_TRUE(filter.feed(kProgress.substr(10) + "\n\ndata: " + kList + "\n", out));
  EXPECT_EQ(out, kProgress + "\n\n" + kProgress + "\n\n");
  // A CR alone may be a CRLF's first half: the event waits for the next byte.
  ASSERT_TRUE(filter.feed("\r", out));
  EXPECT_EQ(out, kProgress + "\n\n" + kProgress + "\n\n");
  ASSERT_TRUE(filter.feed("\n", out));
  EXPECT_EQ(out, kProgress + "\n\n" + kProgress + "\n\ndata: " + kFiltered + "\n\r\n");
  // The list is answered: the rest of the stream goes through as it comes.
  EXPECT_TRUE(filter.passing_through());
  ASSERT_TRUE(filter.feed("data: {\"par", out));
  EXPECT_TRUE(out.ends_with("data: {\"par"));
  EXPECT_EQ(filter.stats().events, 3u);
  EXPECT_EQ(filter.stats().events_rewritten, 1u);
  EXPECT_EQ(filter.stats().entries_removed, 1u);
}

TEST(McpSse, PassesEverythingThroughWhenNothingIsPending) {
  SseListFilter filter(PendingLists(), NameFilter::of(kAllowA));
  EXPECT_TRUE(filter.passing_through());
  std::string out;
  ASSERT_TRUE(filter.feed("data: " + kList.substr(0, 5), out));
  EXPECT_EQ(out, "data: " + kList.substr(0, 5));
}

TEST(McpSse, AnyFiltersEveryListOnTheStream) {
  const std::string stream = "data: " + kList + "\n\ndata: " + kList + "\n\n";
  const std::string expected = "data: " + kFiltered + "\n\ndata: " + kFiltered + "\n\n";
  expect_split_invariant(stream, PendingLists::any(), expected);
}

TEST(McpSse, OtherResponsesPassUnchanged) {
  const std::string other = R"(data: {"jsonrpc":"2.0","id":8,"result":{"tools":[{"name":"b"}]}})";
  const std::string stream = other + "\n\ndata: " + kList + "\n\n" + other + "\n\n";
  expect_split_invariant(stream, pending_tools("7"),
                         other + "\n\ndata: " + kFiltered + "\n\n" + other + "\n\n");
}

TEST(McpSse, DropsUnreadableDataWhileAListIsPending) {
  const std::string stream = "id: 4\ndata: {not json\n\ndata: " + kList + "\n\n";
  expect_split_invariant(stream, pending_tools("7"), "id: 4\n\ndata: " + kFiltered + "\n\n");
  // An empty data line (a priming event for Last-Event-ID) is not unreadable.
  const std::string priming = "id: p0\ndata:\n\ndata: " + kList + "\n\n";
  EXPECT_EQ(feed_cut(priming, {}, pending_tools("7")).out,
            "id: p0\ndata:\n\ndata: " + kFiltered + "\n\n");
}

TEST(McpSse, RefusesAListItCannotTrust) {
  const std::string stream =
      R"(data: {"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"b"}],"tools":[]}})"
      "\n\n";
  EXPECT_EQ(feed_cut(stream, {}, pending_tools("7")).out,
            R"(data: {"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"Internal error: )"
            R"(the relay could not filter this list"}})"
            "\n\n");
}

TEST(McpSse, FailsWhenAnEventOutgrowsTheCap) {
  const std::string big = "data: " + std::string(200, ' ') + "1\n\n";
  const std::string stream = kProgress + "\n\n" + big + kProgress + "\n\n";
  for (std::size_t cut : {std::size_t{0}, std::size_t{50}, std::size_t{150}, stream.size()}) {
    const Output run = feed_cut(stream, {cut}, pending_tools("7"), 100);
    EXPECT_FALSE(run.ok);
    EXPECT_EQ(run.out, kProgress + "\n\n") << cut;
  }
  // Without a pending list nothing is held, so nothing is capped.
  EXPECT_TRUE(feed_cut(stream, {}, PendingLists(), 100).ok);
}

TEST(McpSse, FinishSendsAnUnfinishedEventUnlessItIsTheList) {
  EXPECT_EQ(feed_cut(kProgress + "\n", {}, pending_tools("7")).out, kProgress + "\n");
  EXPECT_EQ(feed_cut("data: " + kList + "\n", {}, pending_tools("7")).out, "");
  EXPECT_EQ(feed_cut("id: 9\ndata: " + kList + "\n", {}, pending_tools("7")).out, "id: 9\n");
  EXPECT_EQ(feed_cut("data: " + kList + "\r", {}, pending_tools("7")).out, "");
}

TEST(McpSse, KeepsAByteOrderMarkOutOfTheFirstField) {
  const std::string stream =
      "\xEF\xBB\xBF"
      "data: " +
      kList + "\n\n";
  expect_split_invariant(stream, pending_tools("7"),
                         "\xEF\xBB\xBF"
                         "data: " +
                             kFiltered + "\n\n");
}

}  // namespace
}  // namespace tg::mcp
