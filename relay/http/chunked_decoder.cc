// ChunkedDecoder: chunk data out of a body a ChunkedScanner has already validated, so only
// the size digits are read one by one; data is appended in bulk and the CRLF after it skipped.
#include "relay/http/chunked_decoder.h"

#include <algorithm>

#include "relay/http/char_class.h"

namespace tg::http {

std::size_t ChunkedDecoder::feed(std::string_view validated, std::string& out) {
  std::size_t appended = 0;
  std::size_t pos = 0;
  while (pos < validated.size() && state_ != State::kTrailers) {
    const char c = validated[pos];
    switch (state_) {
      case State::kSize:
        if (detail::has_class(c, detail::kHexDigit)) {
          remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(detail::hex_value(c));
        } else {
          state_ = State::kSizeLineRest;  // ';' (extensions) or CR: skip to the LF
          continue;
        }
        ++pos;
        break;
      case State::kSizeLineRest:
        ++pos;
        if (c == '\n') state_ = remaining_ == 0 ? State::kTrailers : State::kData;
        break;
      case State::kData: {
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, validated.size() - pos));
        out.append(validated.substr(pos, take));
        appended += take;
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd:  // the CRLF after the data
        ++pos;
        if (c == '\n') state_ = State::kSize;
        break;
      case State::kTrailers:
        break;
    }
  }
  return appended;
}

}  // namespace tg::http
