/// The part of a message head that requests and responses share: the header field lines after
/// the start line, up to the blank line, read strictly (RFC 9112 section 5). Also the rule both
/// parsers apply when the bytes run out: wait for more, or answer 431 once kMaxHeadBytes have
/// arrived without a complete head.
///
/// Rejections are the places where two HTTP implementations have been known to disagree about
/// a message's framing: bare LF, obs-fold, whitespace before the colon, control bytes.
#pragma once

#include <cstddef>
#include <string_view>

#include "relay/http/http.h"

namespace tg::http::detail {

constexpr ParseResult parse_error(int status, std::string_view reason) {
  return ParseResult{ParseState::kError, 0, status, reason};
}

constexpr ParseResult parse_done(std::size_t consumed = 0) {
  return ParseResult{ParseState::kComplete, consumed, 0, {}};
}

/// The bytes a head may occupy; anything past them is never looked at.
constexpr std::string_view head_window(std::string_view bytes) {
  return bytes.substr(0, bytes.size() < kMaxHeadBytes ? bytes.size() : kMaxHeadBytes);
}

/// What to answer when a head is unfinished after `available` bytes.
constexpr ParseResult head_needs_more(std::size_t available) {
  if (available >= kMaxHeadBytes) {
    return parse_error(431, "head too large");
  }
  return ParseResult{};
}

/// Reads the CRLF expected at `pos` (where a line's content stopped). kComplete moves `pos`
/// past it; kIncomplete when the window ends first; kError with a reason for a bare LF, a CR
/// not followed by LF, or any other byte that stopped the line.
ParseState read_line_end(std::string_view window, std::size_t& pos, std::string_view& reason);

/// Reads header field lines from `pos` through the blank line that ends the head, storing
/// each field in `headers`. kComplete with `consumed` = the head's full length; kIncomplete
/// when the window ends first; kError 400 for malformed lines, 431 past kMaxHeaders fields.
ParseResult parse_field_lines(std::string_view window, std::size_t pos, Header* headers,
                              std::size_t& header_count);

}  // namespace tg::http::detail
