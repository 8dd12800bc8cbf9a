// shorten_line: finds the JSON strings of a finished line and cuts the longest of them until
// the line fits; next_whole_lines: the pieces a flush writes.
#include "relay/log/line_limit.h"

#include <algorithm>
#include <vector>

namespace tg::log {
namespace {

constexpr std::string_view kEllipsis = "\xe2\x80\xa6";  // "…" in UTF-8
constexpr std::string_view kTruncated = ",\"truncated\":true";
// Strings are never cut shorter than this: the start of a path says more than nothing.
constexpr std::size_t kKeepBytes = 64;

struct Span {
  std::size_t begin = 0;  // the first byte after the opening quote
  std::size_t size = 0;   // bytes up to the closing quote (escapes as written)
  std::size_t keep = 0;   // bytes kept after cutting; == size when not cut
};

// The content of every JSON string in `line`, as written (escapes included).
std::vector<Span> strings_of(std::string_view line) {
  std::vector<Span> spans;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '"') continue;
    const std::size_t begin = ++i;
    while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
    if (i >= line.size()) break;  // unterminated: not a line this writer made
    spans.push_back({begin, i - begin, i - begin});
  }
  return spans;
}

// The largest length <= `limit` at which `text` (escaped JSON string content) can be cut
// without splitting an escape or a UTF-8 sequence.
std::size_t cut_point(std::string_view text, std::size_t limit) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto c = static_cast<unsigned char>(text[at]);
    std::size_t unit = 1;
    if (c == '\\') {
      unit = at + 1 < text.size() && text[at + 1] == 'u' ? 6 : 2;
    } else if (c >= 0xc0) {
      unit = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    }
    if (at + unit > limit) break;
    at += unit;
  }
  return at;
}

}  // namespace

std::string shorten_line(std::string line, std::size_t max) {
  if (line.size() <= max || line.size() < 2 || !line.ends_with("}\n")) return line;
  std::vector<Span> spans = strings_of(line);
  // Cut the longest string first, each only as far as needed, until the line fits.
  std::size_t size = line.size() + kTruncated.size();
  while (size > max) {
    auto longest = std::max_element(spans.begin(), spans.end(),
                                    [](const Span& a, const Span& b) { return a.keep < b.keep; });
    if (longest == spans.end() || longest->keep <= kKeepBytes) return line;  // cannot fit
    const bool first_cut = longest->keep == longest->size;
    const std::size_t excess = size - max + (first_cut ? kEllipsis.size() : 0);
    const std::size_t target =
        longest->keep > excess + kKeepBytes ? longest->keep - excess : kKeepBytes;
    const std::size_t keep =
        cut_point(std::string_view(line).substr(longest->begin, longest->size), target);
    size -= longest->keep - keep;
    if (first_cut) size += kEllipsis.size();
    longest->keep = keep;
  }
  std::string out;
  out.reserve(size);
  std::size_t from = 0;
  for (const Span& span : spans) {
    if (span.keep == span.size) continue;
    out.append(line, from, span.begin + span.keep - from).append(kEllipsis);
    from = span.begin + span.size;
  }
  out.append(line, from, line.size() - 2 - from);  // up to the closing brace
  out.append(kTruncated).append("}\n");
  return out;
}

std::string_view next_whole_lines(std::string_view text, std::size_t max) {
  std::size_t end = 0;
  while (end < text.size()) {
    const auto newline = text.find('\n', end);
    const std::size_t line_end = newline == std::string_view::npos ? text.size() : newline + 1;
    if (line_end > max && end > 0) break;
    end = line_end;
    if (end >= max) break;
  }
  return text.substr(0, end);
}

}  // namespace tg::log
