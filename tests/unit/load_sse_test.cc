#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tools/load/sse_scanner.h"

namespace tg::load {
namespace {

std::vector<std::uint64_t> scan_in_pieces(const std::string& bytes, std::size_t piece) {
  SseTimestampScanner scanner;
  std::vector<std::uint64_t> found;
  for (std::size_t i = 0; i < bytes.size(); i += piece) {
    scanner.feed(std::string_view(bytes).substr(i, piece),
                 [&](std::uint64_t ns) { found.push_back(ns); });
  }
  return found;
}

// Three events as the built-in backend writes them: chunked, one event per chunk.
const std::string kChunkedStream =
    "17\r\ndata: 123456789012345\n\n\r\n"
    "9\r\ndata: 7\n\n\r\n"
    "1b\r\ndata:   987654321098765\r\n\r\n\r\n"
    "0\r\n\r\n";

TEST(LoadSse, FindsEveryTimestampWhateverTheReadBoundaries) {
  const std::vector<std::uint64_t> expected = {123456789012345u, 7u, 987654321098765u};
  for (std::size_t piece = 1; piece <= kChunkedStream.size(); ++piece) {
    EXPECT_EQ(scan_in_pieces(kChunkedStream, piece), expected) << "pieces of " << piece;
  }
}

TEST(LoadSse, IgnoresLinesThatAreNotTimestamps) {
  const std::string stream =
      "event: tick\ndata: hello\ndata: 12x\ndata:\n: comment 5\nid: 9\nxdata: 4\n"
      "data: 12345678901234567890\n"  // 20 digits: not a timestamp of ours
      "data: 42\n";
  EXPECT_EQ(scan_in_pieces(stream, stream.size()), std::vector<std::uint64_t>{42u});
}

TEST(LoadSse, SkipsOverlongLinesAndRecoversAtTheNextOne) {
  const std::string stream = "data: " + std::string(5000, '1') + "\ndata: 5\n";
  for (std::size_t piece : {1u, 7u, 100u, 6000u}) {
    EXPECT_EQ(scan_in_pieces(stream, piece), std::vector<std::uint64_t>{5u}) << piece;
  }
}

TEST(LoadSse, AnUnfinishedLineWaitsForItsEnd) {
  SseTimestampScanner scanner;
  std::vector<std::uint64_t> found;
  auto sink = [&](std::uint64_t ns) { found.push_back(ns); };
  scanner.feed("data: 12", sink);
  EXPECT_TRUE(found.empty());
  scanner.feed("34\n", sink);
  EXPECT_EQ(found, std::vector<std::uint64_t>{1234u});
  scanner.feed("data: 99", sink);
  scanner.reset();  // a new response: the half line belonged to the old one
  scanner.feed("\n", sink);
  EXPECT_EQ(found.size(), 1u);
}

}  // namespace
}  // namespace tg::load
