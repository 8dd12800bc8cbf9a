/// Glob patterns: tunnel-name scopes (`names = ["alice-*"]`) and `http.path.matches("/api/*")`.
///
/// `*` matches any run of characters (none too, and `/` too: these are not path globs),
/// `?` one character, `[abc]` / `[a-z]` one character of a set and `[!a-z]` (or `[^a-z]`) one
/// not in it; `\` makes the next character literal. Matching is byte-wise and case-sensitive.
/// A pattern is compiled once, at load; matching never allocates. Patterns of the common
/// shapes (exact, `p*`, `*s`, `*m*`) match by a single compare; others run the classic
/// backtrack-to-last-star scan, O(text × pattern) at worst.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::policy {

class Glob {
 public:
  enum class Shape : std::uint8_t {
    kExact,     // no wildcard: literal() must equal the text
    kPrefix,    // "literal*"
    kSuffix,    // "*literal"
    kContains,  // "*literal*"
    kAnything,  // "*"
    kGeneral,   // anything else
  };

  /// Errors name the problem: a lone trailing `\`, an unclosed `[`, a reversed range.
  static Result<Glob> compile(std::string_view pattern);

  bool matches(std::string_view text) const;

  Shape shape() const { return shape_; }
  /// The pattern's literal part for every shape but kGeneral (escapes resolved).
  std::string_view literal() const { return literal_; }
  const std::string& pattern() const { return pattern_; }

 private:
  struct Step {
    enum class Kind : std::uint8_t { kChar, kAnyChar, kSet, kStar };
    Kind kind;
    unsigned char ch;   // kChar
    std::uint16_t set;  // kSet: index into sets_
  };

  bool matches_steps(std::string_view text) const;
  static bool step_matches(const Step& step, const std::bitset<256>* sets, unsigned char c);

  std::string pattern_;
  std::string literal_;
  Shape shape_ = Shape::kExact;
  std::vector<Step> steps_;
  std::vector<std::bitset<256>> sets_;
};

}  // namespace tg::policy
