/// Log lines short enough to be written atomically.
///
/// The log is often a pipe (a container runtime, systemd, a shipper reading standard output).
/// A write(2) of at most PIPE_BUF bytes to a pipe is atomic; a longer one may be split, and
/// the pieces of two workers' writes then interleave mid-line. So every log line is kept
/// within kMaxLineBytes (shorten_line) and each flush writes whole lines in pieces of at most
/// kMaxLineBytes (next_whole_lines): no write ever holds part of a line.
///
/// A line can only grow past the limit through the strings a peer chose (a path, a name); the
/// longest strings are cut (at a character boundary, ending in "…") and the line says
/// `"truncated":true`. The audit trail is exempt: it is a file, where appends are atomic, and
/// a decision's record is never cut.
#pragma once

#include <limits.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace tg::log {

inline constexpr std::size_t kMaxLineBytes = 4096;
static_assert(kMaxLineBytes <= PIPE_BUF, "one line must fit one atomic pipe write");

/// `line` (one JSON object and its newline) cut to at most `max` bytes by shortening its
/// longest strings; unchanged when it fits, or when no string is long enough to cut.
std::string shorten_line(std::string line, std::size_t max = kMaxLineBytes);

/// The longest prefix of `text` made of whole lines (each ending in '\n') and at most `max`
/// bytes long; a first line longer than `max` is returned alone, whole (with no newline in
/// `text`, all of it).
std::string_view next_whole_lines(std::string_view text, std::size_t max = kMaxLineBytes);

}  // namespace tg::log
