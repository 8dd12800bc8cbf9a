/// ChunkedDecoder: the data of a chunked body, for the few places the relay must read a body
/// rather than forward it (an MCP request inspected before it is sent, a list response
/// filtered before the visitor sees it).
///
/// It decodes bytes that a ChunkedScanner has already accepted (feed it exactly the scanner's
/// `consumed` bytes, in order): the scanner owns the framing rules and refuses what is
/// malformed, the decoder only splits what is known to be well formed into chunk data
/// (appended to the caller's buffer) and framing (dropped: sizes, extensions, CRLFs,
/// trailers). Like the scanner it keeps only its position, so a body split anywhere across
/// reads decodes the same. It never allocates except by appending to `out`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::http {

class ChunkedDecoder {
 public:
  /// Appends the chunk data in `validated` to `out`; returns how many data bytes it appended.
  std::size_t feed(std::string_view validated, std::string& out);
  /// The last chunk (size 0) has been read; what follows is trailers, dropped.
  bool at_last_chunk() const { return state_ == State::kTrailers; }

 private:
  enum class State : std::uint8_t { kSize, kSizeLineRest, kData, kDataEnd, kTrailers };
  State state_ = State::kSize;
  std::uint64_t remaining_ = 0;
};

}  // namespace tg::http
