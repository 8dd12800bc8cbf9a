/// McpTaskTable: which caller each MCP task belongs to, and which tool created it, on one worker.
///
/// A server that answers a tools/call with a task hands out an id; whoever presents it can
/// poll the work's status and result (tasks/get, tasks/result), feed it input (tasks/update) or
/// cancel it (tasks/cancel). The relay binds the id, on its tunnel, to the verified subject
/// whose call created it (the empty subject for an anonymous caller) and to the tool called, so
/// that a task request is forwarded only for the caller who started the task, and is decided by
/// the policy as that tool (mcp.tool) with mcp.task set. Anything else (another subject's task,
/// an id never seen, expired, evicted, or dropped with its tunnel) is answered by the relay
/// with the Tasks specification's "not found", never forwarded: failing closed means an
/// expired binding can never be picked up by someone else.
///
/// Ownership: one table per worker (Worker::mcp_tasks), reached only from that worker's thread.
/// A tunnel lives on one worker and so do all its visitor connections, so every request that
/// names a task reaches the table that bound it. No locks.
///
/// Bounds: at most `max_entries` bindings (kMaxEntries in the relay), the oldest evicted first
/// when full; each expires
/// with the task's time-to-live (`ttlMs` / `ttl`, counted from its creation), or after
/// `default_ttl_ms` when the server gave none. Ids longer than kMaxTaskIdBytes are never
/// bound. Costs: one hash lookup per task request; allocation only to bind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tg {

class McpTaskTable {
 public:
  static constexpr std::size_t kMaxTaskIdBytes = 256;
  /// For a task whose server gave no time-to-live (or null: unlimited): a day.
  static constexpr std::uint64_t kDefaultTtlMs = 86'400'000;
  /// Bindings per worker: far more long-running tasks than one worker's callers start
  /// within their time-to-live; about 200 bytes each with their strings.
  static constexpr std::size_t kMaxEntries = 100'000;

  McpTaskTable(std::size_t max_entries, std::uint64_t default_ttl_ms)
      : max_entries_(max_entries == 0 ? 1 : max_entries), default_ttl_ms_(default_ttl_ms) {}

  /// The tool that created the task `task_id` on `tunnel`, when it is bound to `subject` and
  /// has not expired; nullopt otherwise. The view is valid until the table next changes.
  std::optional<std::string_view> tool_of(std::string_view tunnel, std::string_view task_id,
                                          std::string_view subject, std::uint64_t now_ms);

  /// Binds `task_id` on `tunnel` to `subject` and `tool` until now + ttl (default_ttl_ms when
  /// absent). False when the id cannot be bound (empty, too long) or is bound to another
  /// subject (that binding is left as it was: a server reusing an id must not hand one
  /// caller's task to another).
  bool bind(std::string_view tunnel, std::string_view task_id, std::string_view subject,
            std::string_view tool, std::optional<std::uint64_t> ttl_ms, std::uint64_t now_ms);
  /// Drops every binding of `tunnel` (it closed: its tasks went with its publisher).
  void drop_tunnel(std::string_view tunnel);

  std::size_t size() const { return index_.size(); }
  std::uint64_t evicted() const { return evicted_; }

 private:
  struct Entry {
    std::string key;  // tunnel '\n' task id
    std::string subject;
    std::string tool;
    std::uint64_t expires_ms;
  };
  using List = std::list<Entry>;  // oldest binding first

  const std::string& key_of(std::string_view tunnel, std::string_view task_id);
  void erase(List::iterator entry);

  std::size_t max_entries_;
  std::uint64_t default_ttl_ms_;
  List entries_;
  std::unordered_map<std::string_view, List::iterator> index_;  // views into Entry::key
  std::string scratch_key_;
  std::uint64_t evicted_ = 0;
};

}  // namespace tg
