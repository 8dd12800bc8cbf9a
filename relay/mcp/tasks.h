/// Created tasks: reading, from a server's answer to a tools/call, the task it started.
///
/// MCP lets a server answer a long-running request with a handle instead of its result; the
/// client then polls, steers and cancels the work by the handle's id (tasks/get, tasks/update,
/// tasks/cancel). The relay binds that id to the caller who started it (McpTaskTable), so it
/// must see the id as the answer passes. Two shapes exist:
/// - revision 2026-07-28's Tasks extension (SEP-2663): `result` is the task itself, marked
///   `"resultType": "task"`, with `taskId` and `ttlMs` (milliseconds, or null for none);
/// - revision 2025-11-25's tasks utility: `result` is `{"task": {"taskId": …, "ttl": …}}`
///   (ttl in milliseconds, or null).
///
/// read_created_task reads one JSON-RPC response object (not a batch: tasks come with the
/// revisions that removed batches) and checks all of it, like the request inspector: invalid
/// JSON, too deep, a repeated key anywhere, or a task id that is not a non-empty string means
/// no task is found (the client's later task requests are then refused: failing closed). A
/// pure function over a byte view; it uses the per-thread parser of mcp.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "relay/mcp/mcp.h"

namespace tg::mcp {

struct CreatedTask {
  bool is_response = false;  // the text was one JSON-RPC response (result or error, no method)
  std::string task_id;       // unescaped; empty: no task was created
  std::optional<std::uint64_t> ttl_ms;  // absent: no ttl given (or null: unlimited)

  bool found() const { return !task_id.empty(); }
};

/// Reads `response_json` (a whole JSON-RPC message). Texts over `max_bytes` are not read.
CreatedTask read_created_task(JsonBytes response_json, std::size_t max_bytes);

/// The task ids a `subscriptions/listen` request asks notifications for
/// (`params.notifications.taskIds`, the Tasks extension), unescaped, in order. `message_json` is
/// one request the inspector accepted (Message::raw). nullopt when that member is there but
/// not an array of strings (the caller refuses: it cannot tell which tasks are meant).
std::optional<std::vector<std::string>> listen_task_ids(JsonBytes message_json);

}  // namespace tg::mcp
