// McpResponseRewriter: picks a mode from the response head, then either buffers the body to
// rewrite it whole (JSON) or re-frames a rewritten event stream as it arrives (SSE).
#include "relay/proxy/mcp_response.h"

#include <cstdio>
#include <utility>

#include "relay/mcp/mcp.h"

namespace tg {
namespace {

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && http::iequals(text.substr(0, prefix.size()), prefix);
}

// The visitor's head for a rewritten body: the publisher's fields, framing as given (none:
// the caller adds Content-Length later), optionally another status and no Content-Type.
void write_rewritten_head(const http::ResponseHead& head, int status, bool drop_type,
                          http::BodyFraming framing, bool keep_alive, std::string& out) {
  http::ResponseHead copy;
  copy.status = status;
  copy.reason = status == head.status ? head.reason : http::status_reason(status);
  copy.version_minor = head.version_minor;
  copy.keep_alive = head.keep_alive;
  copy.framing = framing;
  copy.added_strict_transport_security = head.added_strict_transport_security;
  for (std::size_t i = 0; i < head.header_count; ++i) {
    const http::Header& header = head.headers[i];
    if (http::iequals(header.name, "content-length")) continue;
    if (drop_type && http::iequals(header.name, "content-type")) continue;
    copy.headers[copy.header_count++] = header;
  }
  http::write_visitor_response_head(copy, keep_alive, out);
}

void insert_before_blank_line(std::string& head, std::string_view fields) {
  head.insert(head.size() - 2, fields);
}

}  // namespace

bool is_json_type(std::string_view content_type) {
  return istarts_with(content_type, "application/json");
}

bool is_event_stream_type(std::string_view content_type) {
  return istarts_with(content_type, "text/event-stream");
}

McpResponseRewriter::Mode McpResponseRewriter::start(McpResponsePlan plan,
                                                     const http::ResponseHead& head,
                                                     bool visitor_http11, bool keep_alive,
                                                     mcp::NameFilter allow, std::size_t max_bytes,
                                                     std::string& head_out) {
  mode_ = Mode::kPass;
  if (plan.empty() || head.status < 200 || head.status >= 300) return mode_;
  plan_ = std::move(plan);
  allow_ = allow;
  max_bytes_ = max_bytes;
  publisher_chunked_ = head.framing == http::BodyFraming::kChunked;
  const std::string_view type =
      http::find_header(head.headers.data(), head.header_count, "content-type");
  const bool bodiless = head.framing == http::BodyFraming::kNone ||
                        (head.framing == http::BodyFraming::kLength && head.content_length == 0);

  if (bodiless || head.status == 202) {
    // Only notifications went through (202), or the publisher said nothing: the relay's
    // answers are the whole response. Without answers there is nothing to add.
    if (plan_.answers.empty()) return mode_;
    replace_with_answers_ = true;
    write_rewritten_head(head, 200, true, http::BodyFraming::kNone, keep_alive, held_head_);
    return mode_ = Mode::kBuffer;
  }
  if (is_json_type(type) && plan_.answers.empty() && plan_.pending.empty()) {
    return mode_ = Mode::kObserve;  // only watching for a task: the bytes go on unchanged
  }
  if (is_json_type(type)) {
    write_rewritten_head(head, head.status, false, http::BodyFraming::kNone, keep_alive,
                         held_head_);
    return mode_ = Mode::kBuffer;
  }
  if (is_event_stream_type(type)) {
    chunk_out_ = visitor_http11;
    until_close_ = !visitor_http11;
    write_rewritten_head(head, head.status, false,
                         chunk_out_ ? http::BodyFraming::kChunked : http::BodyFraming::kUntilClose,
                         keep_alive && chunk_out_, head_out);
    if (!plan_.pending.empty() || plan_.watch_task) {
      sse_ = std::make_unique<mcp::SseListFilter>(std::move(plan_.pending), allow_, max_bytes_);
      if (plan_.watch_task) sse_->watch_for_task();
    }
    if (!plan_.answers.empty()) emit(mcp::sse_events(plan_.answers), head_out);
    return mode_ = Mode::kStream;
  }
  return mode_;  // another type: not JSON-RPC, the client will say so
}

void McpResponseRewriter::emit(std::string_view data, std::string& out) const {
  if (data.empty()) return;
  if (!chunk_out_) {
    out.append(data);
    return;
  }
  char size[24];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<std::size_t>(n)).append(data).append("\r\n");
}

bool McpResponseRewriter::body(std::string_view framed, std::string& out) {
  std::string_view data = framed;
  if (publisher_chunked_) {
    decoded_.clear();
    decoder_.feed(framed, decoded_);
    data = decoded_;
  }
  if (mode_ == Mode::kObserve) {
    out.append(framed);
    if (overflow_) return true;
    if (body_.size() + data.size() > max_bytes_) {
      overflow_ = true;  // larger than any task handle: not read
      body_.clear();
      body_.shrink_to_fit();
      return true;
    }
    body_.append(data);
    return true;
  }
  if (mode_ == Mode::kBuffer) {
    if (replace_with_answers_ || overflow_) return true;  // drained
    if (body_.size() + data.size() > max_bytes_) {
      overflow_ = true;
      body_.clear();
      body_.shrink_to_fit();
      return true;
    }
    body_.append(data);
    return true;
  }
  if (mode_ != Mode::kStream) {
    out.append(framed);
    return true;
  }
  if (sse_ == nullptr) {
    emit(data, out);
    return true;
  }
  std::string rewritten;
  const bool ok = sse_->feed(data, rewritten);
  emit(rewritten, out);
  return ok;
}

std::optional<mcp::CreatedTask> McpResponseRewriter::take_created_task() {
  if (sse_ != nullptr) return sse_->take_created_task();
  return std::exchange(created_, std::nullopt);
}

std::string McpResponseRewriter::rewrite_buffered() {
  if (replace_with_answers_) return mcp::json_array(plan_.answers);
  if (overflow_) {
    return mcp::make_jsonrpc_error(plan_.single_id, mcp::kInternalError,
                                   "Internal error: the response is larger than the relay reads");
  }
  std::string result;
  bool replaced = false;
  if (plan_.single_list || !plan_.pending.empty()) {
    const mcp::JsonBytes json = mcp::padded(body_);
    const mcp::ListRewrite rewrite =
        plan_.single_list ? mcp::filter_list_result(json, *plan_.single_list, allow_, max_bytes_)
                          : mcp::filter_list_response(json, plan_.pending, allow_, max_bytes_);
    stats_.lists_filtered += rewrite.lists_filtered;
    stats_.entries_removed += rewrite.entries_removed;
    switch (rewrite.outcome) {
      case mcp::ListRewrite::Outcome::kUnchanged:
        break;
      case mcp::ListRewrite::Outcome::kRewritten:
        result = rewrite.json;
        replaced = true;
        break;
      case mcp::ListRewrite::Outcome::kUnreadable:
      case mcp::ListRewrite::Outcome::kTooLarge:
        return mcp::make_jsonrpc_error(plan_.single_id, mcp::kInternalError,
                                       "Internal error: the server's list could not be read");
    }
  }
  if (!replaced) result = std::move(body_);
  if (!plan_.answers.empty()) return mcp::merge_json_batch_response(result, plan_.answers);
  return result;
}

void McpResponseRewriter::finish(std::string& out) {
  if (mode_ == Mode::kObserve) {
    // Most answers are results, often large: read only one that may name a task. A task id
    // under an escaped key is missed, and its later requests are refused (failing closed).
    if (!overflow_ && body_.find("\"task") != std::string::npos) {
      mcp::CreatedTask created = mcp::read_created_task(mcp::padded(body_), max_bytes_);
      if (created.found()) created_ = std::move(created);
    }
    return;
  }
  if (mode_ == Mode::kBuffer) {
    const std::string body = rewrite_buffered();
    std::string fields;
    if (replace_with_answers_) fields += "Content-Type: application/json\r\n";
    fields += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    insert_before_blank_line(held_head_, fields);
    out.append(held_head_).append(body);
    return;
  }
  if (mode_ != Mode::kStream) return;
  if (sse_ != nullptr) {
    std::string rest;
    sse_->finish(rest);
    emit(rest, out);
  }
  if (chunk_out_) out.append("0\r\n\r\n");
}

}  // namespace tg
