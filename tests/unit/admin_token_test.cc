// The admin token file's rules (relay/admin/admin_token.h); tests/integration/test_cli.py
// checks that --check-config and start-up apply them alike.
#include "relay/admin/admin_token.h"

#include <gtest/gtest.h>

#include <string>

namespace tg {
namespace {

std::string refusal(std::string_view text) {
  auto token = parse_admin_token(text, "admin.token");
  EXPECT_FALSE(token) << "accepted: " << (token ? *token : "");
  return token ? std::string() : token.error().message;
}

TEST(AdminToken, OneWordWithAnOptionalLineEnd) {
  const std::string word = "0123456789abcdef";
  for (const std::string& text : {word, word + "\n", word + "\r\n"}) {
    auto token = parse_admin_token(text, "admin.token");
    ASSERT_TRUE(token) << token.error().message;
    EXPECT_EQ(*token, word);
  }
  EXPECT_TRUE(parse_admin_token(std::string(kMaxAdminTokenChars, 'x'), "t"));
}

TEST(AdminToken, RefusesWhatCouldBeMisread) {
  EXPECT_NE(refusal("").find("admin.token: the admin token file is empty"), std::string::npos);
  EXPECT_NE(refusal("\n").find("is empty"), std::string::npos);
  EXPECT_NE(refusal("0123456789abcde\n").find("has 15 characters"), std::string::npos);
  EXPECT_NE(refusal(std::string(kMaxAdminTokenChars + 1, 'x')).find("has 4097 characters"),
            std::string::npos);
  EXPECT_NE(refusal("  \t\n").find("whitespace at character 1"), std::string::npos);
  EXPECT_NE(refusal("0123456789abcdef more\n").find("whitespace at character 17"),
            std::string::npos);
  EXPECT_NE(refusal("0123456789abcdef\n\n").find("whitespace at character 17"), std::string::npos);
  EXPECT_NE(refusal("0123456789abcdef\r").find("whitespace at character 17"), std::string::npos);
  EXPECT_NE(refusal("0123456789abcdef\x7f").find("control or non-ASCII"), std::string::npos);
  EXPECT_NE(refusal("0123456789abcdef\xc3\xa9").find("control or non-ASCII"), std::string::npos);
}

TEST(AdminToken, MissingFileNamesThePath) {
  auto token = read_admin_token("/nonexistent/admin.token");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().message.rfind("/nonexistent/admin.token: cannot read the admin token", 0),
            0u);
}

}  // namespace
}  // namespace tg
