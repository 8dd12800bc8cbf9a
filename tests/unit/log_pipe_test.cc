// Log lines on a pipe (relay/log/line_limit.h): workers' flushes never interleave mid-line,
// and a line that would pass PIPE_BUF has its longest strings cut and still parses.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "relay/log/line_limit.h"
#include "relay/log/log.h"

namespace {

using tg::log::kMaxLineBytes;

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& line) {
  auto parsed = parser.parse(line);
  EXPECT_EQ(parsed.error(), simdjson::SUCCESS) << line.substr(0, 200);
  return parsed.value_unsafe();
}

std::string line_with_path(const std::string& path) {
  return tg::log::JsonLine("request")
      .add("name", "notes")
      .add("path", path)
      .add("status", 200)
      .finish();
}

TEST(LogLineLimit, ShortLinesAreUnchanged) {
  const std::string line = line_with_path("/mcp");
  EXPECT_EQ(tg::log::shorten_line(line), line);
  EXPECT_EQ(line.find("truncated"), std::string::npos);
}

TEST(LogLineLimit, ALongPathIsCutToFitOneAtomicWrite) {
  const std::string path = "/" + std::string(15000, 'p');
  const std::string line = line_with_path(path);
  ASSERT_LE(line.size(), kMaxLineBytes);
  ASSERT_TRUE(line.ends_with("}\n"));
  simdjson::dom::parser parser;
  auto object = parse(parser, line.substr(0, line.size() - 1));
  EXPECT_EQ(object["truncated"].get_bool().value_unsafe(), true);
  EXPECT_EQ(object["status"].get_int64().value_unsafe(), 200);
  EXPECT_EQ(std::string(object["name"].get_string().value_unsafe()), "notes");
  const std::string cut(object["path"].get_string().value_unsafe());
  EXPECT_TRUE(cut.ends_with("\xe2\x80\xa6")) << cut.substr(cut.size() - 10);
  EXPECT_EQ(cut.substr(0, 1000), path.substr(0, 1000));
  EXPECT_GT(cut.size(), kMaxLineBytes / 2) << "only as much is cut as the limit needs";
}

TEST(LogLineLimit, CutsNeverSplitAnEscapeOrACharacter) {
  simdjson::dom::parser parser;
  // Every offset of the cut against escapes (\u0001 is 6 bytes) and 2-, 3- and 4-byte UTF-8.
  for (std::size_t pad = 0; pad < 8; ++pad) {
    std::string path(pad, 'a');
    while (path.size() < 9000) path += "\x01\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"\\";
    const std::string line = line_with_path(path);
    ASSERT_LE(line.size(), kMaxLineBytes);
    auto object = parse(parser, line.substr(0, line.size() - 1));
    EXPECT_TRUE(object["truncated"].get_bool().value_unsafe());
  }
}

TEST(LogLineLimit, SeveralLongStringsAreCutLongestFirst) {
  const std::string line = tg::log::JsonLine("tls_failed")
                               .add("sni", std::string(3000, 's'))
                               .add("reason", std::string(3000, 'r'))
                               .add("client", "192.0.2.1")
                               .finish();
  ASSERT_LE(line.size(), kMaxLineBytes);
  simdjson::dom::parser parser;
  auto object = parse(parser, line.substr(0, line.size() - 1));
  EXPECT_EQ(std::string(object["client"].get_string().value_unsafe()), "192.0.2.1");
  EXPECT_TRUE(object["truncated"].get_bool().value_unsafe());
}

TEST(LogLineLimit, TheAuditTrailIsNeverCut) {
  const std::string line =
      tg::log::JsonLine("audit").add("arguments", std::string(20000, 'x')).finish();
  EXPECT_GT(line.size(), 20000u);
  EXPECT_EQ(line.find("truncated"), std::string::npos);
}

TEST(LogLineLimit, PiecesHoldWholeLinesUpToTheLimit) {
  const std::string a(1000, 'a'), b(3200, 'b'), c(5000, 'c');
  const std::string text = a + "\n" + b + "\n" + c + "\n" + a + "\n";
  std::string_view rest = text;
  std::vector<std::size_t> sizes;
  while (!rest.empty()) {
    const auto piece = tg::log::next_whole_lines(rest);
    ASSERT_TRUE(piece.ends_with('\n'));
    sizes.push_back(piece.size());
    rest.remove_prefix(piece.size());
  }
  // 1001 + 3201 > 4096: apart; the 5001-byte line alone (only the audit makes such lines).
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1001, 3201, 5001, 1001}));
  EXPECT_EQ(tg::log::next_whole_lines(a + "\n" + a + "\n" + b + "\n").size(), 2002u);
  EXPECT_EQ(tg::log::next_whole_lines("ab\ncd\n"), "ab\ncd\n");
}

// Workers flush many long lines at once into a pipe whose reader is slow: each of their
// writes must hold whole lines, or the reader sees pieces of one worker's line inside
// another's. (A single write of a whole buffer is split by the kernel when the pipe is full.)
TEST(LogPipe, ConcurrentFlushesNeverInterleaveMidLine) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  constexpr int kWriters = 4, kRounds = 20, kLinesPerRound = 40;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([w, fd = fds[1]] {
      tg::log::Buffer buffer(fd);
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kLinesPerRound; ++i) {
          // Some lines near the limit, some past it (cut), all distinct per writer.
          const std::size_t size = 500 + static_cast<std::size_t>((i * 977 + w * 131) % 6000);
          buffer.push(tg::log::JsonLine("request")
                          .add("writer", w)
                          .add("seq", round * kLinesPerRound + i)
                          .add("path", std::string(size, static_cast<char>('a' + w)))
                          .finish());
        }
        ASSERT_TRUE(buffer.flush());
      }
    });
  }
  std::string received;
  std::thread reader([&] {
    char chunk[1500];
    // Let the pipe fill first, so that writers block and the kernel splits large writes.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (;;) {
      const ssize_t n = read(fds[0], chunk, sizeof chunk);
      if (n <= 0) break;
      received.append(chunk, static_cast<std::size_t>(n));
    }
  });
  for (auto& writer : writers) writer.join();
  close(fds[1]);
  reader.join();
  close(fds[0]);

  simdjson::dom::parser parser;
  std::map<std::int64_t, std::int64_t> next_seq;
  std::size_t lines = 0, bad = 0;
  for (std::size_t start = 0; start < received.size();) {
    const auto end = received.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    const std::string line = received.substr(start, end - start);
    start = end + 1;
    ++lines;
    auto parsed = parser.parse(line);
    if (parsed.error() != simdjson::SUCCESS) {
      ++bad;
      continue;
    }
    const std::int64_t writer = parsed.value_unsafe()["writer"].get_int64().value_unsafe();
    const std::int64_t seq = parsed.value_unsafe()["seq"].get_int64().value_unsafe();
    const std::string path(parsed.value_unsafe()["path"].get_string().value_unsafe());
    EXPECT_EQ(path.find_first_not_of(static_cast<char>('a' + writer)),
              path.ends_with("\xe2\x80\xa6") ? path.size() - 3 : std::string::npos);
    EXPECT_EQ(seq, next_seq[writer]) << "a writer's lines arrive in order";
    next_seq[writer] = seq + 1;
  }
  EXPECT_EQ(bad, 0u) << "lines broken by another writer's bytes, of " << lines;
  EXPECT_EQ(lines, static_cast<std::size_t>(kWriters * kRounds * kLinesPerRound));
}

}  // namespace
