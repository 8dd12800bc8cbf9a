#include <gtest/gtest.h>

#include <string>

#include "relay/http/chunked_decoder.h"
#include "relay/http/http.h"

namespace tg::http {
namespace {

// Feeds `body` through a scanner and the decoder in pieces of `step` bytes, as the proxy does.
std::string decode(std::string_view body, std::size_t step, bool* done = nullptr) {
  ChunkedScanner scanner;
  ChunkedDecoder decoder;
  std::string out;
  bool finished = false;
  for (std::size_t at = 0; at < body.size() && !finished;) {
    const auto piece = body.substr(at, std::min(step, body.size() - at));
    const auto result = scanner.feed(piece);
    EXPECT_FALSE(result.error);
    decoder.feed(piece.substr(0, result.consumed), out);
    at += result.consumed;
    finished = result.done;
    if (result.consumed == 0) break;
  }
  if (done != nullptr) *done = finished;
  return out;
}

TEST(ChunkedDecoder, DecodesWholeOrSplitAnywhere) {
  const std::string body =
      "5;name=\"va;lue\"\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
  for (std::size_t step : {body.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}}) {
    bool done = false;
    EXPECT_EQ(decode(body, step, &done), "hello 0123456789") << "step " << step;
    EXPECT_TRUE(done);
  }
}

TEST(ChunkedDecoder, EmptyBodyAndLargeChunks) {
  EXPECT_EQ(decode("0\r\n\r\n", 1), "");
  const std::string data(70000, 'x');
  EXPECT_EQ(decode("11170\r\n" + data + "\r\n0\r\n\r\n", 4096), data);
}

}  // namespace
}  // namespace tg::http
