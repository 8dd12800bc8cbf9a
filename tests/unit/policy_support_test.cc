// The policy's supporting pieces: string interning, and mapping expression offsets back to
// TOML source positions.
#include <gtest/gtest.h>

#include <string>

#include "relay/policy/source_position.h"
#include "relay/policy/string_pool.h"

namespace tg::policy {
namespace {

TEST(PolicyStringPool, InternsOnceAtStableAddresses) {
  StringPool pool;
  std::string text = "DELETE";
  std::string_view first = pool.intern(text);
  text = "changed";
  EXPECT_EQ(first, "DELETE");
  EXPECT_EQ(pool.intern("DELETE").data(), first.data());
  EXPECT_EQ(pool.bytes(), 6u);
  std::string large(100'000, 'x');
  std::string_view big = pool.intern(large);
  for (int i = 0; i < 20'000; ++i) pool.intern("s" + std::to_string(i));  // many blocks
  EXPECT_EQ(big, large);
  EXPECT_EQ(first, "DELETE");
  EXPECT_EQ(pool.intern("s19999"), "s19999");
  EXPECT_TRUE(pool.intern("").empty());
}

TextPosition at(std::string_view document, int line, int column, std::string_view decoded,
                std::size_t offset) {
  return locate_in_toml_string(document, TextPosition{line, column}, decoded, offset);
}

TEST(PolicySourcePosition, BasicAndLiteralStrings) {
  std::string_view doc = "a = 1\nwhen = 'x == y'\n";
  TextPosition p = at(doc, 2, 8, "x == y", 5);
  EXPECT_EQ(p.line, 2);
  EXPECT_EQ(p.column, 14);
  // Escapes take their raw width; a position inside one is its backslash.
  doc = "k = \"\\u00e9\\U0001F600 \\\\x\"\n";
  p = at(doc, 1, 5, "\xc3\xa9\xf0\x9f\x98\x80 \\x", 7);  // the \\ escape
  EXPECT_EQ(p.column, 23);
  p = at(doc, 1, 5, "\xc3\xa9\xf0\x9f\x98\x80 \\x", 1);  // inside the \u escape
  EXPECT_EQ(p.column, 6);
  p = at(doc, 1, 5, "\xc3\xa9\xf0\x9f\x98\x80 \\x", 8);  // the x after it
  EXPECT_EQ(p.column, 25);
  p = at(doc, 1, 5, "\xc3\xa9\xf0\x9f\x98\x80 \\x", 9);  // the end: the closing quote
  EXPECT_EQ(p.column, 26);
}

TEST(PolicySourcePosition, FallsBackWhenTheReReadDisagrees) {
  std::string_view doc = "k = 'abc'\n";
  // The decoded text is not what the file holds: blame the value's line, column + offset.
  TextPosition p = at(doc, 1, 5, "xyz", 2);
  EXPECT_EQ(p.line, 1);
  EXPECT_EQ(p.column, 8);
  p = at(doc, 7, 1, "abc", 1);  // no such line
  EXPECT_EQ(p.line, 7);
  EXPECT_EQ(p.column, 3);
}

}  // namespace
}  // namespace tg::policy
