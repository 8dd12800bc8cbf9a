#include "relay/names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace tg {
namespace {

constexpr std::string_view kAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
constexpr std::string_view kLetters = "abcdefghijkmnpqrstuvwxyz";
constexpr std::string_view kKey = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

TEST(StableName, PinsTheAlgorithm) {
  // Computed independently (Python hmac + the same mapping). If this changes, every
  // publisher's URL changes with it.
  EXPECT_EQ(stable_name(kKey, kSecret), "x2r7ri8n8zi6");
  EXPECT_EQ(stable_name(kKey, ""), "yx33tf9yg7tg");
}

TEST(StableName, IsDeterministic) {
  EXPECT_EQ(stable_name(kKey, kSecret), stable_name(kKey, kSecret));
}

TEST(StableName, DiffersPerKeyAndPerSecret) {
  EXPECT_NE(stable_name(kKey, kSecret), stable_name("SHA256:another", kSecret));
  EXPECT_NE(stable_name(kKey, kSecret), stable_name(kKey, "another secret"));
}

TEST(StableName, UsesTheAlphabetAndStartsWithALetter) {
  std::set<char> seen;
  std::set<std::string> names;
  for (int i = 0; i < 2000; ++i) {
    std::string name = stable_name("SHA256:key" + std::to_string(i), kSecret);
    ASSERT_EQ(name.size(), 12u) << name;
    EXPECT_NE(kLetters.find(name[0]), std::string_view::npos) << name;
    for (char c : name) EXPECT_NE(kAlphabet.find(c), std::string_view::npos) << name;
    EXPECT_EQ(validate_name(name), std::nullopt);
    seen.insert(name.begin(), name.end());
    names.insert(name);
  }
  EXPECT_EQ(seen.size(), kAlphabet.size());  // every symbol turns up somewhere
  EXPECT_EQ(names.size(), 2000u);
}

TEST(StableName, NumbersVariants) {
  std::string name = stable_name(kKey, kSecret);
  EXPECT_EQ(stable_name(kKey, kSecret, 0), name);
  EXPECT_EQ(stable_name(kKey, kSecret, 1), name + "-2");
  EXPECT_EQ(stable_name(kKey, kSecret, 2), name + "-3");
  EXPECT_EQ(stable_name(kKey, kSecret, 4294967295u), name + "-4294967296");
  EXPECT_EQ(validate_name(stable_name(kKey, kSecret, 4294967295u)), std::nullopt);
}

TEST(ValidateName, AcceptsDnsLabels) {
  for (std::string_view name : {"a", "notes", "my-app", "0day", "a1-b2-c3", "xn--caf-dma"}) {
    EXPECT_EQ(validate_name(name), std::nullopt) << name;
  }
  EXPECT_EQ(validate_name(std::string(63, 'a')), std::nullopt);
}

TEST(ValidateName, RefusesWithTheRule) {
  EXPECT_EQ(validate_name("Bad_Name"),
            "\"Bad_Name\" is not a valid name: use 1 to 63 characters from a-z, 0-9 and '-', "
            "not starting or ending with '-'");
  for (std::string_view name : {"", "-a", "a-", "-", "Notes", "a.b", "a b", "a_b", "caf\xc3\xa9"}) {
    EXPECT_NE(validate_name(name), std::nullopt) << name;
  }
  EXPECT_NE(validate_name(std::string(64, 'a')), std::nullopt);
}

TEST(ValidateName, QuotesHostileNamesSafely) {
  std::string message = *validate_name("a\x1b[2J\x07z\n\xff");
  EXPECT_EQ(message.substr(0, message.find(" is not")), "\"a?[2J?z??\"");
  std::string flood(10000, 'X');
  message = *validate_name(flood);
  std::string quoted = message.substr(0, message.find(" is not"));
  EXPECT_EQ(quoted, "\"" + std::string(64, 'X') + "...\"");
}

TEST(NormalizeHost, LowerCasesAndDropsOneTrailingDot) {
  EXPECT_EQ(normalize_host("Notes.Example.TEST."), "notes.example.test");
  EXPECT_EQ(normalize_host("notes.example.test"), "notes.example.test");
  EXPECT_EQ(normalize_host("a.."), "a.");
  EXPECT_EQ(normalize_host(""), "");
  EXPECT_EQ(normalize_host("\xc3\x89"), "\xc3\x89");  // only ASCII is folded
}

TEST(NameUnderDomain, FindsTheName) {
  EXPECT_EQ(name_under_domain("notes.example.test", "example.test"), "notes");
  EXPECT_EQ(name_under_domain("notes.example.test:8443", "example.test"), "notes");
  EXPECT_EQ(name_under_domain("notes.EXAMPLE.test", "example.test"), "notes");
  EXPECT_EQ(name_under_domain("notes.example.test", "Example.Test"), "notes");
  EXPECT_EQ(name_under_domain("notes.example.test.", "example.test"), "notes");
  EXPECT_EQ(name_under_domain("notes.example.test.:443", "example.test"), "notes");
  EXPECT_EQ(name_under_domain("a.localhost", "localhost"), "a");
}

TEST(NameUnderDomain, RefusesEverythingElse) {
  for (std::string_view host : {"example.test", ".example.test", "a.b.example.test",
                                "notesexample.test", "notes.example.test.evil", "notes.example.tes",
                                "example.test:443", "[::1]:443", "", ":443", "notes.other.test"}) {
    EXPECT_EQ(name_under_domain(host, "example.test"), std::nullopt) << host;
  }
  EXPECT_EQ(name_under_domain("notes.example.test", ""), std::nullopt);
}

}  // namespace
}  // namespace tg
