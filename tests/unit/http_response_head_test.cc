#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "relay/http/http.h"

namespace tg::http {
namespace {

using namespace std::string_literals;

ResponseHead parse_complete(std::string_view bytes, std::string_view method = "GET") {
  ResponseHead head;
  const ParseResult result = parse_response_head(bytes, method, head);
  EXPECT_EQ(result.state, ParseState::kComplete)
      << result.error_status << " " << result.error_reason;
  return head;
}

void expect_bad_gateway(std::string_view bytes, std::string_view method = "GET") {
  ResponseHead head;
  const ParseResult result = parse_response_head(bytes, method, head);
  EXPECT_EQ(result.state, ParseState::kError) << testing::PrintToString(std::string(bytes));
  EXPECT_EQ(result.error_status, 502) << testing::PrintToString(std::string(bytes));
  EXPECT_FALSE(result.error_reason.empty());
}

TEST(HttpResponseHead, ParsesALengthFramedResponse) {
  const std::string head_bytes =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n";
  const std::string bytes = head_bytes + "hello";
  ResponseHead head;
  const ParseResult result = parse_response_head(bytes, "POST", head);
  ASSERT_EQ(result.state, ParseState::kComplete);
  EXPECT_EQ(result.consumed, head_bytes.size());
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.reason, "OK");
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_EQ(head.header_count, 2u);
  EXPECT_EQ(head.framing, BodyFraming::kLength);
  EXPECT_EQ(head.content_length, 5u);
  EXPECT_TRUE(head.keep_alive);
}

TEST(HttpResponseHead, ParsesAChunkedResponse) {
  const ResponseHead head = parse_complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(head.framing, BodyFraming::kChunked);
  EXPECT_TRUE(head.keep_alive);
}

TEST(HttpResponseHead, WithoutLengthTheBodyRunsUntilClose) {
  const ResponseHead head =
      parse_complete("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
  EXPECT_EQ(head.framing, BodyFraming::kUntilClose);
  EXPECT_FALSE(head.keep_alive);
}

TEST(HttpResponseHead, SomeStatusesAndHeadRequestsHaveNoBody) {
  for (const char* status_line : {"HTTP/1.1 100 Continue", "HTTP/1.1 103 Early Hints",
                                  "HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified"}) {
    const ResponseHead head = parse_complete(std::string(status_line) + "\r\n\r\n");
    EXPECT_EQ(head.framing, BodyFraming::kNone) << status_line;
    EXPECT_TRUE(head.keep_alive) << status_line;
  }
  const ResponseHead switching = parse_complete(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_EQ(switching.status, 101);
  EXPECT_EQ(switching.framing, BodyFraming::kNone);

  const ResponseHead head_response =
      parse_complete("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", "HEAD");
  EXPECT_EQ(head_response.framing, BodyFraming::kNone);
  EXPECT_EQ(head_response.content_length, 1234u);
  EXPECT_EQ(parse_complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD").framing,
            BodyFraming::kNone);
  EXPECT_EQ(parse_complete("HTTP/1.1 200 OK\r\n\r\n", "HEAD").framing, BodyFraming::kNone);
  EXPECT_TRUE(parse_complete("HTTP/1.1 200 OK\r\n\r\n", "HEAD").keep_alive);
  EXPECT_EQ(
      parse_complete("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").content_length,
      10u);
}

TEST(HttpResponseHead, ConnectionFieldsDecideReuse) {
  EXPECT_FALSE(parse_complete("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                   .keep_alive);
  EXPECT_FALSE(parse_complete("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  const ResponseHead http10 =
      parse_complete("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(http10.version_minor, 0);
  EXPECT_TRUE(http10.keep_alive);
  EXPECT_FALSE(parse_complete("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").keep_alive);
}

TEST(HttpResponseHead, AcceptsAnEmptyReasonWithOrWithoutItsSpace) {
  EXPECT_EQ(parse_complete("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").reason, "");
  const ResponseHead head = parse_complete("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.reason, "");
  EXPECT_EQ(parse_complete("HTTP/1.1 200 Very\tFine  Indeed\r\n\r\n").reason, "Very\tFine  Indeed");
}

TEST(HttpResponseHead, IsIncompleteForEveryPrefixOfAValidHead) {
  const std::string heads[] = {
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.0 404\r\nX-Empty:\r\n\r\n",
  };
  for (const std::string& bytes : heads) {
    ResponseHead head;
    for (std::size_t length = 0; length < bytes.size(); ++length) {
      EXPECT_EQ(parse_response_head(std::string_view(bytes).substr(0, length), "GET", head).state,
                ParseState::kIncomplete)
          << "prefix of " << length << " bytes";
    }
    const ParseResult whole = parse_response_head(bytes, "GET", head);
    EXPECT_EQ(whole.state, ParseState::kComplete);
    EXPECT_EQ(whole.consumed, bytes.size());
  }
}

TEST(HttpResponseHead, RefusesAmbiguousFraming) {
  expect_bad_gateway("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n");
  expect_bad_gateway("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n");
  // Strict even where no body follows: the same bytes could be read with another method.
  expect_bad_gateway(
      "HTTP/1.1 204 No Content\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(HttpResponseHead, RefusesMalformedStatusLines) {
  expect_bad_gateway("HTTP/2 200 OK\r\n\r\n");
  expect_bad_gateway("HTTP/1.2 200 OK\r\n\r\n");
  expect_bad_gateway("http/1.1 200 OK\r\n\r\n");
  expect_bad_gateway("HTTP/1.1  200 OK\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 20 OK\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 2000 OK\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 099 Low\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 600 High\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 O\0K\r\n\r\n"s);
  expect_bad_gateway("SSH-2.0-OpenSSH_9.6\r\n");
}

TEST(HttpResponseHead, RefusesMalformedFieldLinesAs502) {
  expect_bad_gateway("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n"s);
  expect_bad_gateway("HTTP/1.1 200 OK\r\nX: a\n\r\n");
}

TEST(HttpResponseHead, OversizedHeadsAre502) {
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (std::size_t i = 0; i <= kMaxHeaders; ++i) {
    many += "X-" + std::to_string(i) + ": v\r\n";
  }
  expect_bad_gateway(many + "\r\n");
  expect_bad_gateway("HTTP/1.1 200 OK\r\nX-Big: " + std::string(kMaxHeadBytes, 'b'));
}

}  // namespace
}  // namespace tg::http
