#include "relay/http/field_lines.h"

#include "relay/http/char_class.h"

namespace tg::http::detail {

ParseState read_line_end(std::string_view window, std::size_t& pos, std::string_view& reason) {
  if (pos == window.size()) {
    return ParseState::kIncomplete;
  }
  const char stop = window[pos];
  if (stop == '\n') {
    reason = "bare LF line ending";
    return ParseState::kError;
  }
  if (stop != '\r') {
    reason = "control character in head";
    return ParseState::kError;
  }
  if (pos + 1 == window.size()) {
    return ParseState::kIncomplete;
  }
  if (window[pos + 1] != '\n') {
    reason = "bare CR in head";
    return ParseState::kError;
  }
  pos += 2;
  return ParseState::kComplete;
}

ParseResult parse_field_lines(std::string_view window, std::size_t pos, Header* headers,
                              std::size_t& header_count) {
  const std::size_t size = window.size();
  std::string_view reason;
  for (;;) {
    if (pos == size) {
      return ParseResult{};
    }
    const char first = window[pos];
    if (first == '\r' || first == '\n') {
      switch (read_line_end(window, pos, reason)) {
        case ParseState::kComplete:
          return parse_done(pos);
        case ParseState::kIncomplete:
          return ParseResult{};
        case ParseState::kError:
          return parse_error(400, reason);
      }
    }
    // A line that opens with whitespace continues the previous one in HTTP/1.0-era parsers
    // (obs-fold) and starts a new field in others; RFC 9112 lets a server reject it.
    if (is_whitespace(first)) {
      return parse_error(400, "obsolete line folding");
    }

    const std::size_t name_begin = pos;
    while (pos < size && is_token_char(window[pos])) {
      ++pos;
    }
    if (pos == size) {
      return ParseResult{};
    }
    if (window[pos] != ':') {
      if (is_whitespace(window[pos])) {
        return parse_error(400, "whitespace before colon");
      }
      return parse_error(400, "invalid header name");
    }
    if (pos == name_begin) {
      return parse_error(400, "empty header name");
    }
    const std::string_view name = window.substr(name_begin, pos - name_begin);
    ++pos;

    while (pos < size && is_whitespace(window[pos])) {
      ++pos;
    }
    const std::size_t value_begin = pos;
    while (pos < size && is_field_value_char(window[pos])) {
      ++pos;
    }
    std::size_t value_end = pos;
    while (value_end > value_begin && is_whitespace(window[value_end - 1])) {
      --value_end;
    }
    switch (read_line_end(window, pos, reason)) {
      case ParseState::kComplete:
        break;
      case ParseState::kIncomplete:
        return ParseResult{};
      case ParseState::kError:
        return parse_error(400, reason);
    }
    if (header_count == kMaxHeaders) {
      return parse_error(431, "too many headers");
    }
    headers[header_count++] = Header{name, window.substr(value_begin, value_end - value_begin)};
  }
}

}  // namespace tg::http::detail
