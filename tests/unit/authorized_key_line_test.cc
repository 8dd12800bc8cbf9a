// parse_authorized_key_line: options skipped by OpenSSH's rules, restrictions refused.
#include "ssh/authorized_key_line.h"

#include <gtest/gtest.h>

namespace tg::ssh {
namespace {

bool key_type(std::string_view word) {
  return word == "ssh-ed25519" || word == "ssh-rsa" || word == "ecdsa-sha2-nistp256";
}

KeyLine parse(std::string_view line) {
  return parse_authorized_key_line(line, &key_type);
}

TEST(AuthorizedKeyLine, ReadsAPlainLine) {
  const KeyLine line = parse("ssh-ed25519 AAAAC3Nza alice@laptop");
  ASSERT_EQ(line.kind, KeyLine::Kind::kKey);
  EXPECT_EQ(line.type, "ssh-ed25519");
  EXPECT_EQ(line.base64, "AAAAC3Nza");
}

TEST(AuthorizedKeyLine, SkipsBlankLinesAndComments) {
  EXPECT_EQ(parse("").kind, KeyLine::Kind::kBlank);
  EXPECT_EQ(parse("   \t\r").kind, KeyLine::Kind::kBlank);
  EXPECT_EQ(parse("  # ssh-ed25519 AAAA").kind, KeyLine::Kind::kBlank);
}

TEST(AuthorizedKeyLine, AcceptsOptionsTheRelaySatisfies) {
  const KeyLine line = parse("no-pty,no-agent-forwarding,No-X11-Forwarding ssh-rsa AAAAB3 c");
  ASSERT_EQ(line.kind, KeyLine::Kind::kKey) << line.error;
  EXPECT_EQ(line.type, "ssh-rsa");
  EXPECT_EQ(line.base64, "AAAAB3");
}

TEST(AuthorizedKeyLine, NeverTakesAKeyFromInsideAQuotedOption) {
  // The ed25519 key inside the quotes is not this line's key: the option is a restriction
  // the relay cannot honour, so the line is refused, not read as the quoted key.
  const KeyLine line = parse(R"(environment="X= ssh-ed25519 AAAAinside" ssh-rsa AAAAreal)");
  EXPECT_EQ(line.kind, KeyLine::Kind::kError);
  EXPECT_NE(line.error.find("\"environment\""), std::string::npos) << line.error;
}

TEST(AuthorizedKeyLine, RefusesRestrictionsItCannotHonour) {
  for (const char* text :
       {R"(from="10.0.0.0/8" ssh-ed25519 AAAA)", R"(command="/bin/false" ssh-ed25519 AAAA)",
        R"(permitlisten="localhost:8080" ssh-ed25519 AAAA)", "restrict ssh-ed25519 AAAA",
        "no-pty,no-port-forwarding ssh-ed25519 AAAA",
        R"(expiry-time="20260101" ssh-ed25519 AAAA)"}) {
    const KeyLine line = parse(text);
    EXPECT_EQ(line.kind, KeyLine::Kind::kError) << text;
    EXPECT_NE(line.error.find("cannot honour"), std::string::npos) << line.error;
  }
}

TEST(AuthorizedKeyLine, ReportsBrokenLines) {
  EXPECT_EQ(parse("ssh-ed25519").error, "no key type and key found");
  EXPECT_EQ(parse("AAAAC3Nza ssh-ed25519").kind, KeyLine::Kind::kError);
  EXPECT_EQ(parse(R"(from="10.0.0.0/8 ssh-ed25519 AAAA)").error,
            "an option's quoted string is not closed");
  EXPECT_EQ(parse(R"(no-pty,from="a\"b c" ssh-ed25519 AAAA)").kind, KeyLine::Kind::kError);
}

}  // namespace
}  // namespace tg::ssh
