/// Finds the send timestamps in the load generator's own server-sent event streams.
///
/// The built-in `sse` backend writes each event as `data: <ns>\n\n`, where <ns> is its
/// CLOCK_MONOTONIC reading just before the write; the visitor reads the same clock when the
/// bytes arrive, so the difference is the time the event spent in transit (relay, TLS, SSH,
/// both kernels' socket paths), which is what an agent waiting on a streaming tool call feels.
/// Both ends run in one process on one machine, so the clocks are the same clock.
///
/// The scanner works on the raw response body, chunked framing included: chunk-size lines
/// never start with "data:", and the relay forwards chunked bodies without re-chunking. A
/// line split across reads is carried over (up to kMaxLine bytes; longer lines are not ours
/// and are skipped). Header-only and pure, for tests/unit/load_sse_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tg::load {

class SseTimestampScanner {
 public:
  static constexpr std::size_t kMaxLine = 64;

  /// Calls `on_event(sent_ns)` for each complete `data: <digits>` line in `bytes`.
  template <typename OnEvent>
  void feed(std::string_view bytes, OnEvent&& on_event) {
    while (!bytes.empty()) {
      const std::size_t newline = bytes.find('\n');
      const std::string_view piece = bytes.substr(0, newline);
      if (!skipping_) {
        if (line_.size() + piece.size() > kMaxLine) {
          skipping_ = true;
          line_.clear();
        } else {
          line_.append(piece);
        }
      }
      if (newline == std::string_view::npos) return;  // the line continues in the next read
      if (!skipping_) {
        std::uint64_t sent_ns = 0;
        if (parse_data_line(line_, sent_ns)) on_event(sent_ns);
      }
      line_.clear();
      skipping_ = false;
      bytes.remove_prefix(newline + 1);
    }
  }

  void reset() {
    line_.clear();
    skipping_ = false;
  }

  /// True when `line` is `data:` followed by optional spaces and 1 to 19 digits (an optional
  /// trailing CR is allowed), with the number in `value`.
  static bool parse_data_line(std::string_view line, std::uint64_t& value) {
    constexpr std::string_view kPrefix = "data:";
    if (line.substr(0, kPrefix.size()) != kPrefix) return false;
    line.remove_prefix(kPrefix.size());
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.size() > 19) return false;
    std::uint64_t number = 0;
    for (char c : line) {
      if (c < '0' || c > '9') return false;
      number = number * 10 + static_cast<std::uint64_t>(c - '0');
    }
    value = number;
    return true;
  }

 private:
  std::string line_;
  bool skipping_ = false;
};

}  // namespace tg::load
