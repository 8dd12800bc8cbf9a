#include "relay/log/log.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "relay/log/line_limit.h"

namespace tg::log {
namespace {

// Written once by configure() before the workers start, read-only afterwards.
int g_output_fd = STDOUT_FILENO;
Level g_minimum = Level::kInfo;

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // nowhere to write: dropping is better than blocking the loop
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void append_timestamp(std::string& out) {
  // Every line carries one: gmtime_r and snprintf once a second per thread, the microseconds
  // by hand.
  thread_local std::int64_t cached_second = -1;
  thread_local char cached_prefix[32];  // "YYYY-MM-DDTHH:MM:SS."
  thread_local std::size_t cached_size = 0;
  const auto now = std::chrono::system_clock::now();
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::int64_t second = micros / 1'000'000;
  if (second != cached_second) {
    const auto seconds = static_cast<std::time_t>(second);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    const int n = std::snprintf(cached_prefix, sizeof cached_prefix,
                                "%04d-%02d-%02dT%02d:%02d:%02d.", utc.tm_year + 1900,
                                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
    cached_size = n > 0 ? static_cast<std::size_t>(n) : 0;
    cached_second = second;
  }
  char fraction[8];
  auto rest = static_cast<std::uint32_t>(micros % 1'000'000);
  for (int digit = 5; digit >= 0; --digit) {
    fraction[digit] = static_cast<char>('0' + rest % 10);
    rest /= 10;
  }
  fraction[6] = 'Z';
  out.append(cached_prefix, cached_size);
  out.append(fraction, 7);
}

template <typename Number>
void append_number(std::string& out, Number value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, ec == std::errc() ? static_cast<std::size_t>(end - digits) : 0);
}

}  // namespace

void append_escaped(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; };
  std::size_t i = 0;
  while (i < value.size()) {
    // Names, paths and ids are plain ASCII: copy each plain run in one append.
    std::size_t end = i;
    while (end < value.size() && plain(static_cast<unsigned char>(value[end]))) ++end;
    out.append(value.data() + i, end - i);
    if (end == value.size()) break;
    i = end;
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      // Keep valid UTF-8 sequences, replace anything else with U+FFFD: overlong forms (C0,
      // C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF) and code points past U+10FFFF (F4
      // 90-BF, F5-FF) are invalid too, and strict parsers refuse the whole line for them.
      const std::size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                              : c >= 0xe0 && c <= 0xef ? 3
                              : c >= 0xf0 && c <= 0xf4 ? 4
                                                       : 0;
      bool valid = len > 0 && i + len <= value.size();
      for (std::size_t k = 1; valid && k < len; ++k) {
        valid = (static_cast<unsigned char>(value[i + k]) >> 6) == 2;
      }
      if (valid && len >= 3) {
        const auto second = static_cast<unsigned char>(value[i + 1]);
        valid = !(c == 0xe0 && second < 0xa0) && !(c == 0xed && second > 0x9f) &&
                !(c == 0xf0 && second < 0x90) && !(c == 0xf4 && second > 0x8f);
      }
      if (valid) {
        out.append(value.substr(i, len));
        i += len - 1;
      } else {
        out.append("\\ufffd");
      }
    }
    ++i;
  }
}

JsonLine::JsonLine(std::string_view event) {
  const Level level = level_of(event);
  // The audit trail is never filtered, and never cut (it is a file: line_limit.h).
  dropped_ = !enabled(level) && event != "audit";
  limited_ = event != "audit";
  if (dropped_) return;
  text_.reserve(256);
  text_.append("\"ts\":\"");
  append_timestamp(text_);
  text_.append("\",\"event\":\"");
  append_escaped(text_, event);
  text_.append("\",\"level\":\"").append(to_string(level)).push_back('"');
}

std::string_view to_string(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::optional<Level> parse_level(std::string_view text) {
  for (Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == to_string(level)) return level;
  }
  return std::nullopt;
}

Level level_of(std::string_view event) {
  if (event == "worker_failed") return Level::kError;
  for (std::string_view word : {"refused", "failed", "revoked", "expired", "stopping_now"}) {
    if (event.find(word) != std::string_view::npos) return Level::kWarn;
  }
  return Level::kInfo;
}

void configure(int fd, Level minimum) {
  g_output_fd = fd;
  g_minimum = minimum;
}

int output_fd() {
  return g_output_fd;
}

bool enabled(Level level) {
  return level >= g_minimum;
}

void JsonObject::key(std::string_view name) {
  if (text_.size() > 1) text_.push_back(',');
  text_.push_back('"');
  append_escaped(text_, name);
  text_.append("\":");
}

JsonObject& JsonObject::add(std::string_view name, std::string_view value) {
  key(name);
  text_.push_back('"');
  append_escaped(text_, value);
  text_.push_back('"');
  return *this;
}

JsonObject& JsonObject::add(std::string_view name, std::int64_t value) {
  key(name);
  append_number(text_, value);
  return *this;
}

JsonObject& JsonObject::add(std::string_view name, std::uint64_t value) {
  key(name);
  append_number(text_, value);
  return *this;
}

JsonObject& JsonObject::add(std::string_view name, bool value) {
  key(name);
  text_.append(value ? "true" : "false");
  return *this;
}

JsonObject& JsonObject::add_raw(std::string_view name, std::string_view json) {
  key(name);
  text_.append(json);
  return *this;
}

std::string JsonObject::finish() {
  text_.push_back('}');
  return std::move(text_);
}

std::string JsonLine::finish() {
  if (dropped_) return {};
  std::string line = JsonObject::finish();
  line.push_back('\n');
  return limited_ ? shorten_line(std::move(line)) : line;
}

void write_now(std::string_view line) {
  for (std::string_view rest = line; !rest.empty();) {
    const std::string_view piece = next_whole_lines(rest);
    if (!write_all(g_output_fd, piece)) return;
    rest.remove_prefix(piece.size());
  }
}

bool Buffer::flush() {
  if (pending_.empty()) return true;
  const int fd = fd_ == kOutput ? g_output_fd : fd_;
  // Whole lines, at most PIPE_BUF bytes a write: each write is atomic on a pipe, so another
  // worker's lines never land inside ours (line_limit.h).
  bool written = true;
  for (std::string_view rest = pending_; written && !rest.empty();) {
    const std::string_view piece = next_whole_lines(rest);
    written = write_all(fd, piece);
    rest.remove_prefix(piece.size());
  }
  pending_.clear();
  return written;
}

}  // namespace tg::log
