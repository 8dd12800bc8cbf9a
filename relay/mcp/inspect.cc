// inspect_request: one walk over the body with simdjson On-Demand that checks all of it
// (json_walk.h) and records, per message, the few members JSON-RPC and the policy need.
//
// Strings are kept as views into the caller's body when their JSON text has no escape, which
// is nearly always; the others are unescaped by simdjson into its per-thread buffer and then
// copied into one buffer the Inspection owns. When the body had to be copied for padding,
// views are moved back from the copy onto the caller's bytes (same offsets).
#include <algorithm>
#include <cstring>

#include "relay/mcp/json_walk.h"
#include "relay/mcp/mcp.h"

namespace tg::mcp {

namespace {

using detail::Fault;
using detail::IdValue;
using detail::od::document;
using detail::od::json_type;
using detail::od::object;
using detail::od::value;

constexpr std::string_view kFirstVersionWithoutBatches = "2025-06-18";

RpcError rpc_error(int code, std::string_view message, std::string_view counter) {
  return RpcError{code, message, counter, {}};
}

RpcError fault_error(Fault fault) {
  if (fault == Fault::kTooDeep) {
    return rpc_error(kInvalidRequest, "Invalid Request: JSON nested too deeply",
                     "mcp_json_too_deep");
  }
  return rpc_error(kParseError, "Parse error: invalid JSON", "mcp_parse_error");
}

// A string read from the body: a view into the parsed text, or simdjson's unescaped copy.
struct Text {
  std::string_view view;
  bool unescaped = false;
};

// What one message object said, before it is judged.
struct Draft {
  bool jsonrpc_seen = false;
  bool jsonrpc_ok = false;
  bool method_seen = false;
  bool method_string = false;
  bool params_object = false;
  bool params_other = false;  // params neither object nor array
  bool name_seen = false;     // params.name present, of any type
  bool uri_seen = false;
  bool task_id_seen = false;
  bool has_result = false;
  bool has_error = false;
  IdValue id;
  Text method;
  Text name;  // only when a string
  Text uri;
  Text task_id;
  std::string_view raw;
};

struct TargetRule {
  std::string_view method;
  Target target;
  std::string_view refusal;
};

// The calls whose target the policy sees. subscribe and unsubscribe count as acting on the
// resource: a caller that may not read a resource should not be told when it changes.
constexpr TargetRule kTargetRules[] = {
    {"tools/call", Target::kTool,
     "Invalid params: tools/call needs params.name, a non-empty string"},
    {"prompts/get", Target::kPrompt,
     "Invalid params: prompts/get needs params.name, a non-empty string"},
    {"resources/read", Target::kResource,
     "Invalid params: resources/read needs params.uri, a non-empty string"},
    {"resources/subscribe", Target::kResource,
     "Invalid params: resources/subscribe needs params.uri, a non-empty string"},
    {"resources/unsubscribe", Target::kResource,
     "Invalid params: resources/unsubscribe needs params.uri, a non-empty string"},
    // The Tasks extension (2026-07-28, SEP-2663) and 2025-11-25's tasks utility.
    {"tasks/get", Target::kTask,
     "Invalid params: tasks/get needs params.taskId, a non-empty string"},
    {"tasks/update", Target::kTask,
     "Invalid params: tasks/update needs params.taskId, a non-empty string"},
    {"tasks/cancel", Target::kTask,
     "Invalid params: tasks/cancel needs params.taskId, a non-empty string"},
    {"tasks/result", Target::kTask,
     "Invalid params: tasks/result needs params.taskId, a non-empty string"},
};

}  // namespace

// Builds an Inspection in one walk (a friend of Inspection).
class InspectionBuilder {
 public:
  InspectionBuilder(detail::Workspace& ws, const Limits& limits, std::string_view caller)
      : walker_(ws, limits.max_depth), limits_(limits), caller_(caller) {}

  Inspection run(document& doc, std::string_view parsed, std::string_view protocol_version);
  static Inspection refused(RpcError error) {
    Inspection inspection;
    inspection.error_ = error;
    return inspection;
  }

 private:
  Fault walk_message(value& message, std::size_t depth, Draft& draft);
  Fault walk_params(value& params, std::size_t depth, Draft& draft);
  RpcError judge(const Draft& draft, Message& out) const;
  std::string_view rebase(std::string_view in_parsed) const;
  void keep_soft(RpcError error) {
    if (soft_.ok()) soft_ = error;
  }
  Inspection finish(Inspection& inspection, std::span<const Draft> drafts);

  detail::Walker walker_;
  const Limits& limits_;
  std::string_view caller_;
  std::string_view parsed_;
  RpcError soft_;
};

std::string_view InspectionBuilder::rebase(std::string_view in_parsed) const {
  if (parsed_.data() == caller_.data() || in_parsed.empty()) return in_parsed;
  const auto offset = static_cast<std::size_t>(in_parsed.data() - parsed_.data());
  return caller_.substr(offset, in_parsed.size());
}

Fault InspectionBuilder::walk_params(value& params, std::size_t depth, Draft& draft) {
  json_type type;
  if (params.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
  if (type != json_type::object) {
    draft.params_other = type != json_type::array;
    return walker_.skip(params, depth);
  }
  draft.params_object = true;
  object members;
  if (params.get_object().get(members) != simdjson::SUCCESS) return Fault::kSyntax;
  return walker_.object(members, depth + 1, [&](std::string_view key, value& member) {
    bool* seen = nullptr;
    Text* text_of = nullptr;
    if (key == "name") {
      seen = &draft.name_seen;
      text_of = &draft.name;
    } else if (key == "uri") {
      seen = &draft.uri_seen;
      text_of = &draft.uri;
    } else if (key == "taskId") {
      seen = &draft.task_id_seen;
      text_of = &draft.task_id;
    } else {
      return walker_.skip(member, depth + 1);
    }
    *seen = true;
    json_type member_type;
    if (member.type().get(member_type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (member_type != json_type::string) return walker_.skip(member, depth + 1);
    Text& text = *text_of;
    std::string_view raw;
    const Fault fault = walker_.string(member, text.view, raw);
    if (fault == Fault::kNone && raw.find('\\') == std::string_view::npos) {
      text.view = raw.substr(1, raw.size() - 2);  // the body's own bytes
    } else {
      text.unescaped = true;
    }
    return fault;
  });
}

Fault InspectionBuilder::walk_message(value& message, std::size_t depth, Draft& draft) {
  object members;
  if (message.get_object().get(members) != simdjson::SUCCESS) return Fault::kSyntax;
  const Fault fault =
      walker_.object(members, depth + 1, [&](std::string_view key, value& member) -> Fault {
        if (key == "jsonrpc") {
          draft.jsonrpc_seen = true;
          json_type type;
          if (member.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
          if (type != json_type::string) return walker_.skip(member, depth + 1);
          std::string_view text;
          std::string_view raw;
          const Fault f = walker_.string(member, text, raw);
          draft.jsonrpc_ok = text == "2.0";
          return f;
        }
        if (key == "id") return walker_.id(member, depth + 1, draft.id);
        if (key == "method") {
          draft.method_seen = true;
          json_type type;
          if (member.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
          if (type != json_type::string) return walker_.skip(member, depth + 1);
          draft.method_string = true;
          std::string_view raw;
          const Fault f = walker_.string(member, draft.method.view, raw);
          if (f == Fault::kNone && raw.find('\\') == std::string_view::npos) {
            draft.method.view = raw.substr(1, raw.size() - 2);
          } else {
            draft.method.unescaped = true;
          }
          return f;
        }
        if (key == "params") {
          return walk_params(member, depth + 1, draft);
        }
        if (key == "result") draft.has_result = true;
        if (key == "error") draft.has_error = true;
        return walker_.skip(member, depth + 1);
      });
  if (fault == Fault::kNone && walker_.take_duplicate()) {
    keep_soft(rpc_error(kInvalidRequest, "Invalid Request: a key is repeated in an object",
                        "mcp_duplicate_key"));
  }
  return fault;
}

RpcError InspectionBuilder::judge(const Draft& draft, Message& out) const {
  RpcError error;
  const bool id_present = draft.id.type != IdValue::Type::kAbsent;
  const bool id_usable =
      draft.id.type == IdValue::Type::kString ||
      (draft.id.type == IdValue::Type::kNumber && detail::is_json_integer(draft.id.raw));
  if (id_usable) error.id_raw = rebase(draft.id.raw);
  auto refuse = [&error](int code, std::string_view message, std::string_view counter) {
    error.code = code;
    error.message = message;
    error.counter = counter;
    return error;
  };

  if (!draft.jsonrpc_seen || !draft.jsonrpc_ok) {
    return refuse(kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"", "mcp_bad_jsonrpc");
  }
  if (id_present && !id_usable &&
      !(draft.id.type == IdValue::Type::kNull && !draft.method_seen && draft.has_error &&
        !draft.has_result)) {
    return refuse(kInvalidRequest, "Invalid Request: id must be a string or an integer",
                  "mcp_bad_id");
  }
  out.raw = rebase(draft.raw);
  out.id_raw = id_usable ? rebase(draft.id.raw) : std::string_view{};
  if (!draft.method_seen) {
    if (draft.has_result == draft.has_error || !id_present) {
      return refuse(kInvalidRequest,
                    "Invalid Request: not a JSON-RPC request, notification or response",
                    "mcp_not_a_message");
    }
    out.kind = MessageKind::kResponse;
    return error;
  }
  if (!draft.method_string || draft.method.view.empty()) {
    return refuse(kInvalidRequest, "Invalid Request: method must be a non-empty string",
                  "mcp_bad_method");
  }
  if (draft.has_result || draft.has_error) {
    return refuse(kInvalidRequest, "Invalid Request: a request cannot carry result or error",
                  "mcp_not_a_message");
  }
  if (draft.params_other) {
    return refuse(kInvalidRequest, "Invalid Request: params must be an object or an array",
                  "mcp_bad_params");
  }
  out.kind = id_present ? MessageKind::kRequest : MessageKind::kNotification;
  out.method = draft.method.view;
  out.name = draft.name.view;
  out.uri = draft.uri.view;
  out.task_id = draft.task_id.view;
  for (const TargetRule& rule : kTargetRules) {
    if (draft.method.view != rule.method) continue;
    const bool resource = rule.target == Target::kResource;
    const bool task = rule.target == Target::kTask;
    const Text& text = resource ? draft.uri : task ? draft.task_id : draft.name;
    const bool seen = resource ? draft.uri_seen : task ? draft.task_id_seen : draft.name_seen;
    // A present member that is not a string leaves `text` empty.
    if (!draft.params_object || !seen || text.view.empty()) {
      return refuse(kInvalidParams, rule.refusal, "mcp_bad_target");
    }
    out.target = rule.target;
    break;
  }
  return error;
}

Inspection InspectionBuilder::finish(Inspection& inspection, std::span<const Draft> drafts) {
  // Strings that needed unescaping move into one buffer the Inspection owns (their views are
  // into simdjson's buffer, reused by the next call on this thread).
  std::size_t total = 0;
  for (const Draft& d : drafts) {
    for (const Text* text : {&d.method, &d.name, &d.uri, &d.task_id}) {
      if (text->unescaped) total += text->view.size();
    }
  }
  auto messages = inspection.batch_ ? std::span<Message>(inspection.elements_)
                                    : std::span<Message>(&inspection.single_, 1);
  if (total > 0) {
    inspection.unescaped_ = std::make_unique<char[]>(total);
    char* at = inspection.unescaped_.get();
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      const Draft& d = drafts[i];
      Message& m = messages[i];
      auto move = [&at](const Text& text, std::string_view& field) {
        if (!text.unescaped || field.empty()) return;
        std::memcpy(at, text.view.data(), text.view.size());
        field = std::string_view(at, text.view.size());
        at += text.view.size();
      };
      move(d.method, m.method);
      move(d.name, m.name);
      move(d.uri, m.uri);
      move(d.task_id, m.task_id);
    }
  }
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    const Draft& d = drafts[i];
    Message& m = messages[i];
    if (!d.method.unescaped) m.method = rebase(m.method);
    if (!d.name.unescaped) m.name = rebase(m.name);
    if (!d.uri.unescaped) m.uri = rebase(m.uri);
    if (!d.task_id.unescaped) m.task_id = rebase(m.task_id);
  }
  return std::move(inspection);
}

Inspection InspectionBuilder::run(document& doc, std::string_view parsed,
                                  std::string_view protocol_version) {
  parsed_ = parsed;
  Inspection inspection;
  auto fail = [&inspection](RpcError error) {
    inspection.error_ = error;
    return std::move(inspection);
  };

  json_type root_type;
  if (doc.type().get(root_type) != simdjson::SUCCESS) return fail(fault_error(Fault::kSyntax));
  if (root_type != json_type::object && root_type != json_type::array) {
    return fail(rpc_error(kInvalidRequest, "Invalid Request: not a JSON-RPC message or batch",
                          "mcp_not_a_message"));
  }
  value root;
  if (doc.get_value().get(root) != simdjson::SUCCESS) return fail(fault_error(Fault::kSyntax));

  if (root_type == json_type::object) {
    Draft draft;
    draft.raw = detail::trim_json_space(parsed);
    if (const Fault fault = walk_message(root, 0, draft); fault != Fault::kNone) {
      return fail(fault_error(fault));
    }
    if (!detail::at_document_end(doc)) return fail(fault_error(Fault::kSyntax));
    const RpcError judged = judge(draft, inspection.single_);
    if (!soft_.ok()) {
      soft_.id_raw = judged.id_raw;
      return fail(soft_);
    }
    if (!judged.ok()) return fail(judged);
    return finish(inspection, {&draft, 1});
  }

  if (!protocol_version.empty() && protocol_version >= kFirstVersionWithoutBatches) {
    return fail(rpc_error(kInvalidRequest,
                          "Invalid Request: batches are not accepted from protocol version "
                          "2025-06-18 on",
                          "mcp_batch_refused"));
  }
  inspection.batch_ = true;
  // Reused per thread, like the parser: the messages' vector is the batch's one allocation.
  thread_local std::vector<Draft> drafts;
  drafts.clear();
  detail::od::array elements;
  if (root.get_array().get(elements) != simdjson::SUCCESS) return fail(fault_error(Fault::kSyntax));
  const Fault fault = walker_.array(elements, 1, [&](value& element) -> Fault {
    json_type type;
    if (element.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::object) {
      keep_soft(rpc_error(kInvalidRequest, "Invalid Request: a batch element is not an object",
                          "mcp_not_a_message"));
      return walker_.skip(element, 1);
    }
    if (drafts.size() == limits_.max_batch) {
      keep_soft(rpc_error(kInvalidRequest, "Invalid Request: batch has too many messages",
                          "mcp_batch_too_large"));
      return walker_.skip(element, 1);
    }
    const std::string_view first_token = element.raw_json_token();
    Draft& draft = drafts.emplace_back();
    if (const Fault f = walk_message(element, 1, draft); f != Fault::kNone) return f;
    draft.raw = detail::walked_value(doc, first_token, parsed);
    return Fault::kNone;
  });
  if (fault != Fault::kNone) return fail(fault_error(fault));
  if (!detail::at_document_end(doc)) return fail(fault_error(Fault::kSyntax));
  if (!soft_.ok()) return fail(soft_);
  if (drafts.empty()) {
    return fail(rpc_error(kInvalidRequest, "Invalid Request: empty batch", "mcp_empty_batch"));
  }

  inspection.elements_.resize(drafts.size());
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    RpcError judged = judge(drafts[i], inspection.elements_[i]);
    if (!judged.ok()) {
      judged.id_raw = {};  // one answer for the whole batch: its id is null
      return fail(judged);
    }
  }
  // Two requests with one id would make their answers (and which one is a list to filter)
  // ambiguous. Ids compare as servers echo them (json_walk.h); batches are small.
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    if (inspection.elements_[i].kind != MessageKind::kRequest) continue;
    for (std::size_t j = i + 1; j < drafts.size(); ++j) {
      if (inspection.elements_[j].kind == MessageKind::kRequest &&
          detail::same_id(drafts[i].id, drafts[j].id)) {
        return fail(rpc_error(kInvalidRequest, "Invalid Request: two requests share an id",
                              "mcp_repeated_id"));
      }
    }
  }
  return finish(inspection, drafts);
}

Inspection inspect_request(JsonBytes body, std::string_view protocol_version,
                           const Limits& limits) {
  if (body.bytes.size() > limits.max_body) {
    return InspectionBuilder::refused(rpc_error(
        kInvalidRequest, "Invalid Request: body larger than mcp.max_body", "mcp_body_too_large"));
  }
  detail::Workspace& ws = detail::workspace();
  detail::od::document doc;
  std::string_view parsed;
  if (detail::start_document(ws, body, doc, parsed) != simdjson::SUCCESS) {
    return InspectionBuilder::refused(fault_error(Fault::kSyntax));
  }
  return InspectionBuilder(ws, limits, body.bytes).run(doc, parsed, protocol_version);
}

}  // namespace tg::mcp
