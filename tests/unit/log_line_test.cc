// The JSON log line writer: escaping (every line is parsed by log shippers, so a value must
// never break out of its string) and the fixed parts of every line.
#include <gtest/gtest.h>

#include <cstdint>
#include <regex>
#include <string>

#include "relay/log/log.h"

namespace {

std::string escaped(std::string_view value) {
  std::string out;
  tg::log::append_escaped(out, value);
  return out;
}

TEST(LogEscape, PlainAsciiIsCopiedUnchanged) {
  EXPECT_EQ(escaped("notes.tg.test /mcp?x=1"), "notes.tg.test /mcp?x=1");
  EXPECT_EQ(escaped(""), "");
}

TEST(LogEscape, QuotesBackslashesAndControlsAreEscapedWhereTheyStand) {
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped(std::string_view("x\ny\0z\x7f", 6)), "x\\u000ay\\u0000z\\u007f");
  EXPECT_EQ(escaped("\t"), "\\u0009");
}

TEST(LogEscape, ValidUtf8IsKeptAndInvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(escaped("a\xffz"), "a\\ufffdz");
  EXPECT_EQ(escaped("a\xc3"), "a\\ufffd");             // cut before its continuation byte
  EXPECT_EQ(escaped("\xe2\x82z"), "\\ufffd\\ufffdz");  // the lead, then the stray continuation
  // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
  EXPECT_EQ(escaped("\xc0\xaf"), "\\ufffd\\ufffd");
  EXPECT_EQ(escaped("\xe0\x80\xaf"), "\\ufffd\\ufffd\\ufffd");
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
  EXPECT_EQ(escaped("\xf5\x80\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
  EXPECT_EQ(escaped("\xed\x9f\xbf \xf4\x8f\xbf\xbf"), "\xed\x9f\xbf \xf4\x8f\xbf\xbf");
}

TEST(LogLine, StartsWithTimeEventAndLevelAndEndsWithANewline) {
  tg::log::JsonLine line("request");
  line.add("status", 200).add("bytes", std::uint64_t{18446744073709551615u}).add("delta", -42);
  const std::string text = line.finish();
  static const std::regex kShape(
      R"(^\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z","event":"request","level":"info",)"
      R"("status":200,"bytes":18446744073709551615,"delta":-42\}\n$)");
  EXPECT_TRUE(std::regex_match(text, kShape)) << text;
}

TEST(LogLine, TheTimeMovesForward) {
  // The formatted second is cached per thread: two lines a little apart must still differ.
  const std::string first = tg::log::JsonLine("a").finish().substr(7, 27);
  std::string second = first;
  for (int i = 0; i < 1000000 && second == first; ++i) {
    second = tg::log::JsonLine("a").finish().substr(7, 27);
  }
  EXPECT_LT(first, second);
}

}  // namespace
