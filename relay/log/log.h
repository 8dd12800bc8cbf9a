/// Structured logs: one JSON object per line on standard output.
///
/// Each worker builds its lines in its own buffer and writes the buffer once per loop
/// iteration, so a busy worker pays one write(2) for many lines and workers never contend.
/// Lines from one worker are never interleaved with another's mid-line: each flush writes
/// whole lines with one call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::log {

/// Builds one line: `JsonLine line("request"); line.add("name", n).add("status", 200);`
class JsonLine {
 public:
  explicit JsonLine(std::string_view event);
  JsonLine& add(std::string_view key, std::string_view value);
  JsonLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonLine& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  JsonLine& add(std::string_view key, std::int64_t value);
  JsonLine& add(std::string_view key, std::uint64_t value);
  JsonLine& add(std::string_view key, int value) {
    return add(key, static_cast<std::int64_t>(value));
  }
  JsonLine& add(std::string_view key, unsigned value) {
    return add(key, static_cast<std::uint64_t>(value));
  }
  JsonLine& add(std::string_view key, bool value);
  /// The finished line, newline included.
  std::string finish();

 private:
  void key(std::string_view name);
  std::string text_;
};

/// Appends `value` to `out` as a JSON string body (no quotes), escaping what JSON requires
/// and replacing invalid UTF-8 bytes, so hostile input cannot break the log's framing.
void append_escaped(std::string& out, std::string_view value);

/// Writes a finished line now (start-up, shutdown, the main thread).
void write_now(std::string_view line);

/// A worker's buffer of lines, flushed by the worker's loop.
class Buffer {
 public:
  void push(std::string_view line) { pending_.append(line); }
  void flush();
  bool empty() const { return pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace tg::log
