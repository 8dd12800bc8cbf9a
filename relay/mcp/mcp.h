/// MCP inspection: what the relay reads in a JSON-RPC request before the policy decides.
///
/// This component owns the JSON-RPC side of an MCP tunnel's requests: it parses a POST body
/// (one message or a batch), checks it against JSON-RPC 2.0 and MCP's rules, and says which
/// method, tool, resource or prompt each message names, so the compiled policy can decide on
/// it (fill_access_context). It also checks the 2026-07-28 `Mcp-Method` / `Mcp-Name` headers
/// against the body, and writes the relay's own JSON-RPC answers: the 400 body for a refused
/// request, the "Unknown tool" answer for a denied call, and the split of a batch into what is
/// forwarded and what the relay answers itself. The response side (filtered tools/prompts/
/// resources lists, in JSON or SSE) is in list_filter.h. Everything here is a pure function
/// over byte views: the proxy hands bytes in and decides what to send; nothing here does I/O.
///
/// Strictness, failing closed. The body must be one valid JSON text (RFC 8259, checked in full,
/// arguments included: a byte the relay did not read is never forwarded) with no key repeated
/// in any object at any depth (two readers that keep different copies of a repeated key would
/// see different calls). Ids are strings or integers (MCP forbids null and fractions); `method`
/// is a non-empty string; the call targets (`params.name` for tools/call and prompts/get,
/// `params.uri` for resources/read, subscribe and unsubscribe, `params.taskId` for the task
/// methods) are non-empty strings, read
/// after JSON unescaping (so `"\u0061dd"` is the tool `add`). A refusal is an `RpcError`
/// (JSON-RPC code, static message, a counter name); the relay answers it with HTTP 400 and
/// make_error_body(), forwarding nothing.
///
/// Costs. Parsing uses simdjson's On-Demand API (stage 1 dispatched at run time to the CPU's
/// SIMD kernel) and walks every value once: about 0.5 µs for a 300-byte tools/call and 2.7 µs
/// for a batch of ten on this project's 2.6 GHz test machine (bench/mcp_benchmark.cc).
/// Repeated keys are found everywhere, not only among the members the relay reads: each
/// object's unescaped keys go on a reused stack and are compared pairwise (sorted past 16
/// keys), which adds about 10% to a tools/call, 20% to a batch and 30% to a tools/list full of
/// schemas. simdjson reads up to 64 bytes past the end of the JSON: give a JsonBytes whose
/// buffer has that many readable bytes spare (padded(), or a std::string with that much spare
/// capacity) and the body is parsed in place; otherwise it is first copied into a per-thread
/// buffer (+50 ns for 300 bytes). Each thread keeps one simdjson parser, that copy buffer and
/// the key stack; they grow to the largest text read on the thread and stay (the parser needs
/// about 6 bytes per byte of text: some 7 MiB per thread with the 1 MiB limits) and are never
/// shared. Nothing here is reentrant on one thread: a NameFilter must not call back in.
///
/// Results are views: `Message` fields point into the caller's body (valid while it is) or,
/// for the rare string that needed unescaping, into a buffer the Inspection owns. A single
/// message allocates nothing; a batch allocates its vector of messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/policy/context.h"

namespace tg::mcp {

// JSON-RPC 2.0 error codes, and MCP's own.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
/// The 2026-07-28 revision names -32020 `HeaderMismatch` (SEP-2243 drafts used -32001, which
/// servers still answer for an unknown session).
inline constexpr int kHeaderMismatch = -32020;

/// Bytes simdjson may read past the end of the JSON (SIMDJSON_PADDING).
inline constexpr std::size_t kJsonPadding = 64;

/// JSON text, and how many bytes from its start the caller guarantees are readable. With at
/// least `bytes.size() + kJsonPadding` readable it is parsed in place; otherwise it is copied
/// into a per-thread padded buffer first. A plain string_view converts (and is copied).
struct JsonBytes {
  std::string_view bytes;
  std::size_t readable = 0;

  JsonBytes(std::string_view json) : bytes(json), readable(json.size()) {}  // NOLINT: converts
  /// A string's spare capacity counts: one with kJsonPadding to spare is parsed in place.
  JsonBytes(const std::string& json)  // NOLINT: converts
      : bytes(json), readable(json.capacity()) {}
  JsonBytes(std::string_view json, std::size_t readable_bytes)
      : bytes(json), readable(readable_bytes) {}
  bool in_place() const { return readable >= bytes.size() + kJsonPadding; }
};

/// Makes `buffer` parseable in place by reserving kJsonPadding spare bytes past its end. It may
/// reallocate: call it before taking views into the buffer, and keep the buffer unchanged while
/// the results are used.
JsonBytes padded(std::string& buffer);

struct Limits {
  std::size_t max_body = std::size_t{1} << 20;  // mcp.max_body
  std::size_t max_batch = 100;                  // messages in one batch
  std::size_t max_depth = 64;                   // nesting of objects and arrays
};

/// Why a request (or a header) was refused. `message` and `counter` are static strings.
struct RpcError {
  int code = 0;              // 0: no error
  std::string_view message;  // for the JSON-RPC error body and logs
  std::string_view counter;  // a metric name suffix an operator can search for
  std::string_view id_raw;   // the message's id when a single message was readable, else ""

  bool ok() const { return code == 0; }
};

enum class MessageKind : std::uint8_t {
  kRequest,       // method and id: expects an answer
  kNotification,  // method, no id: no answer (HTTP 202)
  kResponse,      // result or error with an id: the client answering the server
};

/// What a call acts on, for policy and for the denied answer's wording. kTask: a method of the
/// Tasks extension naming a task by `params.taskId` (tasks/get, tasks/update, tasks/cancel, and
/// 2025-11-25's tasks/result); the relay decides it as the tool that created the task.
enum class Target : std::uint8_t { kNone, kTool, kResource, kPrompt, kTask };

/// One JSON-RPC message of the body.
struct Message {
  MessageKind kind = MessageKind::kRequest;
  std::string_view raw;      // the exact bytes of this message's object in the body
  std::string_view id_raw;   // the exact JSON text of its id (`7`, `"a\"b"`); "" when absent
  std::string_view method;   // unescaped; "" for responses
  std::string_view name;     // params.name when a string, unescaped; else ""
  std::string_view uri;      // params.uri when a string, unescaped; else ""
  std::string_view task_id;  // params.taskId when a string, unescaped; else ""
  Target target = Target::kNone;

  /// The name, uri or task id the call acts on ("" unless target() is set).
  std::string_view target_name() const {
    switch (target) {
      case Target::kResource:
        return uri;
      case Target::kTask:
        return task_id;
      case Target::kNone:
        return {};
      case Target::kTool:
      case Target::kPrompt:
        break;
    }
    return name;
  }
  std::string_view tool() const { return target == Target::kTool ? name : std::string_view{}; }
  std::string_view prompt() const { return target == Target::kPrompt ? name : std::string_view{}; }
  std::string_view resource() const {
    return target == Target::kResource ? uri : std::string_view{};
  }
  std::string_view task() const { return target == Target::kTask ? task_id : std::string_view{}; }
};

/// The result of inspect_request: an error, or the messages of the body.
class Inspection {
 public:
  bool ok() const { return error_.ok(); }
  const RpcError& error() const { return error_; }
  /// True when the body was an array (even of one element): the answer must be an array.
  bool batch() const { return batch_; }
  /// Every message in body order (one unless batch()); empty when !ok().
  std::span<const Message> messages() const {
    if (!ok()) return {};
    if (batch_) return elements_;
    return {&single_, 1};
  }

 private:
  friend class InspectionBuilder;
  RpcError error_;
  bool batch_ = false;
  Message single_;
  std::vector<Message> elements_;
  std::unique_ptr<char[]> unescaped_;  // strings that differed from their JSON text
};

/// Parses and checks a POST body. `protocol_version` is the MCP-Protocol-Version header ("" when
/// absent, meaning 2025-03-26): from "2025-06-18" on (compared as strings) a batch is refused.
/// Refusals: invalid JSON anywhere → -32700; a body over `limits.max_body` (not read), JSON
/// nested deeper than `limits.max_depth`, a body that is not a message or batch, an empty or
/// oversized batch, a wrong `jsonrpc`, a missing, empty or non-string method, a null or
/// fractional id, a repeated key, two requests of a batch with one id → -32600; a missing,
/// empty or non-string target (params.name / params.uri) → -32602. A syntax error wins over the
/// others wherever it is.
Inspection inspect_request(JsonBytes body, std::string_view protocol_version,
                           const Limits& limits = {});

/// Which member of `params` a method's `Mcp-Name` header carries, from the 2026-07-28 revision's
/// table (SEP-2243's "Required For" column, and the Tasks extension's binding, SEP-2663):
/// tools/call and prompts/get `name`, resources/read `uri`, tasks/get, tasks/update and
/// tasks/cancel `taskId`. kNone: the method is off the table (no client sends the header for it
/// and no server reads it).
enum class NameSource : std::uint8_t { kNone, kName, kUri, kTaskId };
NameSource mcp_name_source(std::string_view method);

/// The 2026-07-28 headers (SEP-2243): each one present (non-empty) must equal the single
/// message's method, and for a method on the table (mcp_name_source) the params member it
/// mirrors, after undoing the `=?base64?…?=` form; with a batch, or a header naming what the
/// body lacks, they cannot match. An `Mcp-Name` on a method off the table is not compared
/// here: nothing in the body says what it should be (the proxy lets it pass only when the
/// policy's decision does not depend on it). Returns code kHeaderMismatch on a mismatch, code 0
/// when they agree.
RpcError check_mcp_headers(const Inspection& inspection, std::string_view mcp_method_header,
                           std::string_view mcp_name_header);

/// Sets the mcp.* attributes of `context` for one message (mcp.task for a task method; the
/// caller sets mcp.tool to the tool that created the task).
void fill_access_context(const Message& message, std::string_view protocol_version,
                         std::string_view session_id, policy::AccessContext& context);

// ---- The relay's own answers -----------------------------------------------------------

/// What the relay answers for a task it does not hold for the caller, and for a denied task
/// method: the Tasks specification's own "not found" (-32602), so a refusal cannot tell a
/// caller whether someone else's task exists.
inline constexpr std::string_view kTaskNotFound = "Failed to retrieve task: Task not found";

/// `{"jsonrpc":"2.0","id":ID,"error":{"code":CODE,"message":"MESSAGE"}}` with ID copied byte
/// for byte from `id_raw` (`null` when empty) and MESSAGE escaped as a JSON string.
std::string make_jsonrpc_error(std::string_view id_raw, int code, std::string_view message);

/// The HTTP 400 body for a refused request (make_jsonrpc_error with the error's id).
std::string make_error_body(const RpcError& error);

/// Appends `text` as the contents of a JSON string (quotes not included): `"` and `\` escaped,
/// control characters as \n, \r, \t, \b, \f or \u00XX; other bytes copied.
void append_json_string_contents(std::string_view text, std::string& out);

/// The relay's answer to a denied request, sent with HTTP 200 so the client's session survives:
/// for a target, code `code` (default -32602, as servers answer names they do not know, so a
/// denial does not reveal that the name exists) and "Unknown tool: NAME" / "Unknown prompt:
/// NAME" / "Unknown resource: URI"; for a task method -32602 kTaskNotFound (whatever `code`);
/// for any other method -32601 "Method not found". "" for
/// notifications and responses: they get no answer (a lone one: HTTP 202, no body).
std::string make_denied_answer(const Message& message, int code = kInvalidParams);

/// A batch divided by the policy's per-message decisions.
///
/// How the relay answers the client:
/// - Nothing allowed: the relay answers alone. With answers, HTTP 200 application/json and
///   json_array(answers); with none (only notifications and responses were denied), HTTP 202.
/// - Something allowed: `forward` (a JSON array of the allowed messages' exact bytes) goes to
///   the publisher instead of the body, with Content-Length recomputed. Its response is merged:
///   application/json → merge_json_batch_response(publisher body, answers); a 202 or an empty
///   body → json_array(answers) with HTTP 200 (202 when there are no answers); text/event-stream
///   → the relay sends sse_events(answers) first, then the publisher's stream as it comes
///   (each answer is its own event, as clients read one message per event); any other status
///   (4xx, 5xx) is passed through and the answers are dropped, since the client sees the batch
///   failed.
struct BatchSplit {
  std::string forward;               // "[m1,m3]"; "" when no message is allowed
  std::vector<std::string> answers;  // the relay's responses to denied requests, in body order
  std::size_t allowed = 0;
  std::size_t denied = 0;
};

/// `allowed[i]` is the decision for messages()[i] (sizes must match; a shorter span denies the
/// rest). Denied requests get make_denied_answer(message, deny_code).
BatchSplit split_batch(const Inspection& inspection, std::span<const bool> allowed,
                       int deny_code = kInvalidParams);

/// `[a1,a2,…]` ("[]" for none).
std::string json_array(std::span<const std::string> answers);

/// The publisher's application/json answer to `forward` with the relay's answers appended:
/// an array gets them before its `]`, a single object becomes `[object,answers…]`, an empty
/// body becomes json_array(answers). Anything else is returned unchanged (the publisher sent
/// something that is not JSON-RPC; the client will report it).
std::string merge_json_batch_response(std::string_view publisher_body,
                                      std::span<const std::string> answers);

/// One SSE event per answer: `data: ANSWER\n\n`.
std::string sse_events(std::span<const std::string> answers);

}  // namespace tg::mcp
