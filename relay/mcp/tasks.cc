// read_created_task: one walk over a JSON-RPC response with the checking walker (json_walk.h),
// keeping only result.resultType, result.taskId, result.ttlMs and result.task.{taskId,ttl}.
#include "relay/mcp/tasks.h"

#include <algorithm>
#include <cmath>

#include "relay/mcp/json_walk.h"

namespace tg::mcp {

namespace {

using detail::Fault;
using detail::od::json_type;
using detail::od::object;
using detail::od::value;

// Past a week a ttl means "keep it as long as the relay keeps any binding".
constexpr double kLongestTtlMs = 7.0 * 86'400'000;

struct Fields {
  bool method = false;
  bool result = false;
  bool error = false;
  bool task_type = false;  // result.resultType == "task"
  std::string flat_id;     // result.taskId (2026-07-28)
  std::optional<std::uint64_t> flat_ttl;
  std::string nested_id;  // result.task.taskId (2025-11-25)
  std::optional<std::uint64_t> nested_ttl;
};

class Reader {
 public:
  Reader(detail::Workspace& ws, std::size_t max_depth) : walker_(ws, max_depth) {}

  Fault message(value& root, Fields& out) {
    object members;
    if (root.get_object().get(members) != simdjson::SUCCESS) return Fault::kSyntax;
    return walker_.object(members, 1, [&](std::string_view key, value& member) -> Fault {
      if (key == "method") out.method = true;
      if (key == "error") out.error = true;
      if (key != "result") return walker_.skip(member, 1);
      out.result = true;
      return result(member, out);
    });
  }

  bool repeated_key() { return walker_.take_duplicate(); }

 private:
  Fault result(value& result, Fields& out) {
    json_type type;
    if (result.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::object) return walker_.skip(result, 1);
    object members;
    if (result.get_object().get(members) != simdjson::SUCCESS) return Fault::kSyntax;
    return walker_.object(members, 2, [&](std::string_view key, value& member) -> Fault {
      if (key == "resultType") {
        std::string_view text;
        const Fault fault = string_or_skip(member, 2, text);
        out.task_type = text == "task";
        return fault;
      }
      if (key == "taskId") return id(member, 2, out.flat_id);
      if (key == "ttlMs") return ttl(member, 2, out.flat_ttl);
      if (key == "task") return task(member, out);
      return walker_.skip(member, 2);
    });
  }

  Fault task(value& task, Fields& out) {
    json_type type;
    if (task.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::object) return walker_.skip(task, 2);
    object members;
    if (task.get_object().get(members) != simdjson::SUCCESS) return Fault::kSyntax;
    return walker_.object(members, 3, [&](std::string_view key, value& member) -> Fault {
      if (key == "taskId") return id(member, 3, out.nested_id);
      if (key == "ttl") return ttl(member, 3, out.nested_ttl);
      return walker_.skip(member, 3);
    });
  }

  Fault string_or_skip(value& member, std::size_t depth, std::string_view& text) {
    json_type type;
    if (member.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::string) return walker_.skip(member, depth);
    std::string_view raw;
    return walker_.string(member, text, raw);
  }

  // The id is copied at once: simdjson's unescaping buffer is reused by the next string.
  Fault id(value& member, std::size_t depth, std::string& out) {
    std::string_view text;
    const Fault fault = string_or_skip(member, depth, text);
    out.assign(text);
    return fault;
  }

  Fault ttl(value& member, std::size_t depth, std::optional<std::uint64_t>& out) {
    json_type type;
    if (member.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::number) return walker_.skip(member, depth);
    const std::string_view token = detail::trim_json_space(member.raw_json_token());
    const Fault fault = walker_.skip(member, depth);
    double ms = 0;
    if (fault == Fault::kNone && detail::parse_number(token, ms) && std::isfinite(ms) && ms >= 0) {
      out = static_cast<std::uint64_t>(std::min(ms, kLongestTtlMs));
    }
    return fault;
  }

  detail::Walker walker_;
};

// params.notifications.taskIds: true when absent or an array of strings (collected).
class ListenReader {
 public:
  ListenReader(detail::Workspace& ws, std::size_t max_depth) : walker_(ws, max_depth) {}

  Fault message(value& root, std::vector<std::string>& ids, bool& usable) {
    return members(root, 0, [&](std::string_view key, value& params) -> Fault {
      if (key != "params") return walker_.skip(params, 1);
      return members(params, 1, [&](std::string_view key2, value& notifications) -> Fault {
        if (key2 != "notifications") return walker_.skip(notifications, 2);
        return members(notifications, 2, [&](std::string_view key3, value& list) -> Fault {
          if (key3 != "taskIds") return walker_.skip(list, 3);
          return task_ids(list, ids, usable);
        });
      });
    });
  }

 private:
  // Calls on_member for each member of `object_value` when it is an object; skips it otherwise.
  template <typename OnMember>
  Fault members(value& object_value, std::size_t depth, OnMember&& on_member) {
    json_type type;
    if (object_value.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::object) return walker_.skip(object_value, depth);
    object fields;
    if (object_value.get_object().get(fields) != simdjson::SUCCESS) return Fault::kSyntax;
    return walker_.object(fields, depth + 1, on_member);
  }

  Fault task_ids(value& list, std::vector<std::string>& ids, bool& usable) {
    json_type type;
    if (list.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::array) {
      usable = false;
      return walker_.skip(list, 3);
    }
    detail::od::array elements;
    if (list.get_array().get(elements) != simdjson::SUCCESS) return Fault::kSyntax;
    return walker_.array(elements, 4, [&](value& element) -> Fault {
      json_type element_type;
      if (element.type().get(element_type) != simdjson::SUCCESS) return Fault::kSyntax;
      if (element_type != json_type::string) {
        usable = false;
        return walker_.skip(element, 4);
      }
      std::string_view text;
      std::string_view raw;
      const Fault fault = walker_.string(element, text, raw);
      ids.emplace_back(text);
      return fault;
    });
  }

  detail::Walker walker_;
};

}  // namespace

std::optional<std::vector<std::string>> listen_task_ids(JsonBytes message_json) {
  detail::Workspace& ws = detail::workspace();
  detail::od::document doc;
  std::string_view parsed;
  if (detail::start_document(ws, message_json, doc, parsed) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  value root;
  if (doc.get_value().get(root) != simdjson::SUCCESS) return std::nullopt;
  std::vector<std::string> ids;
  bool usable = true;
  ListenReader reader(ws, Limits{}.max_depth);
  if (reader.message(root, ids, usable) != Fault::kNone || !usable) return std::nullopt;
  return ids;
}

CreatedTask read_created_task(JsonBytes response_json, std::size_t max_bytes) {
  CreatedTask created;
  if (response_json.bytes.size() > max_bytes) return created;
  detail::Workspace& ws = detail::workspace();
  detail::od::document doc;
  std::string_view parsed;
  if (detail::start_document(ws, response_json, doc, parsed) != simdjson::SUCCESS) return created;
  json_type root_type;
  if (doc.type().get(root_type) != simdjson::SUCCESS || root_type != json_type::object) {
    return created;
  }
  value root;
  if (doc.get_value().get(root) != simdjson::SUCCESS) return created;
  Fields fields;
  Reader reader(ws, Limits{}.max_depth);
  if (reader.message(root, fields) != Fault::kNone || !detail::at_document_end(doc) ||
      reader.repeated_key()) {
    return created;
  }
  created.is_response = !fields.method && fields.result != fields.error;
  if (!created.is_response || !fields.result) return created;
  if (fields.task_type && !fields.flat_id.empty()) {
    created.task_id = std::move(fields.flat_id);
    created.ttl_ms = fields.flat_ttl;
  } else if (!fields.task_type && !fields.nested_id.empty()) {
    created.task_id = std::move(fields.nested_id);
    created.ttl_ms = fields.nested_ttl;
  }
  return created;
}

}  // namespace tg::mcp
