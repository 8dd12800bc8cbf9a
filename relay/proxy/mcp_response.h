/// McpResponseRewriter: the publisher's answer to an inspected MCP POST, as the caller sees it.
///
/// Most answers pass through untouched. Four need the relay's hand (mcp.h, list_filter.h):
/// - a list request was forwarded (tools/list, prompts/list, resources/list): its result is
///   filtered to what the caller may use;
/// - part of a batch was denied: the relay's answers for those messages join the publisher's;
/// - only notifications were forwarded and the publisher said 202, but the relay has answers:
///   they become the body of a 200;
/// - a lone tools/call was forwarded: its answer is read (not changed) for a task it created
///   (tasks.h), which the exchange binds to the caller in the same turn of the loop that sends
///   the answer's last bytes (as JSON, kObserve), or before the event carrying it is sent (SSE),
///   so the client cannot ask about the task before the relay holds it. An answer larger than
///   the cap is passed on unread (a task handle is small).
///
/// How, by the response's type: `application/json` is buffered (de-chunked) up to a cap, then
/// rewritten and sent with a recomputed Content-Length; past the cap the body is drained and
/// replaced by a JSON-RPC error (failing closed: a list that cannot be read is not shown).
/// `text/event-stream` stays a stream: events go through SseListFilter as they complete and
/// are re-framed chunked for an HTTP/1.1 caller (their length changes), or delimited by
/// closing for HTTP/1.0. Any other type, and any status outside 2xx, passes through.
///
/// A pure object over byte views (no I/O); one per exchange, owned by McpExchange. The
/// NameFilter it is given must outlive it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/http/chunked_decoder.h"
#include "relay/http/http.h"
#include "relay/mcp/list_filter.h"

namespace tg {

/// What the request side learned that the response side needs.
struct McpResponsePlan {
  std::vector<std::string> answers;          // the relay's answers to denied batch elements
  mcp::PendingLists pending;                 // the list requests forwarded, by id
  std::optional<mcp::ListKind> single_list;  // a lone list request: its kind
  std::string single_id;                     // a lone request's id (JSON text), for errors
  bool watch_task = false;  // a lone tools/call: read its answer for a task it created

  bool empty() const { return answers.empty() && pending.empty() && !watch_task; }
};

class McpResponseRewriter {
 public:
  enum class Mode : std::uint8_t {
    kPass,     // send the publisher's response as it is
    kStream,   // the head is written now (start's head_out); body() rewrites events as they come
    kBuffer,   // nothing is sent until finish(), which writes head and body
    kObserve,  // sent on as it comes; a copy (up to the cap) is read for a task in finish()
  };
  struct Stats {
    std::size_t lists_filtered = 0;
    std::size_t entries_removed = 0;
  };

  /// Chooses the mode from the response head. `visitor_http11`: the caller can read chunked;
  /// `keep_alive`: the visitor connection stays open after this response. kStream puts the
  /// visitor's head (and the relay's own answers, as the first events) in `head_out`.
  Mode start(McpResponsePlan plan, const http::ResponseHead& head, bool visitor_http11,
             bool keep_alive, mcp::NameFilter allow, std::size_t max_bytes, std::string& head_out);

  /// The next bytes of the publisher's body, exactly as framed on the wire (already checked
  /// by the caller's ChunkedScanner when chunked). Appends what the visitor gets now. False
  /// when the stream must be cut (an event over the cap while a list was pending).
  bool body(std::string_view framed, std::string& out);
  /// The publisher's body ended: appends the rest (kBuffer: the whole response).
  void finish(std::string& out);

  Mode mode() const { return mode_; }
  /// The visitor connection must close after this response (a stream for an HTTP/1.0 caller).
  bool closes_visitor() const { return until_close_; }
  const Stats& stats() const { return stats_; }
  /// The task the watched answer created, once it has been read (kBuffer: in finish(); kStream:
  /// in the body() call that carries it, before its bytes are returned).
  std::optional<mcp::CreatedTask> take_created_task();

 private:
  void emit(std::string_view data, std::string& out) const;
  std::string rewrite_buffered();

  Mode mode_ = Mode::kPass;
  McpResponsePlan plan_;
  mcp::NameFilter allow_;
  std::size_t max_bytes_ = 0;
  bool publisher_chunked_ = false;
  bool chunk_out_ = false;             // kStream to an HTTP/1.1 caller: chunked framing
  bool until_close_ = false;           // kStream to an HTTP/1.0 caller: ends by closing
  bool replace_with_answers_ = false;  // a bodiless 2xx becomes a 200 with the answers
  bool overflow_ = false;
  http::ChunkedDecoder decoder_;
  std::string held_head_;  // kBuffer: the head, without framing
  std::string body_;       // kBuffer: the decoded body
  std::string decoded_;    // kStream: scratch
  std::unique_ptr<mcp::SseListFilter> sse_;
  std::optional<mcp::CreatedTask> created_;
  Stats stats_;
};

/// `application/json…` / `text/event-stream…`, ASCII case-insensitively.
bool is_json_type(std::string_view content_type);
bool is_event_stream_type(std::string_view content_type);

}  // namespace tg
