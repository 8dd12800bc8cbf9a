/// Filtered lists: the results of tools/list, prompts/list and resources/list rewritten so that
/// they only name what this caller may use.
///
/// The relay decides calls (mcp.h) and also hides what it would deny: in a list response, each
/// entry of `result.tools` (`result.prompts`, `result.resources`) is kept only if the caller's
/// NameFilter allows its `name` (`uri` for resources). Everything else is copied byte for byte:
/// the other members, the entries kept (with the whitespace before them), `nextCursor`.
/// Entries that cannot be judged (not an object, no string name, a repeated `name`) are
/// dropped (a key repeated elsewhere inside an entry is left to the client), and a list
/// response that cannot be trusted as a whole (a key repeated outside its entries, a list that
/// is not an array) is replaced by a JSON-RPC error (-32603) with its id.
///
/// Which responses are lists: filter_list_result is for an application/json body answering one
/// list request (the caller knows). For a batch answer or an SSE stream, PendingLists holds
/// the ids of the list requests sent on it; a response matches when its id equals one (strings
/// compared after unescaping, numbers by value, as a JavaScript server would echo them) and the
/// entry is then consumed. PendingLists::any() matches every response that carries a list, for
/// streams whose requests the relay did not see (a GET stream, a resumed stream).
///
/// SSE (SseListFilter): events are split as the HTML standard's parser does (CRLF, LF or CR line
/// ends, `data:` lines joined by LF, comments and other fields kept) and each is emitted as soon
/// as its blank line arrives: unchanged, unless its data is a JSON-RPC response matching a
/// pending list, whose event is re-sent with the rewritten data (other fields kept in place).
/// An event's bytes are held until it completes, up to a cap (1 MiB by default), past which the
/// stream fails (the relay cuts it; failing closed). Once no list is pending (and not any()),
/// the rest of the stream passes through without being held or parsed. Data that is not JSON
/// while a list is pending is removed from its event (MCP events carry JSON-RPC messages); the
/// event's other lines stay, so an `id:` still counts for Last-Event-ID.
///
/// Costs: one simdjson walk of each candidate (checked in full, like requests) and one copy of
/// the kept bytes: about 24 µs for a 50-tool list of 16 KiB, as JSON or as an SSE event
/// (bench/mcp_benchmark.cc); a stream passing through costs an append. Each SseListFilter
/// holds at most one event (its cap) and one copy of its data; the per-thread parser grows to
/// the largest list read (mcp.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/mcp/mcp.h"
#include "relay/mcp/tasks.h"

namespace tg::mcp {

/// kTasks: 2025-11-25's tasks/list (`result.tasks`, entries named by `taskId`): a caller sees
/// only the tasks the relay holds for it.
enum class ListKind : std::uint8_t { kTools, kPrompts, kResources, kTasks };

/// tools/list → kTools, prompts/list → kPrompts, resources/list → kResources, tasks/list →
/// kTasks.
std::optional<ListKind> list_kind_of(std::string_view method);

/// May this caller see the entry `name` (a uri for kResources)? A function pointer over the
/// caller's object (which must outlive the filter); must not throw nor call back into tg::mcp
/// on the same thread. Default-constructed: allows nothing.
class NameFilter {
 public:
  using Function = bool (*)(const void* object, ListKind kind, std::string_view name) noexcept;

  constexpr NameFilter() = default;
  constexpr NameFilter(const void* object, Function function)
      : object_(object), function_(function) {}
  /// Over a callable `bool(ListKind, std::string_view)` that outlives the filter.
  template <typename Callable>
  static NameFilter of(const Callable& callable) {
    return NameFilter(&callable, [](const void* o, ListKind kind, std::string_view name) noexcept {
      return (*static_cast<const Callable*>(o))(kind, name);
    });
  }

  bool operator()(ListKind kind, std::string_view name) const {
    return function_ != nullptr && function_(object_, kind, name);
  }

  /// Also told, for each tool of a tools list it filters (kept or not), the tool's name and
  /// its `inputSchema`'s JSON text ("" when it has none), over the same object: the relay
  /// learns the tool's Mcp-Param declarations from it (params.h). The text is valid only
  /// during the call, and the function must not parse it there (the parser is in use).
  using SchemaFunction = void (*)(const void* object, std::string_view tool,
                                  std::string_view input_schema) noexcept;
  constexpr NameFilter with_schemas(SchemaFunction schemas) const {
    NameFilter filter = *this;
    filter.schemas_ = schemas;
    return filter;
  }
  void tool_schema(std::string_view tool, std::string_view input_schema) const {
    if (schemas_ != nullptr) schemas_(object_, tool, input_schema);
  }

 private:
  const void* object_ = nullptr;
  Function function_ = nullptr;
  SchemaFunction schemas_ = nullptr;
};

/// The list requests whose responses are still to come on one response stream.
class PendingLists {
 public:
  PendingLists() = default;
  /// Matches every response that carries a list, whatever its id.
  static PendingLists any();

  /// Adds `request` when it is a tools/prompts/resources list request; says whether it did.
  bool add(const Message& request);
  /// Adds a list request by its id's JSON text; false when that is not a string or a number.
  bool add(std::string_view id_raw, ListKind kind);

  /// Nothing pending and not any(): a stream may pass through untouched.
  bool empty() const { return !any_ && entries_.empty(); }
  std::size_t size() const { return entries_.size(); }

 private:
  friend class PendingMatcher;
  struct Entry {
    ListKind kind;
    bool numeric;
    double number;
    std::string text;  // unescaped string id
  };
  std::vector<Entry> entries_;
  bool any_ = false;
  std::optional<ListKind> any_kind_;  // any(): only this kind (filter_list_result)
};

/// The largest response filtered by default. A list response is buffered whole to be read,
/// and the per-thread parser keeps the size of the largest text it has read; a tools/list of a
/// hundred tools with schemas is about 30 KiB.
inline constexpr std::size_t kDefaultMaxListBytes = std::size_t{1} << 20;

struct ListRewrite {
  enum class Outcome : std::uint8_t {
    kUnchanged,   // nothing to filter: send the original bytes
    kRewritten,   // send `json`
    kUnreadable,  // not one JSON text (or nested too deep): nothing in it can be trusted
    kTooLarge,    // over max_bytes: not read
  };
  Outcome outcome = Outcome::kUnchanged;
  std::string json;                   // with kRewritten
  std::size_t lists_filtered = 0;     // list responses matched
  std::size_t entries_kept = 0;       // over those lists
  std::size_t entries_removed = 0;    // including entries that could not be judged
  std::size_t responses_refused = 0;  // replaced by an error (see the header comment)
};

/// Filters the application/json response to one list request of kind `kind` (its id is not
/// checked). kUnreadable or kTooLarge: the relay sends make_jsonrpc_error(request id,
/// kInternalError, …) instead, failing closed.
ListRewrite filter_list_result(JsonBytes response_json, ListKind kind, NameFilter allow,
                               std::size_t max_bytes = kDefaultMaxListBytes);

/// Filters a response body (an object or a batch array) against `pending`, consuming the
/// entries it answers (only when the whole text could be read).
ListRewrite filter_list_response(JsonBytes response_json, PendingLists& pending, NameFilter allow,
                                 std::size_t max_bytes = kDefaultMaxListBytes);

/// The incremental SSE rewriter for one response stream (one per POST's stream or GET stream;
/// not shared between threads).
class SseListFilter {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = kDefaultMaxListBytes;

  struct Stats {
    std::size_t events = 0;            // complete events seen while holding
    std::size_t events_rewritten = 0;  // re-sent with filtered lists (or a refusal)
    std::size_t events_dropped = 0;    // data removed: unreadable while a list was pending
    std::size_t entries_removed = 0;
  };

  SseListFilter(PendingLists pending, NameFilter allow,
                std::size_t max_event_bytes = kDefaultMaxEventBytes);

  /// Also reads the stream's first JSON-RPC response for a task it created (tasks.h): the
  /// answer to a lone tools/call. Call before the first feed(). Until that response has passed
  /// the stream is held event by event, as for a pending list.
  void watch_for_task() {
    watch_task_ = true;
    passthrough_ = false;
  }
  /// The task the watched response created, once (nullopt before, after, or when it made none).
  std::optional<CreatedTask> take_created_task() { return std::exchange(created_, std::nullopt); }

  /// Appends to `out` every byte that may be sent now. False once the stream has failed (an
  /// event grew past the cap while a list was pending): the relay ends the stream; later calls
  /// append nothing.
  bool feed(std::string_view bytes, std::string& out);
  /// The stream ended: appends the held bytes of an unfinished event (clients discard those),
  /// without its data when that is a pending list's response.
  void finish(std::string& out);

  bool failed() const { return failed_; }
  bool passing_through() const { return passthrough_; }
  const Stats& stats() const { return stats_; }

 private:
  void take_event(std::string_view event, bool complete, std::string& out);
  void after_event();

  PendingLists pending_;
  NameFilter allow_;
  std::size_t max_event_bytes_;
  std::string held_;      // bytes of the current event (from its first byte)
  std::size_t scan_ = 0;  // bytes of held_ already split into lines
  std::size_t line_ = 0;  // start of the current line in held_
  std::string data_;      // the event's joined data, padded for simdjson
  bool stream_start_ = true;
  bool passthrough_ = false;
  bool watch_task_ = false;
  std::optional<CreatedTask> created_;
  bool failed_ = false;
  Stats stats_;
};

}  // namespace tg::mcp
