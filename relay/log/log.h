/// Structured logs: one JSON object per line, on standard output or the configured file.
///
/// Every line carries its level ("level":"info"), derived from its event name (level_of):
/// refusals and failures are warnings, a worker that cannot run is an error, the rest is
/// information. Lines below the configured level are never written.
///
/// Each worker builds its lines in its own buffer and writes the buffer once per loop
/// iteration, so a busy worker pays one write(2) for many lines and workers never contend.
/// Lines from one worker are never interleaved with another's mid-line, even on a pipe: a
/// log line is at most 4 KiB (PIPE_BUF; longer ones have their longest strings cut), and a
/// flush writes whole lines in pieces of at most that size (line_limit.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tg::log {

enum class Level : std::uint8_t { kDebug, kInfo, kWarn, kError };

std::string_view to_string(Level level);
/// "debug", "info", "warn" or "error".
std::optional<Level> parse_level(std::string_view text);
/// The level of an event, by name.
Level level_of(std::string_view event);

/// Where lines go and which are kept, for the whole process. Set before any worker starts
/// (the workers only read it); the descriptor number stays fixed for the process's life, so
/// a log file is reopened by dup2 onto it (SIGHUP, for logrotate).
void configure(int fd, Level minimum);
int output_fd();
/// Whether lines of `level` are written (check before building a costly line).
bool enabled(Level level);

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
    if (!dropped_) JsonObject::add(key, std::forward<T>(value));
    return *this;
  }
  /// Adds `key` only when `value` is not empty (optional facts such as a client certificate).
  JsonLine& add_present(std::string_view key, std::string_view value) {
    if (!dropped_ && !value.empty()) JsonObject::add(key, value);
    return *this;
  }
  /// The finished line, newline included; "" when its level is not written. A line over
  /// kMaxLineBytes has its longest strings cut and says "truncated":true (not the audit's).
  std::string finish();

 private:
  bool dropped_ = false;
  bool limited_ = true;
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
  /// kOutput: the process's log output (output_fd()).
  static constexpr int kOutput = -2;
  explicit Buffer(int fd = kOutput) : fd_(fd) {}
  void set_fd(int fd) { fd_ = fd; }
  /// A line below the configured level arrives empty (JsonLine::finish) and is dropped.
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
