/// McpSessionTable: which caller each MCP session belongs to, on one worker.
///
/// An MCP server names a session in the `Mcp-Session-Id` header of its answer to `initialize`
/// and the client repeats it on every later request. Whoever holds that id is the session, so
/// the relay binds it to the verified subject that initialized it (the empty subject for an
/// anonymous caller) and answers any other subject presenting it with 404, which tells an MCP
/// client to start a new session of its own. An id the relay does not know (never seen, ended
/// by DELETE, expired, dropped with its tunnel, evicted) is answered the same way: unknown ids
/// failing closed means an expired binding can never be picked up by someone else.
///
/// Ownership: one table per worker (Worker::mcp_sessions), reached only from that worker's
/// thread. A tunnel lives on one worker and so do all its visitor connections, so every
/// request that names a session reaches the table that bound it. No locks.
///
/// Bounds: at most `max_entries` bindings; a binding unused for `idle_ms` expires, and when
/// the table is full the least recently used one is evicted (its client re-initializes).
/// Session ids longer than kMaxSessionIdBytes or with bytes outside visible ASCII are never
/// bound. Costs: one hash lookup per request that carries an id; allocation only to bind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tg {

class McpSessionTable {
 public:
  static constexpr std::size_t kMaxSessionIdBytes = 256;

  McpSessionTable(std::size_t max_entries, std::uint64_t idle_ms)
      : max_entries_(max_entries == 0 ? 1 : max_entries), idle_ms_(idle_ms) {}

  enum class Check : std::uint8_t {
    kBound,         // bound to this subject: go on (the binding's idle clock restarts)
    kUnknown,       // no such binding: 404
    kOtherSubject,  // bound to someone else: 404
  };
  Check check(std::string_view tunnel, std::string_view session_id, std::string_view subject,
              std::uint64_t now_ms);

  /// Binds `session_id` on `tunnel` to `subject`. False when the id cannot be bound (too long,
  /// bad bytes) or is already bound to another subject (the binding is left as it was).
  bool bind(std::string_view tunnel, std::string_view session_id, std::string_view subject,
            std::uint64_t now_ms);
  void drop(std::string_view tunnel, std::string_view session_id);
  /// Drops every binding of `tunnel` (it closed: its sessions went with its publisher).
  void drop_tunnel(std::string_view tunnel);
  /// Drops the bindings idle for idle_ms or more.
  void expire(std::uint64_t now_ms);

  std::size_t size() const { return index_.size(); }
  std::uint64_t evicted() const { return evicted_; }

  static bool valid_session_id(std::string_view id);

 private:
  struct Entry {
    std::string key;  // tunnel '\n' session id
    std::string subject;
    std::uint64_t last_used_ms;
  };
  using List = std::list<Entry>;  // least recently used first

  const std::string& key_of(std::string_view tunnel, std::string_view session_id);

  std::size_t max_entries_;
  std::uint64_t idle_ms_;
  List entries_;
  std::unordered_map<std::string_view, List::iterator> index_;  // views into Entry::key
  std::string scratch_key_;
  std::uint64_t evicted_ = 0;
};

}  // namespace tg
