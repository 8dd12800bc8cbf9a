#include "relay/limits/startup_limits.h"

#include <charconv>
#include <string>

namespace tg {
namespace {

constexpr std::uint32_t kMaxStartups = 1'000'000;

// Digits only, no sign or spaces: from_chars alone would stop early on "10x".
bool parse_number(std::string_view text, std::uint32_t& out) {
  if (text.empty() || text.size() > 7) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool StartupLimits::drops(std::uint32_t unauthenticated, std::uint32_t draw) const {
  if (unauthenticated < start) return false;
  if (unauthenticated >= full) return true;
  // The drop probability, in percent, as OpenSSH's sshd computes it: `rate` at `start`,
  // rising linearly to 100 at `full`.
  const std::uint64_t above = unauthenticated - start;
  const std::uint64_t percent = rate + (100 - rate) * above / (full - start);
  return draw < percent;
}

Result<StartupLimits> parse_startup_limits(std::string_view text) {
  const std::string shown(text.substr(0, 40));
  const auto bad = [&](const std::string& why) {
    return make_error("max_startups \"" + shown + "\": " + why);
  };
  StartupLimits limits;
  const auto first = text.find(':');
  if (first == std::string_view::npos) {
    if (!parse_number(text, limits.start)) return bad("expected \"start:rate:full\" or a number");
    limits.rate = 100;
    limits.full = limits.start;
  } else {
    const auto second = text.find(':', first + 1);
    if (second == std::string_view::npos || !parse_number(text.substr(0, first), limits.start) ||
        !parse_number(text.substr(first + 1, second - first - 1), limits.rate) ||
        !parse_number(text.substr(second + 1), limits.full)) {
      return bad("expected \"start:rate:full\", three whole numbers (\"64:30:256\")");
    }
  }
  if (limits.start == 0) return bad("start must be at least 1");
  if (limits.rate > 100) return bad("rate is a percentage, at most 100");
  if (limits.full < limits.start) return bad("full must be at least start");
  if (limits.full > kMaxStartups) return bad("full must be at most 1000000");
  return limits;
}

}  // namespace tg
