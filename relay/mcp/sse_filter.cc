// SseListFilter: splits a text/event-stream into events as the HTML standard's parser does
// and hands each event's data to filter_list_response (list_filter.h).
//
// The scanner remembers only how far it has split the held bytes into lines and where the
// current line starts, so bytes arriving in any pieces give the same events and the same
// output. A CR at the end of what has arrived is left unsplit until the next byte says
// whether it is CR or CRLF. Every event is measured whole against the cap, so whether it fails
// does not depend on where reads cut it.
#include <cstring>
#include <optional>

#include "relay/mcp/json_walk.h"
#include "relay/mcp/list_filter.h"

namespace tg::mcp {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// The first CR or LF at or after `from`, or npos. Two memchr passes: a generic
// find_first_of tests every byte against the set one call at a time, ten times slower on the
// long data lines of a tools list.
std::size_t find_line_end(std::string_view text, std::size_t from) {
  if (from >= text.size()) return std::string_view::npos;
  const char* begin = text.data() + from;
  std::size_t length = text.size() - from;
  const void* lf = std::memchr(begin, '\n', length);
  if (lf != nullptr) length = static_cast<std::size_t>(static_cast<const char*>(lf) - begin);
  const void* cr = std::memchr(begin, '\r', length);
  const void* end = cr != nullptr ? cr : lf;
  return end == nullptr ? std::string_view::npos
                        : static_cast<std::size_t>(static_cast<const char*>(end) - text.data());
}

struct Line {
  std::string_view content;  // without its line end
  std::string_view whole;    // with it
};

// Calls on_line(Line) for each line of `event`; a last line without an end counts too.
template <typename OnLine>
void for_each_line(std::string_view event, OnLine&& on_line) {
  std::size_t start = 0;
  while (start < event.size()) {
    std::size_t end = find_line_end(event, start);
    std::size_t next;
    if (end == std::string_view::npos) {
      end = event.size();
      next = end;
    } else {
      next = end + (event[end] == '\r' && end + 1 < event.size() && event[end + 1] == '\n' ? 2 : 1);
    }
    on_line(Line{event.substr(start, end - start), event.substr(start, next - start)});
    start = next;
  }
}

struct Field {
  std::string_view name;
  std::string_view value;
  std::size_t prefix = 0;  // bytes before the value ("data: " is 6)
};

Field parse_field(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return {line, {}, line.size()};
  std::size_t value = colon + 1;
  if (value < line.size() && line[value] == ' ') ++value;
  return {line.substr(0, colon), line.substr(value), value};
}

bool is_blank_json(std::string_view data) {
  return detail::trim_json_space(data).empty();
}

// Writes `event` with its data replaced by `json`, or without data: the other lines in place
// (an `id:` still counts), and where the first data line was, one data line per line of `json`
// with that line's prefix and line end. Dropping lines must not join a lone CR to a following
// LF into one line end, which would move the event's end: an empty LF line after a lone CR is
// written as an empty CR line.
void write_event(std::string_view event, std::optional<std::string_view> json, std::string& out) {
  bool after_cr = false;
  auto emit = [&](std::string_view head, std::string_view text, std::string_view line_end) {
    if (after_cr && head.empty() && text.empty() && line_end == "\n") line_end = "\r";
    out += head;
    out += text;
    out += line_end;
    after_cr = line_end == "\r";
  };
  bool first_data = true;
  for_each_line(event, [&](const Line& line) {
    const std::string_view line_end = line.whole.substr(line.content.size());
    const bool comment = !line.content.empty() && line.content.front() == ':';
    const Field field = comment ? Field{} : parse_field(line.content);
    if (comment || line.content.empty() || field.name != "data") {
      emit({}, line.content, line_end);
      return;
    }
    if (!first_data || !json) return;
    first_data = false;
    const bool has_colon = line.content.find(':') != std::string_view::npos;
    const std::string_view prefix =
        has_colon ? line.content.substr(0, field.prefix) : std::string_view("data: ");
    std::string_view rest = *json;
    for (;;) {
      const std::size_t newline = rest.find('\n');
      emit(prefix, rest.substr(0, newline), line_end.empty() ? std::string_view("\n") : line_end);
      if (newline == std::string_view::npos) break;
      rest.remove_prefix(newline + 1);
    }
  });
}

}  // namespace

SseListFilter::SseListFilter(PendingLists pending, NameFilter allow, std::size_t max_event_bytes)
    : pending_(std::move(pending)), allow_(allow), max_event_bytes_(max_event_bytes) {
  passthrough_ = pending_.empty();
}

bool SseListFilter::feed(std::string_view bytes, std::string& out) {
  if (failed_) return false;
  if (passthrough_) {
    out.append(bytes);
    return true;
  }
  held_.append(bytes);
  if (stream_start_) {
    // A BOM opening the stream is not part of the first field name; it is sent on as is.
    if (held_.size() < kBom.size() && kBom.starts_with(held_)) return true;
    stream_start_ = false;
    if (held_.starts_with(kBom)) {
      out.append(kBom);
      held_.erase(0, kBom.size());
    }
  }

  std::size_t event_begin = 0;
  std::size_t pos = scan_;
  for (;;) {
    pos = find_line_end(held_, pos);
    if (pos == std::string::npos) {
      pos = held_.size();
      break;
    }
    std::size_t line_end = 1;
    if (held_[pos] == '\r') {
      if (pos + 1 == held_.size()) break;  // CR or CRLF: the next byte tells
      if (held_[pos + 1] == '\n') line_end = 2;
    }
    const bool blank = pos == line_;
    pos += line_end;
    line_ = pos;
    if (!blank) continue;
    const std::string_view event = std::string_view(held_).substr(event_begin, pos - event_begin);
    if (event.size() > max_event_bytes_) {
      failed_ = true;
      held_.clear();
      return false;
    }
    take_event(event, true, out);
    event_begin = pos;
    if (passthrough_) {
      out.append(held_, pos);
      held_.clear();
      scan_ = line_ = 0;
      return true;
    }
  }
  held_.erase(0, event_begin);
  scan_ = pos - event_begin;
  line_ -= event_begin;
  if (held_.size() > max_event_bytes_) {
    failed_ = true;
    held_.clear();
    return false;
  }
  return true;
}

void SseListFilter::finish(std::string& out) {
  if (failed_ || passthrough_ || held_.empty()) return;
  if (stream_start_) {
    out.append(held_);  // part of a BOM, nothing more
  } else {
    // A CR left waiting for a possible LF is a line end now; it completes the event when it
    // ends an empty line.
    const bool complete = held_.back() == '\r' && scan_ + 1 == held_.size() && line_ == scan_;
    take_event(held_, complete, out);
  }
  held_.clear();
  scan_ = line_ = 0;
}

void SseListFilter::take_event(std::string_view event, bool complete, std::string& out) {
  if (complete) ++stats_.events;
  data_.clear();
  bool has_data = false;
  for_each_line(event, [&](const Line& line) {
    if (line.content.empty() || line.content.front() == ':') return;
    const Field field = parse_field(line.content);
    if (field.name != "data") return;
    if (has_data) data_ += '\n';
    data_ += field.value;
    has_data = true;
  });
  // No data, or none to parse (an empty data line primes a client's Last-Event-ID).
  if (!has_data || is_blank_json(data_)) {
    out.append(event);
    after_event();
    return;
  }
  if (watch_task_ && complete) {
    // Read before the event is emitted, so the task is bound before its id reaches the client.
    CreatedTask created = read_created_task(padded(data_), max_event_bytes_);
    if (created.is_response) {
      watch_task_ = false;
      if (created.found()) created_ = std::move(created);
    }
  }

  const ListRewrite rewrite =
      filter_list_response(padded(data_), pending_, allow_, max_event_bytes_);
  stats_.entries_removed += rewrite.entries_removed;
  switch (rewrite.outcome) {
    case ListRewrite::Outcome::kUnchanged:
      out.append(event);
      break;
    case ListRewrite::Outcome::kUnreadable:
    case ListRewrite::Outcome::kTooLarge:  // not reached: the data is smaller than its event
      ++stats_.events_dropped;
      write_event(event, std::nullopt, out);
      break;
    case ListRewrite::Outcome::kRewritten:
      if (complete) {
        ++stats_.events_rewritten;
        write_event(event, rewrite.json, out);
      } else {
        ++stats_.events_dropped;  // clients discard an unfinished event; so does the relay
        write_event(event, std::nullopt, out);
      }
      break;
  }
  after_event();
}

void SseListFilter::after_event() {
  if (pending_.empty() && !watch_task_) passthrough_ = true;
}

}  // namespace tg::mcp
