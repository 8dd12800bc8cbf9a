#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "relay/http/http.h"

namespace tg::http {
namespace {

using namespace std::string_literals;

// A body using every construct: several chunks, hex in both cases, extensions with token and
// quoted values (an escaped quote included), and trailers.
const std::string kRichBody =
    "5\r\nhello\r\n"
    "1a;name=value;flag\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "A;q=\"quoted; \\\"text\\\"\"\r\n0123456789\r\n"
    "0\r\nX-Checksum: abc\r\nX-Other:\t2 \r\n\r\n";

struct Outcome {
  std::size_t consumed = 0;
  bool done = false;
  bool error = false;
};

// Feeds `bytes` in pieces cut at `cuts` and sums what the scanner reports.
Outcome feed_in_pieces(std::string_view bytes, std::initializer_list<std::size_t> cuts) {
  ChunkedScanner scanner;
  Outcome outcome;
  std::size_t begin = 0;
  auto feed = [&](std::size_t end) {
    if (outcome.done || outcome.error) {
      return;
    }
    const ChunkedScanner::Step step = scanner.feed(bytes.substr(begin, end - begin));
    outcome.consumed += step.consumed;
    outcome.done = step.done;
    outcome.error = step.error;
    begin = end;
  };
  for (std::size_t cut : cuts) {
    feed(cut);
  }
  feed(bytes.size());
  return outcome;
}

Outcome feed_whole(std::string_view bytes) {
  return feed_in_pieces(bytes, {});
}

void expect_refused(std::string_view body) {
  const Outcome outcome = feed_whole(body);
  EXPECT_TRUE(outcome.error) << testing::PrintToString(std::string(body));
  EXPECT_FALSE(outcome.done);
}

TEST(HttpChunked, FindsTheEndOfABodyAndLeavesTheNextMessage) {
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  ChunkedScanner scanner;
  const ChunkedScanner::Step step = scanner.feed(body + "GET / HTTP/1.1\r\n");
  EXPECT_TRUE(step.done);
  EXPECT_FALSE(step.error);
  EXPECT_EQ(step.consumed, body.size());
  EXPECT_TRUE(scanner.done());

  const ChunkedScanner::Step after = scanner.feed("more");
  EXPECT_TRUE(after.done);
  EXPECT_EQ(after.consumed, 0u);
}

TEST(HttpChunked, WaitsForMoreBytesWithoutFinishing) {
  ChunkedScanner scanner;
  const ChunkedScanner::Step step = scanner.feed("10\r\nonly part");
  EXPECT_FALSE(step.done);
  EXPECT_FALSE(step.error);
  EXPECT_EQ(step.consumed, 13u);
  EXPECT_FALSE(scanner.done());
}

TEST(HttpChunked, SameResultForEverySplitOfARichBody) {
  const std::string stream = kRichBody + "NEXT";
  const Outcome whole = feed_whole(stream);
  ASSERT_TRUE(whole.done);
  ASSERT_FALSE(whole.error);
  ASSERT_EQ(whole.consumed, kRichBody.size());
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    const Outcome split = feed_in_pieces(stream, {cut});
    EXPECT_TRUE(split.done) << "cut at " << cut;
    EXPECT_FALSE(split.error) << "cut at " << cut;
    EXPECT_EQ(split.consumed, kRichBody.size()) << "cut at " << cut;
  }
  for (std::size_t first = 0; first <= stream.size(); ++first) {
    for (std::size_t second = first; second <= stream.size(); ++second) {
      const Outcome split = feed_in_pieces(stream, {first, second});
      ASSERT_TRUE(split.done && !split.error && split.consumed == kRichBody.size())
          << "cuts at " << first << " and " << second;
    }
  }
}

TEST(HttpChunked, SameResultOneByteAtATime) {
  ChunkedScanner scanner;
  std::size_t consumed = 0;
  for (char c : kRichBody) {
    ASSERT_FALSE(scanner.done());
    const ChunkedScanner::Step step = scanner.feed(std::string_view(&c, 1));
    ASSERT_FALSE(step.error);
    EXPECT_EQ(step.consumed, 1u);
    consumed += step.consumed;
  }
  EXPECT_TRUE(scanner.done());
  EXPECT_EQ(consumed, kRichBody.size());
}

TEST(HttpChunked, SameErrorForEverySplitOfABadBody) {
  const std::string bad = "5\r\nhello\r\n3\r\nabcX\r\n0\r\n\r\n";  // no CRLF after "abc"
  const std::size_t fault = bad.find('X');
  for (std::size_t cut = 0; cut <= bad.size(); ++cut) {
    const Outcome split = feed_in_pieces(bad, {cut});
    EXPECT_TRUE(split.error) << "cut at " << cut;
    EXPECT_EQ(split.consumed, fault) << "cut at " << cut;
  }
}

TEST(HttpChunked, ScansALargeChunkInPieces) {
  const std::string body = "10000\r\n" + std::string(0x10000, 'x') + "\r\n0\r\n\r\n";
  EXPECT_EQ(feed_in_pieces(body, {3, 100, 40000, body.size() - 3}).consumed, body.size());
  EXPECT_TRUE(feed_in_pieces(body, {3, 100, 40000, body.size() - 3}).done);
}

TEST(HttpChunked, AcceptsTheLargestSizeAndLeadingZeros) {
  EXPECT_FALSE(feed_whole("7FFFFFFFFFFFFFFF\r\nabc").error);
  EXPECT_FALSE(feed_whole("7fffffffffffffff\r\n").error);
  const Outcome padded = feed_whole("0000000000000005\r\nhello\r\n0000\r\n\r\n");
  EXPECT_TRUE(padded.done);
}

TEST(HttpChunked, RefusesMalformedSizes) {
  expect_refused("+5\r\nhello\r\n0\r\n\r\n");
  expect_refused("0x5\r\nhello\r\n0\r\n\r\n");
  expect_refused("-5\r\nhello\r\n0\r\n\r\n");
  expect_refused(" 5\r\nhello\r\n0\r\n\r\n");
  expect_refused("5 \r\nhello\r\n0\r\n\r\n");
  expect_refused("5\t\r\nhello\r\n0\r\n\r\n");
  expect_refused("g\r\n");
  expect_refused("\r\n");
  expect_refused(";ext\r\n");
  expect_refused("FFFFFFFFFFFFFFFFF\r\n");  // 17 digits
  expect_refused("00000000000000005\r\n");  // 17 digits, even if small
  expect_refused("8000000000000000\r\n");   // 2^63
  expect_refused("FFFFFFFFFFFFFFFF\r\n");   // 2^64 - 1
  expect_refused("5\0\r\n"s);
}

TEST(HttpChunked, RefusesMissingOrBareLineEnds) {
  expect_refused("5\nhello\r\n0\r\n\r\n");
  expect_refused("5\rhello\r\n0\r\n\r\n");
  expect_refused("5\r\nhello\n0\r\n\r\n");
  expect_refused("5\r\nhelloX\r\n0\r\n\r\n");
  expect_refused("5\r\nhello\r\r\n0\r\n\r\n");
  expect_refused("5\r\nhello\r\n0\n\r\n");
  expect_refused("5\r\nhello\r\n0\r\n\n");
  expect_refused("5\r\nhello\r\n0\r\n\rX");
}

TEST(HttpChunked, ValidatesExtensions) {
  EXPECT_TRUE(feed_whole("5;a\r\nhello\r\n0;last=yes\r\n\r\n").done);
  EXPECT_TRUE(feed_whole("5;a=\"\"\r\nhello\r\n0\r\n\r\n").done);
  EXPECT_TRUE(feed_whole("5;a=\"x\\\\y\";b=c\r\nhello\r\n0\r\n\r\n").done);

  expect_refused("5;\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;;a\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;=x\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a=\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a==b\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a=b=c\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a b\r\nhello\r\n0\r\n\r\n");
  expect_refused("5 ;a\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a =b\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a=\"open\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a=\"x\\\ry\"\r\nhello\r\n0\r\n\r\n");
  expect_refused("5;a=\"x\0\"\r\nhello\r\n0\r\n\r\n"s);
  expect_refused("5;a\nhello\r\n0\r\n\r\n");
}

TEST(HttpChunked, CapsTheSizeLine) {
  const std::string long_line = "5;x=" + std::string(ChunkedScanner::kMaxSizeLineBytes, 'a');
  const Outcome outcome = feed_whole(long_line + "\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(outcome.error);
  EXPECT_EQ(outcome.consumed, ChunkedScanner::kMaxSizeLineBytes);

  const std::string fits = "5;x=" + std::string(ChunkedScanner::kMaxSizeLineBytes - 6, 'a');
  EXPECT_TRUE(feed_whole(fits + "\r\nhello\r\n0\r\n\r\n").done);
}

TEST(HttpChunked, ValidatesTrailers) {
  EXPECT_TRUE(feed_whole("0\r\nX: 1\r\nY:2\r\nEmpty:\r\n\r\n").done);
  expect_refused("0\r\nX: 1\r\n folded\r\n\r\n");
  expect_refused("0\r\n X: 1\r\n\r\n");
  expect_refused("0\r\nNo colon\r\n\r\n");
  expect_refused("0\r\nX : 1\r\n\r\n");
  expect_refused("0\r\n: 1\r\n\r\n");
  expect_refused("0\r\nX: 1\n\r\n");
  expect_refused("0\r\nX: a\0b\r\n\r\n"s);
  expect_refused("0\r\nX: 1\r\n\n");
}

TEST(HttpChunked, CapsTheTrailers) {
  std::string trailers;
  while (trailers.size() < ChunkedScanner::kMaxTrailerBytes) {
    trailers += "X-Pad: 0123456789abcdef\r\n";
  }
  const Outcome outcome = feed_whole("0\r\n" + trailers + "\r\n");
  EXPECT_TRUE(outcome.error);
  EXPECT_EQ(outcome.consumed, 3 + ChunkedScanner::kMaxTrailerBytes);

  const std::string fits = "X: " + std::string(ChunkedScanner::kMaxTrailerBytes - 7, 'v') + "\r\n";
  EXPECT_TRUE(feed_whole("0\r\n" + fits + "\r\n").done);
}

// What the proxy forwards of a chunked request: everything up to the last chunk's line, then
// the final CRLF alone, whatever the split.
std::string forwarded_without_trailers(std::string_view bytes, std::size_t piece) {
  ChunkedScanner scanner;
  std::string out;
  for (std::size_t at = 0; at < bytes.size() && !scanner.done(); at += piece) {
    const ChunkedScanner::Step step = scanner.feed(bytes.substr(at, piece));
    EXPECT_FALSE(step.error);
    EXPECT_LE(step.trailer_bytes, step.consumed);
    out.append(bytes.substr(at, step.consumed - step.trailer_bytes));
    if (step.done) out.append("\r\n");
  }
  return out;
}

TEST(HttpChunked, MarksTheTrailerSectionSoItCanBeDropped) {
  const std::string without = kRichBody.substr(0, kRichBody.find("0\r\nX-Checksum") + 3) + "\r\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, kRichBody.size()}) {
    EXPECT_EQ(forwarded_without_trailers(kRichBody + "GET / HTTP/1.1\r\n", piece), without)
        << piece;
  }
  // No trailers: the final CRLF is the whole trailer section, and it is replaced by itself.
  const std::string plain = "5\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(forwarded_without_trailers(plain, 1), plain);
  ChunkedScanner scanner;
  const ChunkedScanner::Step step = scanner.feed(plain);
  EXPECT_EQ(step.trailer_bytes, 2u);
  EXPECT_EQ(step.consumed, plain.size());
}

TEST(HttpChunked, CountsNoTrailerBytesBeforeTheLastChunk) {
  ChunkedScanner scanner;
  const ChunkedScanner::Step step = scanner.feed("5\r\nhello\r\n3\r\nab");
  EXPECT_EQ(step.trailer_bytes, 0u);
  EXPECT_FALSE(step.done);
}

TEST(HttpChunked, StaysFailedAfterAnError) {
  ChunkedScanner scanner;
  const ChunkedScanner::Step bad = scanner.feed("+5\r\n");
  EXPECT_TRUE(bad.error);
  EXPECT_EQ(bad.consumed, 0u);
  const ChunkedScanner::Step again = scanner.feed("0\r\n\r\n");
  EXPECT_TRUE(again.error);
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_FALSE(scanner.done());
}

}  // namespace
}  // namespace tg::http
