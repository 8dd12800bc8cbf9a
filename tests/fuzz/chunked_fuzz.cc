// Fuzzes ChunkedScanner, which decides where a chunked body ends: bytes past that point are
// the next request on the connection, so a scanner that ends a body at different places
// depending on how the bytes arrived is a smuggling bug. The first input byte picks a split
// point; the rest is the stream. The stream is scanned whole, in the two pieces around the
// split, and one byte at a time, and all three must agree on consumed, done and error.
// Also: without done or error every byte belongs to the body, and after done the scanner
// takes nothing more.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/http/http.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tg::http::ChunkedScanner;

struct Outcome {
  std::size_t consumed = 0;
  std::size_t trailer_bytes = 0;  // what the proxy drops of a request body: same for any split
  bool done = false;
  bool error = false;
};

// Feeds `pieces` in order the way the proxy does: a piece after done or error is not fed.
template <typename Pieces>
Outcome scan(const Pieces& pieces) {
  ChunkedScanner scanner;
  Outcome outcome;
  for (std::string_view piece : pieces) {
    const ChunkedScanner::Step step = scanner.feed(piece);
    FUZZ_CHECK(step.consumed <= piece.size());
    FUZZ_CHECK(step.trailer_bytes <= step.consumed);
    FUZZ_CHECK(!(step.done && step.error));
    FUZZ_CHECK(step.done == scanner.done());
    FUZZ_CHECK(step.done || step.error || step.consumed == piece.size());
    outcome.consumed += step.consumed;
    outcome.trailer_bytes += step.trailer_bytes;
    outcome.done = step.done;
    outcome.error = step.error;
    if (step.done) {
      const ChunkedScanner::Step after = scanner.feed("0\r\n\r\n");
      FUZZ_CHECK(after.consumed == 0 && after.done && !after.error);
    }
    if (step.done || step.error) break;
  }
  return outcome;
}

bool same(const Outcome& a, const Outcome& b) {
  return a.consumed == b.consumed && a.trailer_bytes == b.trailer_bytes && a.done == b.done &&
         a.error == b.error;
}

// Yields a stream one byte at a time without building a container of views.
struct Bytes {
  std::string_view stream;
  struct Iterator {
    const char* at;
    std::string_view operator*() const { return {at, 1}; }
    Iterator& operator++() {
      ++at;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return at != other.at; }
  };
  Iterator begin() const { return {stream.data()}; }
  Iterator end() const { return {stream.data() + stream.size()}; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view stream = tg::fuzz::as_text(data + 1, size - 1);
  const std::size_t split = stream.size() * data[0] / 255;

  const std::string_view whole_pieces[] = {stream};
  const Outcome whole = scan(whole_pieces);
  FUZZ_CHECK(whole.consumed <= stream.size());

  const std::string_view split_pieces[] = {stream.substr(0, split), stream.substr(split)};
  FUZZ_CHECK(same(scan(split_pieces), whole));

  if (!stream.empty()) FUZZ_CHECK(same(scan(Bytes{stream}), whole));
  return 0;
}
