// Glob compilation (steps, then the shape that lets most patterns match by one compare) and
// the general matcher.
#include "relay/policy/glob.h"

namespace tg::policy {
namespace {

std::string quoted(std::string_view pattern) {
  return "\"" + std::string(pattern) + "\"";
}

}  // namespace

Result<Glob> Glob::compile(std::string_view pattern) {
  Glob glob;
  glob.pattern_ = pattern;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(pattern[i]);
    if (c == '*') {
      // Runs of stars are one star.
      if (glob.steps_.empty() || glob.steps_.back().kind != Step::Kind::kStar) {
        glob.steps_.push_back({Step::Kind::kStar, 0, 0});
      }
    } else if (c == '?') {
      glob.steps_.push_back({Step::Kind::kAnyChar, 0, 0});
    } else if (c == '\\') {
      if (++i == pattern.size()) {
        return make_error("bad glob " + quoted(pattern) + ": it ends with a lone \\");
      }
      glob.steps_.push_back({Step::Kind::kChar, static_cast<unsigned char>(pattern[i]), 0});
    } else if (c == '[') {
      std::size_t j = i + 1;
      bool negate = j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^');
      if (negate) ++j;
      std::bitset<256> set;
      bool first = true;
      for (; j < pattern.size() && (pattern[j] != ']' || first); ++j, first = false) {
        unsigned char low = static_cast<unsigned char>(pattern[j]);
        if (low == '\\' && j + 1 < pattern.size()) low = static_cast<unsigned char>(pattern[++j]);
        unsigned char high = low;
        if (j + 2 < pattern.size() && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
          high = static_cast<unsigned char>(pattern[j + 2]);
          j += 2;
          if (high < low) {
            return make_error("bad glob " + quoted(pattern) + ": the range " +
                              std::string(1, static_cast<char>(low)) + "-" +
                              std::string(1, static_cast<char>(high)) + " runs backwards");
          }
        }
        for (unsigned v = low; v <= high; ++v) set.set(v);
      }
      if (j >= pattern.size()) {
        return make_error("bad glob " + quoted(pattern) + ": the [ at position " +
                          std::to_string(i + 1) + " is never closed with ]");
      }
      if (negate) set.flip();
      glob.sets_.push_back(set);
      glob.steps_.push_back(
          {Step::Kind::kSet, 0, static_cast<std::uint16_t>(glob.sets_.size() - 1)});
      i = j;
    } else {
      glob.steps_.push_back({Step::Kind::kChar, c, 0});
    }
  }

  // The shape: where the stars are, and whether everything else is literal.
  const auto& steps = glob.steps_;
  std::size_t stars = 0;
  bool literal_only = true;
  for (const Step& step : steps) {
    stars += step.kind == Step::Kind::kStar;
    literal_only =
        literal_only && (step.kind == Step::Kind::kChar || step.kind == Step::Kind::kStar);
  }
  bool leading = !steps.empty() && steps.front().kind == Step::Kind::kStar;
  bool trailing = !steps.empty() && steps.back().kind == Step::Kind::kStar;
  if (!literal_only || stars > 2 || (stars == 1 && !leading && !trailing) ||
      (stars == 2 && !(leading && trailing && steps.size() > 1))) {
    glob.shape_ = Shape::kGeneral;
    return glob;
  }
  for (const Step& step : steps) {
    if (step.kind == Step::Kind::kChar) glob.literal_.push_back(static_cast<char>(step.ch));
  }
  if (stars == 0) {
    glob.shape_ = Shape::kExact;
  } else if (steps.size() == 1) {
    glob.shape_ = Shape::kAnything;
  } else if (stars == 2) {
    glob.shape_ = Shape::kContains;
  } else {
    glob.shape_ = trailing ? Shape::kPrefix : Shape::kSuffix;
  }
  return glob;
}

bool Glob::matches(std::string_view text) const {
  switch (shape_) {
    case Shape::kExact:
      return text == literal_;
    case Shape::kPrefix:
      return text.starts_with(literal_);
    case Shape::kSuffix:
      return text.ends_with(literal_);
    case Shape::kContains:
      return text.find(literal_) != std::string_view::npos;
    case Shape::kAnything:
      return true;
    case Shape::kGeneral:
      return matches_steps(text);
  }
  return false;
}

bool Glob::step_matches(const Step& step, const std::bitset<256>* sets, unsigned char c) {
  switch (step.kind) {
    case Step::Kind::kChar:
      return step.ch == c;
    case Step::Kind::kAnyChar:
      return true;
    case Step::Kind::kSet:
      return sets[step.set].test(c);
    case Step::Kind::kStar:
      return false;
  }
  return false;
}

// Greedy scan that, on a mismatch, lets the last star swallow one more character. Correct for
// single-character steps: a later star can always absorb what an earlier one would have.
bool Glob::matches_steps(std::string_view text) const {
  std::size_t p = 0, s = 0;
  std::size_t star = steps_.size(), resume = 0;
  const std::bitset<256>* sets = sets_.data();
  while (s < text.size()) {
    if (p < steps_.size() && steps_[p].kind == Step::Kind::kStar) {
      star = p++;
      resume = s;
    } else if (p < steps_.size() &&
               step_matches(steps_[p], sets, static_cast<unsigned char>(text[s]))) {
      ++p;
      ++s;
    } else if (star != steps_.size()) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (p < steps_.size() && steps_[p].kind == Step::Kind::kStar) ++p;
  return p == steps_.size();
}

}  // namespace tg::policy
