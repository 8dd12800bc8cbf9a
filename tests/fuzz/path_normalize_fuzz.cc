// Fuzzes normalize_target, the function that decides which path the policy judges and the
// service receives. The first byte picks the rules (merging, escaped slashes, backslashes);
// the rest is the request-target. Beyond "no crash, no UB", a normal form must be:
// - a fixed point: normalising it again, under the same rules, gives it back unchanged;
// - no longer than the input, starting with '/' (or exactly "*"), the query byte for byte;
// - free of dot segments ("/./", "/../", a final "/." or "/.."), of "//" when merging, and of
//   raw backslashes unless they are kept;
// - escapes only where needed: two upper-case hex digits, never an unreserved character,
//   never %00, and never an escaped '/' or '\' unless the rules keep them escaped.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/http/char_class.h"
#include "relay/http/path_normalize.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tg::http;

PathRules rules_from(std::uint8_t bits) {
  PathRules rules;
  rules.merge_slashes = (bits & 1) == 0;
  rules.escaped_slashes = static_cast<EscapedSlashes>(((bits >> 1) & 3) % 3);
  rules.backslash = static_cast<Backslash>(((bits >> 3) & 3) % 3);
  return rules;
}

bool is_upper_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void check_path(std::string_view path, const PathRules& rules) {
  FUZZ_CHECK(!path.empty() && path.front() == '/');
  FUZZ_CHECK(path.find("/./") == std::string_view::npos);
  FUZZ_CHECK(path.find("/../") == std::string_view::npos);
  FUZZ_CHECK(!path.ends_with("/.") && !path.ends_with("/.."));
  if (rules.merge_slashes) FUZZ_CHECK(path.find("//") == std::string_view::npos);
  if (rules.backslash != Backslash::kKeep) FUZZ_CHECK(path.find('\\') == std::string_view::npos);
  for (std::size_t i = 0; i < path.size(); ++i) {
    FUZZ_CHECK(tg::http::detail::has_class(path[i], tg::http::detail::kTarget) || path[i] == '\\');
    FUZZ_CHECK(path[i] != '?');
    if (path[i] != '%') continue;
    FUZZ_CHECK(i + 2 < path.size() && is_upper_hex(path[i + 1]) && is_upper_hex(path[i + 2]));
    const auto byte = static_cast<unsigned char>(tg::http::detail::hex_value(path[i + 1]) * 16 +
                                                 tg::http::detail::hex_value(path[i + 2]));
    FUZZ_CHECK(byte != 0 && !is_unreserved(byte));
    if (byte == '/' || byte == '\\') FUZZ_CHECK(rules.escaped_slashes == EscapedSlashes::kKeep);
    i += 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const PathRules rules = rules_from(data[0]);
  const std::string_view target = tg::fuzz::as_text(data + 1, size - 1);

  std::string normal;
  const PathRefusal refusal = normalize_target(target, rules, normal);
  FUZZ_CHECK(refusal != PathRefusal::kCount);
  FUZZ_CHECK(to_string(refusal) != "?");
  if (refusal != PathRefusal::kNone) return 0;

  FUZZ_CHECK(normal.size() <= target.size());
  if (target == "*") {
    FUZZ_CHECK(normal == "*");
    return 0;
  }
  const std::size_t query = target.find('?');
  const std::size_t normal_query = normal.find('?');
  FUZZ_CHECK((query == std::string_view::npos) == (normal_query == std::string::npos));
  if (query != std::string_view::npos) {
    FUZZ_CHECK(std::string_view(normal).substr(normal_query) == target.substr(query));
  }
  check_path(std::string_view(normal).substr(0, normal_query), rules);

  std::string again;
  FUZZ_CHECK(normalize_target(normal, rules, again) == PathRefusal::kNone);
  FUZZ_CHECK(again == normal);
  return 0;
}
