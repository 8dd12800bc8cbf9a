// Fuzzes parse_request_head, the parser every visitor's bytes meet first. Beyond "no crash,
// no UB, no leak" it checks what the proxy builds on: a complete head ends at its first blank
// line inside the 16 KiB window; every view points into the input; header names are tokens
// and values carry no CR, LF or NUL (they are copied into the forwarded head); errors carry
// the statuses http.h promises; and the verdict does not depend on how the bytes were split
// across reads, since the proxy parses again from the start each time more bytes arrive.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/http/http.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tg::fuzz::lies_within;
using namespace tg::http;

bool same_result(const ParseResult& a, const ParseResult& b) {
  return a.state == b.state && a.consumed == b.consumed && a.error_status == b.error_status &&
         a.error_reason == b.error_reason;
}

bool same_head(const RequestHead& a, const RequestHead& b) {
  if (a.header_count != b.header_count) return false;
  for (std::size_t i = 0; i < a.header_count; ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) {
      return false;
    }
  }
  return a.method == b.method && a.target == b.target && a.version_minor == b.version_minor &&
         a.host == b.host && a.framing == b.framing && a.content_length == b.content_length &&
         a.keep_alive == b.keep_alive && a.expect_continue == b.expect_continue &&
         a.upgrade == b.upgrade && a.upgrade_protocol == b.upgrade_protocol;
}

bool is_token(std::string_view text) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  if (text.empty()) return false;
  for (char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && kSymbols.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool is_safe_value(std::string_view value) {
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                         value.back() == '\t')) {
    return false;
  }
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) return false;
  }
  return true;
}

void check_complete(std::string_view bytes, const ParseResult& result, const RequestHead& head) {
  FUZZ_CHECK(result.consumed >= 4 && result.consumed <= bytes.size());
  FUZZ_CHECK(result.consumed <= kMaxHeadBytes);
  FUZZ_CHECK(bytes.substr(0, result.consumed).find("\r\n\r\n") == result.consumed - 4);
  const std::string_view parsed = bytes.substr(0, result.consumed);

  FUZZ_CHECK(is_token(head.method) && lies_within(head.method, parsed));
  FUZZ_CHECK(head.method != "CONNECT");
  // Origin form, or asterisk form for OPTIONS; absolute form is reduced to a path of the
  // input, or to the literal "/" for "http://host".
  FUZZ_CHECK(!head.target.empty());
  FUZZ_CHECK(head.target.front() == '/' || (head.target == "*" && head.method == "OPTIONS"));
  FUZZ_CHECK(lies_within(head.target, parsed) || head.target == "/");
  FUZZ_CHECK(head.version_minor == 0 || head.version_minor == 1);

  FUZZ_CHECK(head.header_count <= kMaxHeaders);
  for (std::size_t i = 0; i < head.header_count; ++i) {
    const Header& header = head.headers[i];
    FUZZ_CHECK(is_token(header.name) && lies_within(header.name, parsed));
    FUZZ_CHECK(is_safe_value(header.value) && lies_within(header.value, parsed));
  }
  FUZZ_CHECK(lies_within(head.host, parsed) && lies_within(head.upgrade_protocol, parsed));
  FUZZ_CHECK(head.version_minor == 0 || !head.host.empty());

  FUZZ_CHECK(head.framing != BodyFraming::kUntilClose);
  FUZZ_CHECK(head.framing != BodyFraming::kChunked || head.version_minor == 1);
  FUZZ_CHECK(head.framing == BodyFraming::kLength || head.content_length == 0);
  FUZZ_CHECK(head.content_length < (std::uint64_t{1} << 63));
  FUZZ_CHECK(!head.upgrade || (head.version_minor == 1 && !head.upgrade_protocol.empty()));
  FUZZ_CHECK(head.upgrade || head.upgrade_protocol.empty());
  FUZZ_CHECK(!head.expect_continue || head.version_minor == 1);
}

// The same bytes cut short must give "need more", or exactly the verdict of the whole.
void check_prefix_agrees(std::string_view bytes, std::size_t cut, const ParseResult& whole,
                         const RequestHead& whole_head) {
  RequestHead head;
  const ParseResult part = parse_request_head(bytes.substr(0, cut), head);
  if (part.state == ParseState::kIncomplete) {
    FUZZ_CHECK(whole.state != ParseState::kComplete || whole.consumed > cut);
    return;
  }
  FUZZ_CHECK(same_result(part, whole));
  if (part.state == ParseState::kComplete) FUZZ_CHECK(same_head(head, whole_head));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = tg::fuzz::as_text(data, size);
  RequestHead head;
  const ParseResult result = parse_request_head(bytes, head);

  switch (result.state) {
    case ParseState::kComplete:
      FUZZ_CHECK(result.error_status == 0);
      check_complete(bytes, result, head);
      check_prefix_agrees(bytes, result.consumed, result, head);
      check_prefix_agrees(bytes, result.consumed - 1, result, head);
      break;
    case ParseState::kIncomplete:
      FUZZ_CHECK(bytes.size() < kMaxHeadBytes);
      break;
    case ParseState::kError:
      FUZZ_CHECK(result.error_status == 400 || result.error_status == 431 ||
                 result.error_status == 501 || result.error_status == 505);
      FUZZ_CHECK(!result.error_reason.empty());
      break;
  }
  if (size > 0) {
    // A cut that moves with the content, so every length gets split somewhere new.
    check_prefix_agrees(bytes, size * data[size / 2] / 256, result, head);
  }
  return 0;
}
