#include "tools/load/backend.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "tools/load/clock.h"

namespace tg::load {

BuiltinBackend::BuiltinBackend(const BackendSpec& spec, std::uint64_t stream) : spec_(spec) {
  if (spec_.kind == BackendSpec::Kind::kSse && spec_.sse_spread) {
    // The golden-ratio sequence: stream k's phase is frac(k * 0.618…) of the interval, so any
    // number of consecutive streams spread evenly over it.
    const std::uint64_t interval_ns = std::uint64_t{spec_.sse_interval_ms} * 1'000'000u;
    const std::uint64_t fraction = (stream * 0x9E3779B97F4A7C15ull) >> 32;  // of 2^32
    sse_phase_ns_ = static_cast<std::uint64_t>(static_cast<double>(interval_ns) *
                                               (static_cast<double>(fraction) / 4294967296.0));
  }
}
namespace {

constexpr std::string_view kJsonBody = R"({"jsonrpc":"2.0","id":1,"result":{}})";

std::string json_response(bool keep_alive) {
  std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(kJsonBody.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += kJsonBody;
  return out;
}

const std::string& json_response_cached(bool keep_alive) {
  static const std::string with_keep_alive = json_response(true);
  static const std::string with_close = json_response(false);
  return keep_alive ? with_keep_alive : with_close;
}

/// The bytes backend's body: one static block sent again and again.
std::string_view pattern_block() {
  static const std::string block = [] {
    std::string text(64 * 1024, '\0');
    for (std::size_t i = 0; i < text.size(); ++i) {
      text[i] = static_cast<char>('a' + (i % 26));
    }
    return text;
  }();
  return block;
}

constexpr std::string_view kBadRequest =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

}  // namespace

void BuiltinBackend::on_input(std::string_view bytes) {
  if (phase_ == Phase::kFinished) return;  // closing: the rest is not read
  in_.append(bytes);
  advance();
}

void BuiltinBackend::on_input_eof() {
  input_eof_ = true;
  advance();
}

void BuiltinBackend::reject() {
  ++bad_requests_;
  in_.clear();
  queue(kBadRequest);
  phase_ = Phase::kFinished;
}

void BuiltinBackend::advance() {
  for (;;) {
    switch (phase_) {
      case Phase::kHead:
        if (in_.empty() && input_eof_) {
          phase_ = Phase::kFinished;
          return;
        }
        if (!parse_head()) return;
        continue;
      case Phase::kBody:
        if (spec_.kind == BackendSpec::Kind::kEcho) return;  // driven by next_output
        consume_body();
        if (phase_ == Phase::kBody) return;
        continue;
      case Phase::kRespond:
        return;  // driven by next_output
      case Phase::kFinished:
        in_.clear();
        return;
    }
  }
}

bool BuiltinBackend::parse_head() {
  if (in_.empty()) return false;
  // A request head holds up to 100 header views: one per thread, not one per channel.
  static thread_local http::RequestHead head;
  head = http::RequestHead{};
  const http::ParseResult parsed = http::parse_request_head(in_, head);
  if (parsed.state == http::ParseState::kIncomplete) {
    if (input_eof_) phase_ = Phase::kFinished;
    return false;
  }
  if (parsed.state == http::ParseState::kError) {
    reject();
    return false;
  }
  ++requests_;
  keep_alive_ = head.keep_alive;
  head_request_ = head.method == "HEAD";
  framing_ = head.framing;
  body_left_ = framing_ == http::BodyFraming::kLength ? head.content_length : 0;
  chunked_ = http::ChunkedScanner{};
  body_done_ = framing_ == http::BodyFraming::kNone ||
               (framing_ == http::BodyFraming::kLength && body_left_ == 0);
  echo_ready_ = 0;
  const bool expect_continue = head.expect_continue;
  in_.erase(0, parsed.consumed);
  if (expect_continue) queue("HTTP/1.1 100 Continue\r\n\r\n");
  phase_ = Phase::kBody;
  if (spec_.kind == BackendSpec::Kind::kEcho) {
    std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n";
    if (framing_ == http::BodyFraming::kChunked) {
      // The request's chunked bytes go back as they are: already valid chunked framing.
      response += "Transfer-Encoding: chunked\r\n";
    } else {
      response += "Content-Length: " + std::to_string(body_left_) + "\r\n";
    }
    if (!keep_alive_) response += "Connection: close\r\n";
    response += "\r\n";
    queue(response);
  }
  return true;
}

void BuiltinBackend::consume_body() {
  if (!body_done_) {
    if (framing_ == http::BodyFraming::kLength) {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, in_.size()));
      in_.erase(0, take);
      body_left_ -= take;
      body_done_ = body_left_ == 0;
    } else if (framing_ == http::BodyFraming::kChunked) {
      const http::ChunkedScanner::Step step = chunked_.feed(in_);
      if (step.error) {
        reject();
        return;
      }
      in_.erase(0, step.consumed);
      body_done_ = step.done;
    }
  }
  if (body_done_) {
    start_response();
  } else if (input_eof_) {
    phase_ = Phase::kFinished;  // the body was cut: nothing to answer
  }
}

void BuiltinBackend::start_response() {
  phase_ = Phase::kRespond;
  switch (spec_.kind) {
    case BackendSpec::Kind::kJson:
      queue(json_response_cached(keep_alive_));
      break;
    case BackendSpec::Kind::kBytes: {
      std::string response =
          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
          std::to_string(spec_.bytes) + "\r\n";
      if (!keep_alive_) response += "Connection: close\r\n";
      response += "\r\n";
      queue(response);
      bytes_left_ = head_request_ ? 0 : spec_.bytes;
      break;
    }
    case BackendSpec::Kind::kSse:
      queue(
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
          "Transfer-Encoding: chunked\r\n");
      if (!keep_alive_) queue("Connection: close\r\n");
      queue("\r\n");
      events_sent_ = 0;
      sse_start_ns_ = monotonic_ns();
      next_event_ns_ = sse_start_ns_;  // the first event goes out with the head
      break;
    case BackendSpec::Kind::kEcho:
    case BackendSpec::Kind::kUrl:
      break;  // echo answers while reading; kUrl never reaches a built-in backend
  }
}

void BuiltinBackend::end_exchange() {
  if (!keep_alive_) {
    phase_ = Phase::kFinished;
    in_.clear();
    return;
  }
  phase_ = Phase::kHead;
  bytes_left_ = 0;
  events_sent_ = 0;
  advance();
}

std::string_view BuiltinBackend::echo_output() {
  if (framing_ == http::BodyFraming::kLength) {
    echo_ready_ = static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, in_.size()));
  } else if (framing_ == http::BodyFraming::kChunked && !body_done_ && echo_ready_ < in_.size()) {
    const http::ChunkedScanner::Step step =
        chunked_.feed(std::string_view(in_).substr(echo_ready_));
    if (step.error) {
      ++bad_requests_;
      phase_ = Phase::kFinished;  // the head is out already: all we can do is close
      in_.clear();
      echo_ready_ = 0;
      return {};
    }
    echo_ready_ += step.consumed;
    body_done_ = step.done;
  }
  return std::string_view(in_).substr(0, echo_ready_);
}

std::string_view BuiltinBackend::next_output(std::uint64_t now_ns) {
  last_source_ = Source::kNone;
  for (int round = 0; round < 64; ++round) {
    if (sse_event_due(now_ns)) {
      queue_sse_event();
      continue;
    }
    if (pending_offset_ < pending_.size()) {
      last_source_ = Source::kPending;
      return std::string_view(pending_).substr(pending_offset_);
    }
    if (phase_ == Phase::kBody && spec_.kind == BackendSpec::Kind::kEcho) {
      const std::string_view body = echo_output();
      if (!body.empty()) {
        last_source_ = Source::kEcho;
        return body;
      }
      if (phase_ != Phase::kBody) continue;
      const bool all_echoed =
          framing_ == http::BodyFraming::kLength ? body_left_ == 0 : body_done_ && echo_ready_ == 0;
      if (!all_echoed) {
        if (input_eof_) phase_ = Phase::kFinished;
        return {};
      }
      end_exchange();
      continue;
    }
    if (phase_ != Phase::kRespond) return {};
    if (bytes_left_ > 0) {
      last_source_ = Source::kBytes;
      const std::string_view block = pattern_block();
      return block.substr(
          0, static_cast<std::size_t>(std::min<std::uint64_t>(bytes_left_, block.size())));
    }
    if (spec_.kind == BackendSpec::Kind::kSse && events_sent_ < spec_.sse_events) return {};
    end_exchange();
  }
  return {};
}

void BuiltinBackend::output_sent(std::size_t bytes) {
  switch (last_source_) {
    case Source::kPending:
      pending_offset_ += bytes;
      if (pending_offset_ >= pending_.size()) {
        pending_.clear();
        pending_offset_ = 0;
      }
      break;
    case Source::kEcho:
      in_.erase(0, bytes);
      echo_ready_ -= bytes;
      if (framing_ == http::BodyFraming::kLength) body_left_ -= bytes;
      break;
    case Source::kBytes:
      bytes_left_ -= bytes;
      break;
    case Source::kNone:
      break;
  }
  last_source_ = Source::kNone;
}

bool BuiltinBackend::sse_event_due(std::uint64_t now_ns) const {
  // Bounded: with a zero interval the events are written as fast as the window takes them.
  return phase_ == Phase::kRespond && spec_.kind == BackendSpec::Kind::kSse &&
         events_sent_ < spec_.sse_events && now_ns >= next_event_ns_ &&
         pending_.size() - pending_offset_ < 16 * 1024;
}

void BuiltinBackend::queue_sse_event() {
  // The timestamp is read here, immediately before the caller writes the event (an event
  // due together with the response head goes out in the same write).
  char data[48];
  const int data_len = std::snprintf(data, sizeof data, "data: %llu\n\n",
                                     static_cast<unsigned long long>(monotonic_ns()));
  char size_line[16];
  const int size_len = std::snprintf(size_line, sizeof size_line, "%x\r\n", data_len);
  queue(std::string_view(size_line, static_cast<std::size_t>(size_len)));
  queue(std::string_view(data, static_cast<std::size_t>(data_len)));
  queue("\r\n");
  ++events_sent_;
  next_event_ns_ = sse_start_ns_ + sse_phase_ns_ +
                   std::uint64_t{spec_.sse_interval_ms} * 1'000'000u * events_sent_;
  if (events_sent_ == spec_.sse_events) queue("0\r\n\r\n");
}

std::uint64_t BuiltinBackend::next_timer_ns() const {
  if (phase_ == Phase::kRespond && spec_.kind == BackendSpec::Kind::kSse &&
      events_sent_ < spec_.sse_events && pending_offset_ >= pending_.size()) {
    return next_event_ns_;
  }
  return 0;
}

}  // namespace tg::load
