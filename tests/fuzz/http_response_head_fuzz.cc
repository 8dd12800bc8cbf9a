// Fuzzes parse_response_head, which reads what the publisher's service answers. The service
// is as untrusted as a visitor: a response two parsers frame differently would hand one
// visitor's bytes to another on a reused connection. The first input byte picks the request
// method (HEAD and CONNECT change the framing); the rest is the response. Checked beyond
// memory safety: every fault is 502; a complete head ends at its first blank line; views
// point into the input; the framing follows RFC 9112 6.3 (no body for HEAD, 1xx, 204, 304;
// a body running until close never keeps the connection); and cutting the bytes short gives
// "need more" or the same verdict, since the proxy reparses as bytes arrive.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/http/http.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tg::fuzz::lies_within;
using namespace tg::http;

constexpr std::array<std::string_view, 8> kMethods = {"GET",    "HEAD",    "POST",  "PUT",
                                                      "DELETE", "OPTIONS", "PATCH", "CONNECT"};

bool same_result(const ParseResult& a, const ParseResult& b) {
  return a.state == b.state && a.consumed == b.consumed && a.error_status == b.error_status &&
         a.error_reason == b.error_reason;
}

bool same_head(const ResponseHead& a, const ResponseHead& b) {
  if (a.header_count != b.header_count) return false;
  for (std::size_t i = 0; i < a.header_count; ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) {
      return false;
    }
  }
  return a.status == b.status && a.reason == b.reason && a.version_minor == b.version_minor &&
         a.framing == b.framing && a.content_length == b.content_length &&
         a.keep_alive == b.keep_alive;
}

void check_complete(std::string_view bytes, std::string_view method, const ParseResult& result,
                    const ResponseHead& head) {
  FUZZ_CHECK(result.consumed >= 4 && result.consumed <= bytes.size());
  FUZZ_CHECK(result.consumed <= kMaxHeadBytes);
  FUZZ_CHECK(bytes.substr(0, result.consumed).find("\r\n\r\n") == result.consumed - 4);
  const std::string_view parsed = bytes.substr(0, result.consumed);

  FUZZ_CHECK(head.status >= 100 && head.status <= 599);
  FUZZ_CHECK(head.version_minor == 0 || head.version_minor == 1);
  FUZZ_CHECK(lies_within(head.reason, parsed));
  FUZZ_CHECK(head.header_count <= kMaxHeaders);
  for (std::size_t i = 0; i < head.header_count; ++i) {
    FUZZ_CHECK(!head.headers[i].name.empty() && lies_within(head.headers[i].name, parsed));
    FUZZ_CHECK(lies_within(head.headers[i].value, parsed));
    FUZZ_CHECK(head.headers[i].value.find_first_of(std::string_view("\r\n\0", 3)) ==
               std::string_view::npos);
  }

  const bool bodiless = method == "HEAD" || head.status < 200 || head.status == 204 ||
                        head.status == 304 || (method == "CONNECT" && head.status < 300);
  FUZZ_CHECK(!bodiless || head.framing == BodyFraming::kNone);
  FUZZ_CHECK(bodiless || head.framing != BodyFraming::kNone);
  FUZZ_CHECK(head.framing != BodyFraming::kUntilClose || !head.keep_alive);
  FUZZ_CHECK(head.framing != BodyFraming::kChunked || head.version_minor == 1);
  FUZZ_CHECK(head.content_length < (std::uint64_t{1} << 63));
}

void check_prefix_agrees(std::string_view bytes, std::string_view method, std::size_t cut,
                         const ParseResult& whole, const ResponseHead& whole_head) {
  ResponseHead head;
  const ParseResult part = parse_response_head(bytes.substr(0, cut), method, head);
  if (part.state == ParseState::kIncomplete) {
    FUZZ_CHECK(whole.state != ParseState::kComplete || whole.consumed > cut);
    return;
  }
  FUZZ_CHECK(same_result(part, whole));
  if (part.state == ParseState::kComplete) FUZZ_CHECK(same_head(head, whole_head));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view method = kMethods[data[0] % kMethods.size()];
  const std::string_view bytes = tg::fuzz::as_text(data + 1, size - 1);
  ResponseHead head;
  const ParseResult result = parse_response_head(bytes, method, head);

  switch (result.state) {
    case ParseState::kComplete:
      FUZZ_CHECK(result.error_status == 0);
      check_complete(bytes, method, result, head);
      check_prefix_agrees(bytes, method, result.consumed, result, head);
      check_prefix_agrees(bytes, method, result.consumed - 1, result, head);
      break;
    case ParseState::kIncomplete:
      FUZZ_CHECK(bytes.size() < kMaxHeadBytes);
      break;
    case ParseState::kError:
      FUZZ_CHECK(result.error_status == 502);
      FUZZ_CHECK(!result.error_reason.empty());
      break;
  }
  if (!bytes.empty()) {
    check_prefix_agrees(bytes, method, bytes.size() * data[size / 2] / 256, result, head);
  }
  return 0;
}
