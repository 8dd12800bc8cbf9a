// ChunkedScanner: a byte-at-a-time state machine over the chunked coding (RFC 9112 section 7.1)
// that remembers only where it is, so a body split anywhere across reads scans the same as a
// body read whole. Chunk data is skipped in bulk; only framing bytes are looked at one by one.
//
// Stricter than the grammar where laxness has been exploited: no whitespace anywhere in a size
// line (the grammar's BWS around extensions included), at most 16 hex digits and a size below
// 2^63, CRLF required after every line and after chunk data.
#include <algorithm>

#include "relay/http/char_class.h"
#include "relay/http/http.h"

namespace tg::http {

namespace {

constexpr std::uint64_t kMaxChunkSize = (std::uint64_t{1} << 63) - 1;
constexpr std::size_t kMaxSizeDigits = 16;

}  // namespace

ChunkedScanner::Step ChunkedScanner::feed(std::string_view bytes) {
  using detail::is_token_char;
  Step step;
  std::size_t pos = 0;
  while (pos < bytes.size() && state_ != State::kDone && state_ != State::kError) {
    if (state_ == State::kData) {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size() - pos));
      pos += take;
      remaining_ -= take;
      if (remaining_ == 0) {
        state_ = State::kDataCr;
      }
      continue;
    }

    const char c = bytes[pos];
    const State before = state_;
    state_ = State::kError;  // each case below names the next state, or leaves this
    switch (before) {
      case State::kSize:
        if (detail::has_class(c, detail::kHexDigit)) {
          const auto digit = static_cast<std::uint64_t>(detail::hex_value(c));
          if (size_digits_ < kMaxSizeDigits && remaining_ <= (kMaxChunkSize - digit) / 16) {
            remaining_ = remaining_ * 16 + digit;
            ++size_digits_;
            state_ = State::kSize;
          }
        } else if (size_digits_ > 0 && c == ';') {
          state_ = State::kExtension;
        } else if (size_digits_ > 0 && c == '\r') {
          state_ = State::kSizeLf;
        }
        break;
      case State::kExtension:
        if (is_token_char(c)) {
          state_ = State::kExtensionName;
        }
        break;
      case State::kExtensionName:
      case State::kExtensionToken:
        if (is_token_char(c)) {
          state_ = before;
        } else if (c == '=' && before == State::kExtensionName) {
          state_ = State::kExtensionValue;
        } else if (c == ';') {
          state_ = State::kExtension;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        }
        break;
      case State::kExtensionValue:
        if (c == '"') {
          state_ = State::kExtensionQuoted;
        } else if (is_token_char(c)) {
          state_ = State::kExtensionToken;
        }
        break;
      case State::kExtensionQuoted:
        if (c == '"') {
          state_ = State::kExtensionQuotedEnd;
        } else if (c == '\\') {
          state_ = State::kExtensionQuotedEscape;
        } else if (detail::has_class(c, detail::kQuotedText)) {
          state_ = State::kExtensionQuoted;
        }
        break;
      case State::kExtensionQuotedEscape:
        // quoted-pair: HTAB, SP, VCHAR, obs-text; never CR or LF.
        if (detail::is_field_value_char(c)) {
          state_ = State::kExtensionQuoted;
        }
        break;
      case State::kExtensionQuotedEnd:
        if (c == ';') {
          state_ = State::kExtension;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        }
        break;
      case State::kSizeLf:
        if (c == '\n') {
          state_ = remaining_ == 0 ? State::kTrailerStart : State::kData;
        }
        break;
      case State::kDataCr:
        if (c == '\r') {
          state_ = State::kDataLf;
        }
        break;
      case State::kDataLf:
        if (c == '\n') {
          state_ = State::kSize;
          size_digits_ = 0;
          line_bytes_ = 0;
        }
        break;
      case State::kTrailerStart:
        // Leading whitespace would be obs-fold and a bare LF a line end others may not see.
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (is_token_char(c)) {
          state_ = State::kTrailerName;
        }
        break;
      case State::kTrailerName:
        if (is_token_char(c)) {
          state_ = State::kTrailerName;
        } else if (c == ':') {
          state_ = State::kTrailerValue;
        }
        break;
      case State::kTrailerValue:
        if (detail::is_field_value_char(c)) {
          state_ = State::kTrailerValue;
        } else if (c == '\r') {
          state_ = State::kTrailerLf;
        }
        break;
      case State::kTrailerLf:
        if (c == '\n') {
          state_ = State::kTrailerStart;
        }
        break;
      case State::kFinalLf:
        if (c == '\n') {
          state_ = State::kDone;
        }
        break;
      case State::kData:
      case State::kDone:
      case State::kError:
        break;
    }
    // The size-line states and the trailer states are declared contiguously in http.h.
    if (before <= State::kSizeLf && ++line_bytes_ > kMaxSizeLineBytes) {
      state_ = State::kError;
    }
    if (before >= State::kTrailerStart && ++trailer_bytes_ > kMaxTrailerBytes) {
      state_ = State::kError;
    }
    if (state_ == State::kError) {
      break;
    }
    if (before >= State::kTrailerStart) {
      ++step.trailer_bytes;  // the trailer section runs to the end: always a suffix of consumed
    }
    ++pos;
  }
  step.consumed = pos;
  step.done = state_ == State::kDone;
  step.error = state_ == State::kError;
  return step;
}

}  // namespace tg::http
