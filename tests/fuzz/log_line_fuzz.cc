// Fuzzes log lines built from strings a peer chooses (a path, a name, a reason): JsonLine's
// escaping and shorten_line's cuts (relay/log/line_limit.h). The input is split into three
// values by its first two bytes. Checked beyond memory safety:
// - every log line is one JSON object on one line, at most kMaxLineBytes long;
// - it says "truncated":true exactly when the uncut line (the audit's, never cut) is longer;
// - each cut value is a prefix of the uncut value, followed by "…";
// - next_whole_lines splits a buffer of such lines into whole lines within the limit.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/log/line_limit.h"
#include "relay/log/log.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr const char* kKeys[] = {"path", "name", "reason"};

std::string line_of(std::string_view event, const std::string_view (&values)[3]) {
  tg::log::JsonLine line(event);
  for (int i = 0; i < 3; ++i) line.add(kKeys[i], values[i]);
  line.add("status", 200);
  return line.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::string_view rest = tg::fuzz::as_text(data + 2, size - 2);
  const std::size_t first = rest.size() * data[0] / 256;
  const std::size_t second = (rest.size() - first) * data[1] / 256;
  const std::string_view values[3] = {rest.substr(0, first), rest.substr(first, second),
                                      rest.substr(first + second)};
  const std::string line = line_of("request", values);
  const std::string uncut = line_of("audit", values);

  FUZZ_CHECK(line.size() <= tg::log::kMaxLineBytes);
  FUZZ_CHECK(line.size() >= 2 && line.ends_with("}\n"));
  FUZZ_CHECK(line.find('\n') == line.size() - 1);
  simdjson::dom::parser parser;
  simdjson::dom::parser uncut_parser;
  auto object = parser.parse(line.substr(0, line.size() - 1)).get_object();
  auto full = uncut_parser.parse(uncut.substr(0, uncut.size() - 1)).get_object();
  FUZZ_CHECK(object.error() == simdjson::SUCCESS && full.error() == simdjson::SUCCESS);
  const bool cut =
      uncut.size() - std::string_view("audit").size() + std::string_view("request").size() >
      tg::log::kMaxLineBytes;
  FUZZ_CHECK(object["truncated"].error() == (cut ? simdjson::SUCCESS : simdjson::NO_SUCH_FIELD));
  for (const char* key : kKeys) {
    std::string_view shown, whole;
    FUZZ_CHECK(object[key].get(shown) == simdjson::SUCCESS);
    FUZZ_CHECK(full[key].get(whole) == simdjson::SUCCESS);
    if (shown != whole) {
      FUZZ_CHECK(cut && shown.ends_with("\xe2\x80\xa6"));
      FUZZ_CHECK(whole.starts_with(shown.substr(0, shown.size() - 3)));
    }
  }

  const std::string buffer = line + line + line;
  std::size_t pieces = 0;
  for (std::string_view left = buffer; !left.empty(); ++pieces) {
    const std::string_view piece = tg::log::next_whole_lines(left);
    FUZZ_CHECK(!piece.empty() && piece.size() <= tg::log::kMaxLineBytes && piece.ends_with('\n'));
    left.remove_prefix(piece.size());
  }
  FUZZ_CHECK(pieces >= 1 && pieces <= 3);
  return 0;
}
