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
#include <utility>

namespace tg::log {

/// Builds one JSON object: `JsonObject o; o.add("name", n).add("requests", 3); o.finish();`
class JsonObject {
 public:
  JsonObject() { text_.push_back('{'); }
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, std::int64_t value);
  JsonObject& add(std::string_view key, std::uint64_t value);
  JsonObject& add(std::string_view key, int value) {
    return add(key, static_cast<std::int64_t>(value));
  }
  JsonObject& add(std::string_view key, unsigned value) {
    return add(key, static_cast<std::uint64_t>(value));
  }
  JsonObject& add(std::string_view key, bool value);
  /// Adds already-encoded JSON (an object or array) as the value of `key`.
  JsonObject& add_raw(std::string_view key, std::string_view json);
  /// The finished object.
  std::string finish();

 protected:
  void key(std::string_view name);
  std::string text_;
};

/// Builds one log line, which starts with the time and the event name:
/// `JsonLine line("request"); line.add("name", n).add("status", 200); line.finish();`
class JsonLine : public JsonObject {
 public:
  explicit JsonLine(std::string_view event);
  template <typename T>
  JsonLine& add(std::string_view key, T&& value) {
    JsonObject::add(key, std::forward<T>(value));
    return *this;
  }
  /// Adds `key` only when `value` is not empty (optional facts such as a client certificate).
  JsonLine& add_present(std::string_view key, std::string_view value) {
    if (!value.empty()) JsonObject::add(key, value);
    return *this;
  }
  /// The finished line, newline included.
  std::string finish();
};

/// Appends `value` to `out` as a JSON string body (no quotes), escaping what JSON requires
/// and replacing invalid UTF-8 bytes, so hostile input cannot break the log's framing.
void append_escaped(std::string& out, std::string_view value);

/// Writes a finished line now (start-up, shutdown, the main thread).
void write_now(std::string_view line);

/// A worker's buffer of lines, flushed by the worker's loop with one write per round
/// (standard output by default; the audit trail uses its own file).
class Buffer {
 public:
  explicit Buffer(int fd = 1) : fd_(fd) {}
  void set_fd(int fd) { fd_ = fd; }
  void push(std::string_view line) { pending_.append(line); }
  /// False when the lines could not all be written (they are dropped, not retried: a full
  /// disk must not grow the relay's memory).
  bool flush();
  bool empty() const { return pending_.empty(); }

 private:
  int fd_;
  std::string pending_;
};

}  // namespace tg::log
