#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "relay/http/http.h"

namespace tg::http {
namespace {

const ForwardContext kContext{"localhost:8080", "203.0.113.7", "notes.relay.example", "https"};

std::string forward(std::string_view request, const ForwardContext& ctx = kContext) {
  RequestHead head;
  const ParseResult result = parse_request_head(request, head);
  EXPECT_EQ(result.state, ParseState::kComplete)
      << result.error_status << " " << result.error_reason;
  std::string out;
  write_forward_request_head(head, ctx, out);
  return out;
}

std::string to_visitor(std::string_view response, bool keep_alive,
                       std::string_view method = "GET") {
  ResponseHead head;
  const ParseResult result = parse_response_head(response, method, head);
  EXPECT_EQ(result.state, ParseState::kComplete)
      << result.error_status << " " << result.error_reason;
  std::string out;
  write_visitor_response_head(head, keep_alive, out);
  return out;
}

constexpr std::string_view kForwardedTail =
    "X-Forwarded-For: 203.0.113.7\r\n"
    "X-Forwarded-Host: notes.relay.example\r\n"
    "X-Forwarded-Proto: https\r\n"
    "\r\n";

TEST(HttpForwardHead, RewritesHostAndAddsForwardingFields) {
  EXPECT_EQ(forward("GET /mcp?x=1 HTTP/1.1\r\nHost: notes.relay.example\r\n"
                    "User-Agent: curl/8.5\r\nAccept: */*\r\n\r\n"),
            "GET /mcp?x=1 HTTP/1.1\r\n"
            "Host: localhost:8080\r\n"
            "User-Agent: curl/8.5\r\n"
            "Accept: */*\r\n"
            "Connection: keep-alive\r\n" +
                std::string(kForwardedTail));
}

TEST(HttpForwardHead, DropsHopByHopFieldsAndVisitorsForwardingClaims) {
  EXPECT_EQ(forward("POST /rpc HTTP/1.1\r\n"
                    "Host: notes.relay.example\r\n"
                    "Connection: close, X-Secret\r\n"
                    "Keep-Alive: timeout=5\r\n"
                    "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                    "Proxy: http://evil.example\r\n"
                    "TE: trailers\r\n"
                    "Trailer: X-Checksum\r\n"
                    "Upgrade: h2c\r\n"
                    "X-Secret: internal\r\n"
                    "X-Forwarded-For: 10.0.0.1\r\n"
                    "x-forwarded-proto: http\r\n"
                    "X-Forwarded-Port: 80\r\n"
                    "Forwarded: for=10.0.0.1\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: 5, 5\r\n"
                    "Expect: 100-continue\r\n"
                    "\r\n"),
            "POST /rpc HTTP/1.1\r\n"
            "Host: localhost:8080\r\n"
            "Content-Type: application/json\r\n"
            "Expect: 100-continue\r\n"
            "Content-Length: 5\r\n"
            "Connection: keep-alive\r\n" +
                std::string(kForwardedTail));
}

TEST(HttpForwardHead, DropsConsumedCredentialsAndAddsTheRelaysFields) {
  constexpr std::string_view kDrop[] = {"authorization", "x-api-key", "x-tunnelgate-assertion"};
  ForwardContext ctx = kContext;
  ctx.drop = kDrop;
  ctx.extra_fields = "X-Tunnelgate-Assertion: eyJ.a.b\r\n";
  EXPECT_EQ(forward("GET / HTTP/1.1\r\nHost: notes.relay.example\r\n"
                    "AUTHORIZATION: Bearer tgk_secret\r\nX-Api-Key: k\r\n"
                    "x-tunnelgate-assertion: forged\r\nAccept: */*\r\n\r\n",
                    ctx),
            "GET / HTTP/1.1\r\n"
            "Host: localhost:8080\r\n"
            "Accept: */*\r\n"
            "Connection: keep-alive\r\n"
            "X-Forwarded-For: 203.0.113.7\r\n"
            "X-Forwarded-Host: notes.relay.example\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Tunnelgate-Assertion: eyJ.a.b\r\n"
            "\r\n");
}

TEST(HttpForwardHead, KeepsChunkedFraming) {
  EXPECT_EQ(forward("POST /upload HTTP/1.1\r\nHost: notes.relay.example\r\n"
                    "transfer-encoding: Chunked\r\nX-Id: 7\r\n\r\n"),
            "POST /upload HTTP/1.1\r\n"
            "Host: localhost:8080\r\n"
            "X-Id: 7\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Connection: keep-alive\r\n" +
                std::string(kForwardedTail));
}

TEST(HttpForwardHead, KeepsUpgradeForUpgrades) {
  EXPECT_EQ(forward("GET /ws HTTP/1.1\r\nHost: notes.relay.example\r\n"
                    "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"),
            "GET /ws HTTP/1.1\r\n"
            "Host: localhost:8080\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "Upgrade: websocket\r\n"
            "Connection: upgrade\r\n" +
                std::string(kForwardedTail));
}

// An HTTP/1.0 visitor's request goes out as HTTP/1.0, so the service answers with a length
// or by closing, never with a chunked body the visitor could not read.
TEST(HttpForwardHead, WritesOriginFormAndKeepsTheVisitorsVersion) {
  EXPECT_EQ(forward("GET http://notes.relay.example/a?b HTTP/1.1\r\n"
                    "Host: notes.relay.example\r\n\r\n"),
            "GET /a?b HTTP/1.1\r\nHost: localhost:8080\r\nConnection: keep-alive\r\n" +
                std::string(kForwardedTail));
  EXPECT_EQ(forward("GET / HTTP/1.0\r\n\r\n", {"localhost:8080", "203.0.113.7", "", "https"}),
            "GET / HTTP/1.0\r\nHost: localhost:8080\r\nConnection: keep-alive\r\n"
            "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n\r\n");
}

// Found by tests/fuzz/forward_head_fuzz.cc: HTTP/1.0 has no 100-continue, so the parser
// ignores the field; copied into the HTTP/1.1 head we send, it would ask the service for a
// 100 Continue that then reaches a client which cannot take 1xx responses.
TEST(HttpForwardHead, DropsExpectFromHttp10Requests) {
  EXPECT_EQ(forward("PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
                    {"localhost:8080", "203.0.113.7", "", "https"}),
            "PUT /f HTTP/1.0\r\nHost: localhost:8080\r\nContent-Length: 2\r\n"
            "Connection: keep-alive\r\nX-Forwarded-For: 203.0.113.7\r\n"
            "X-Forwarded-Proto: https\r\n\r\n");
  RequestHead forwarded;
  const std::string out = forward("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(parse_request_head(out, forwarded).state, ParseState::kComplete);
  EXPECT_FALSE(forwarded.expect_continue);
}

TEST(HttpForwardHead, AppendsToWhatTheBufferHolds) {
  RequestHead head;
  ASSERT_EQ(parse_request_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", head).state,
            ParseState::kComplete);
  std::string out = "previous";
  write_forward_request_head(head, kContext, out);
  EXPECT_EQ(out.substr(0, 24), "previousGET / HTTP/1.1\r\n");
}

TEST(HttpVisitorHead, RewritesFramingAndConnectionFields) {
  EXPECT_EQ(to_visitor("HTTP/1.1 200 OK\r\nServer: uvicorn\r\nConnection: keep-alive\r\n"
                       "Keep-Alive: timeout=5\r\nContent-Length: 12\r\n"
                       "Content-Type: application/json\r\n\r\n",
                       true),
            "HTTP/1.1 200 OK\r\nServer: uvicorn\r\nContent-Type: application/json\r\n"
            "Content-Length: 12\r\n\r\n");
  EXPECT_EQ(to_visitor("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n", false),
            "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

TEST(HttpVisitorHead, DropsFieldsTheServiceNamesInConnection) {
  EXPECT_EQ(to_visitor("HTTP/1.0 404 Not Found\r\nConnection: keep-alive, X-Internal\r\n"
                       "X-Internal: 1\r\nContent-Length: 0\r\n\r\n",
                       true),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpVisitorHead, ClosesWhenTheBodyRunsUntilClose) {
  EXPECT_EQ(to_visitor("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
}

TEST(HttpVisitorHead, KeepsUpgradeOnSwitchingProtocols) {
  EXPECT_EQ(to_visitor("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n\r\n",
                       true),
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: abc=\r\n"
            "Upgrade: websocket\r\nConnection: upgrade\r\n\r\n");
}

TEST(HttpVisitorHead, KeepsTheStatedLengthOnlyWhereItMeansSomething) {
  EXPECT_EQ(to_visitor("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, "HEAD"),
            "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
  EXPECT_EQ(to_visitor("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", true),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n");
  EXPECT_EQ(to_visitor("HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n", true),
            "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(to_visitor("HTTP/1.1 204\r\n\r\n", true), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(HttpErrorResponse, WritesAPlainTextResponse) {
  EXPECT_EQ(make_error_response(502, "publisher gone", true),
            "HTTP/1.1 502 Bad Gateway\r\n"
            "content-type: text/plain; charset=utf-8\r\n"
            "cache-control: no-store\r\n"
            "content-length: 32\r\n"
            "connection: close\r\n"
            "\r\n"
            "502 Bad Gateway: publisher gone\n");
  EXPECT_EQ(make_error_response(404, "", false),
            "HTTP/1.1 404 Not Found\r\n"
            "content-type: text/plain; charset=utf-8\r\n"
            "cache-control: no-store\r\n"
            "content-length: 14\r\n"
            "\r\n"
            "404 Not Found\n");
}

TEST(HttpResponse, WritesTheRelaysOwnAnswer) {
  EXPECT_EQ(make_response(401, "application/json", "www-authenticate: Bearer\r\n", "{}", false),
            "HTTP/1.1 401 Unauthorized\r\n"
            "content-type: application/json\r\n"
            "cache-control: no-store\r\n"
            "www-authenticate: Bearer\r\n"
            "content-length: 2\r\n"
            "\r\n"
            "{}");
}

TEST(HttpErrorResponse, KeepsTheDetailOnOneLine) {
  using namespace std::string_view_literals;
  const std::string response = make_error_response(400, "bad\r\nSet-Cookie: x\0<b>"sv, true);
  const std::string body = "400 Bad Request: bad??Set-Cookie: x?<b>\n";
  EXPECT_EQ(response.substr(response.size() - body.size()), body);
  EXPECT_EQ(response.find("\r\nSet-Cookie"), std::string::npos);
}

TEST(HttpErrorResponse, NamesEveryStatusTheRelaySends) {
  for (int status : {400, 404, 421, 431, 501, 502, 503, 504, 505}) {
    EXPECT_NE(status_reason(status), "Unknown Status") << status;
  }
  EXPECT_EQ(status_reason(421), "Misdirected Request");
  EXPECT_EQ(status_reason(431), "Request Header Fields Too Large");
  EXPECT_EQ(status_reason(299), "Unknown Status");
}

TEST(HttpHeaderLookup, FindsTheFirstFieldIgnoringCase) {
  const Header headers[] = {{"Content-Type", "a"}, {"X-Id", "1"}, {"x-id", "2"}};
  EXPECT_EQ(find_header(headers, 3, "X-ID"), "1");
  EXPECT_EQ(find_header(headers, 3, "content-type"), "a");
  EXPECT_EQ(find_header(headers, 3, "missing").data(), nullptr);
  EXPECT_EQ(find_header(headers, 1, "x-id"), "");
  EXPECT_TRUE(iequals("Transfer-Encoding", "transfer-ENCODING"));
  EXPECT_FALSE(iequals("chunked", "chunke"));
  EXPECT_FALSE(iequals("a", "b"));
}

}  // namespace
}  // namespace tg::http
