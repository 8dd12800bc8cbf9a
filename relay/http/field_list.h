/// Small text helpers over header values: optional-whitespace trimming, token checks, and a
/// cursor over comma-separated lists (RFC 9110 section 5.6.1), used by the head parsers to
/// read Content-Length, Transfer-Encoding and Connection, and by the head writers to find the
/// names a Connection header lists. Views only; nothing is copied.
#pragma once

#include <cstddef>
#include <string_view>

#include "relay/http/char_class.h"

namespace tg::http::detail {

constexpr std::string_view trim_whitespace(std::string_view text) {
  while (!text.empty() && is_whitespace(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_whitespace(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

constexpr bool is_token(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

/// Yields the elements of a comma-separated list, trimmed. Empty elements ("a,,b", a trailing
/// comma) are yielded as empty views so that callers can decide: RFC 9110 says to skip them,
/// while the framing headers treat them as a sign of tampering.
class ListElements {
 public:
  explicit constexpr ListElements(std::string_view value) : rest_(value) {}

  constexpr bool next(std::string_view& element) {
    if (finished_) {
      return false;
    }
    const std::size_t comma = rest_.find(',');
    if (comma == std::string_view::npos) {
      element = trim_whitespace(rest_);
      finished_ = true;
    } else {
      element = trim_whitespace(rest_.substr(0, comma));
      rest_.remove_prefix(comma + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
  bool finished_ = false;
};

}  // namespace tg::http::detail
