// Filtering list responses (list_filter.h): one checking walk over the response records where
// each list entry starts and ends and what it is called; then the output is the input with a
// few byte ranges replaced: each filtered list by `[` and its kept entries (each with the
// whitespace that preceded it, so pretty-printed JSON stays pretty), each refused response by
// an error response.
#include "relay/mcp/list_filter.h"

#include <algorithm>
#include <cstring>

#include "relay/mcp/json_walk.h"

namespace tg::mcp {

namespace {

using detail::Fault;
using detail::IdValue;
using detail::od::document;
using detail::od::json_type;
using detail::od::object;
using detail::od::value;

// Tool input schemas nest; deeper than requests may, still far from the stack's limits.
constexpr std::size_t kMaxResponseDepth = 128;

constexpr std::string_view kRefusal = "Internal error: the relay could not filter this list";

std::optional<ListKind> kind_of_key(std::string_view key) {
  if (key == "tools") return ListKind::kTools;
  if (key == "prompts") return ListKind::kPrompts;
  if (key == "resources") return ListKind::kResources;
  if (key == "tasks") return ListKind::kTasks;
  return std::nullopt;
}

struct Entry {
  std::string_view bytes;   // the entry's JSON text
  std::string_view name;    // name (uri for resources), unescaped
  std::string_view schema;  // a tool's inputSchema text ("" without one)
  bool judgeable = false;   // an object with exactly one string name
};

struct List {
  ListKind kind = ListKind::kTools;
  bool malformed = false;  // the member is not an array
  const char* open = nullptr;
  std::vector<Entry> entries;
};

struct Edit {
  const char* begin;
  const char* end;
  std::string text;
};

}  // namespace

std::optional<ListKind> list_kind_of(std::string_view method) {
  if (method == "tools/list") return ListKind::kTools;
  if (method == "prompts/list") return ListKind::kPrompts;
  if (method == "resources/list") return ListKind::kResources;
  if (method == "tasks/list") return ListKind::kTasks;
  return std::nullopt;
}

PendingLists PendingLists::any() {
  PendingLists pending;
  pending.any_ = true;
  return pending;
}

bool PendingLists::add(const Message& request) {
  if (request.kind != MessageKind::kRequest) return false;
  const std::optional<ListKind> kind = list_kind_of(request.method);
  return kind.has_value() && add(request.id_raw, *kind);
}

bool PendingLists::add(std::string_view id_raw, ListKind kind) {
  const std::string_view token = detail::trim_json_space(id_raw);
  Entry entry{kind, false, 0, {}};
  if (detail::is_json_number(token)) {
    if (!detail::parse_number(token, entry.number)) return false;
    entry.numeric = true;
  } else if (!token.empty() && token.front() == '"') {
    detail::Workspace& ws = detail::workspace();
    detail::od::document doc;
    std::string_view parsed;
    std::string_view text;
    if (detail::start_document(ws, token, doc, parsed) != simdjson::SUCCESS ||
        doc.get_string().get(text) != simdjson::SUCCESS) {
      return false;
    }
    entry.text.assign(text);
  } else {
    return false;
  }
  entries_.push_back(std::move(entry));
  return true;
}

// Which lists of a response to filter (a friend of PendingLists).
class PendingMatcher {
 public:
  explicit PendingMatcher(PendingLists& pending) : pending_(pending) {}

  /// Finds the pending entry answered by a response with `id` (taken for good by commit());
  /// says which kind of list it asked for. With any(), every kind (or the one it was made for).
  bool match(const IdValue& id, ListKind& kind, bool& every_kind) {
    every_kind = false;
    if (pending_.any_) {
      every_kind = !pending_.any_kind_.has_value();
      if (pending_.any_kind_) kind = *pending_.any_kind_;
      return true;
    }
    const auto& entries = pending_.entries_;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const PendingLists::Entry& e = entries[i];
      const bool same = e.numeric ? id.type == IdValue::Type::kNumber && id.number == e.number
                                  : id.type == IdValue::Type::kString && id.text == e.text;
      if (!same || std::find(taken_.begin(), taken_.end(), i) != taken_.end()) continue;
      kind = e.kind;
      taken_.push_back(i);
      return true;
    }
    return false;
  }

  /// The text was read to its end: the entries it answered are no longer pending. (A text
  /// found unreadable later answers nothing, so the same stream filters alike however often
  /// it passes through.)
  void commit() {
    std::sort(taken_.begin(), taken_.end());
    for (auto it = taken_.rbegin(); it != taken_.rend(); ++it) {
      pending_.entries_.erase(pending_.entries_.begin() + static_cast<std::ptrdiff_t>(*it));
    }
    taken_.clear();
  }

  static PendingLists only(ListKind kind) {
    PendingLists pending = PendingLists::any();
    pending.any_kind_ = kind;
    return pending;
  }

 private:
  PendingLists& pending_;
  std::vector<std::size_t> taken_;
};

namespace {

class Rewriter {
 public:
  Rewriter(detail::Workspace& ws, PendingLists& pending, NameFilter allow)
      : walker_(ws, kMaxResponseDepth), matcher_(pending), allow_(allow) {}

  ListRewrite run(document& doc, std::string_view parsed);

 private:
  Fault response(value& message, std::size_t depth, std::string_view bytes_first_token);
  Fault list(value& member, ListKind kind, std::size_t depth);
  Fault entry(value& element, ListKind kind, std::size_t depth, Entry& out);
  void decide(std::string_view bytes, const IdValue& id, bool duplicate);
  void filter(const List& list);

  detail::Walker walker_;
  PendingMatcher matcher_;
  NameFilter allow_;
  document* doc_ = nullptr;
  std::string_view parsed_;
  std::vector<List> lists_;  // of the response being walked
  std::vector<Edit> edits_;
  ListRewrite result_;
};

Fault Rewriter::entry(value& element, ListKind kind, std::size_t depth, Entry& out) {
  json_type type;
  if (element.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
  if (type != json_type::object) return walker_.skip(element, depth);
  object members;
  if (element.get_object().get(members) != simdjson::SUCCESS) return Fault::kSyntax;
  const std::string_view name_key = kind == ListKind::kResources ? "uri"
                                    : kind == ListKind::kTasks   ? "taskId"
                                                                 : "name";
  int names = 0;
  bool name_is_string = false;
  const bool repeated_before = walker_.take_duplicate();
  const Fault fault = walker_.object(members, depth + 1, [&](std::string_view key, value& v) {
    if (kind == ListKind::kTools && key == "inputSchema") {
      const std::string_view first_token = v.raw_json_token();
      const Fault skipped = walker_.skip(v, depth + 1);
      if (skipped == Fault::kNone) out.schema = detail::walked_value(*doc_, first_token, parsed_);
      return skipped;
    }
    if (key != name_key) return walker_.skip(v, depth + 1);
    ++names;
    json_type t;
    if (v.type().get(t) != simdjson::SUCCESS) return Fault::kSyntax;
    if (t != json_type::string) return walker_.skip(v, depth + 1);
    name_is_string = true;
    std::string_view raw;
    return walker_.string(v, out.name, raw);
  });
  // A key repeated inside an entry matters only if it is the name, judged here; repeats
  // elsewhere in it (its schema, say) are the client's to read as it likes.
  walker_.take_duplicate();
  walker_.restore_duplicate(repeated_before);
  out.judgeable = names == 1 && name_is_string;
  return fault;
}

Fault Rewriter::list(value& member, ListKind kind, std::size_t depth) {
  List& list = lists_.emplace_back();
  list.kind = kind;
  json_type type;
  if (member.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
  if (type != json_type::array) {
    list.malformed = true;
    return walker_.skip(member, depth);
  }
  list.open = member.raw_json_token().data();
  detail::od::array elements;
  if (member.get_array().get(elements) != simdjson::SUCCESS) return Fault::kSyntax;
  // `list` stays valid: nothing is added to lists_ while its elements are walked.
  return walker_.array(elements, depth + 1, [&](value& element) {
    const std::string_view first_token = element.raw_json_token();
    Entry walked;
    const Fault fault = entry(element, kind, depth + 1, walked);
    walked.bytes = detail::walked_value(*doc_, first_token, parsed_);
    list.entries.push_back(walked);
    return fault;
  });
}

Fault Rewriter::response(value& message, std::size_t depth, std::string_view bytes_first_token) {
  lists_.clear();
  walker_.take_duplicate();
  json_type type;
  if (message.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
  if (type != json_type::object) return walker_.skip(message, depth);
  object members;
  if (message.get_object().get(members) != simdjson::SUCCESS) return Fault::kSyntax;
  IdValue id;
  bool has_result = false;
  bool has_error = false;
  const Fault fault =
      walker_.object(members, depth + 1, [&](std::string_view key, value& member) -> Fault {
        if (key == "id") return walker_.id(member, depth + 1, id);
        if (key == "error") has_error = true;
        if (key != "result") return walker_.skip(member, depth + 1);
        has_result = true;
        json_type t;
        if (member.type().get(t) != simdjson::SUCCESS) return Fault::kSyntax;
        if (t != json_type::object) return walker_.skip(member, depth + 1);
        object result;
        if (member.get_object().get(result) != simdjson::SUCCESS) return Fault::kSyntax;
        return walker_.object(result, depth + 2, [&](std::string_view k, value& v) {
          const std::optional<ListKind> kind = kind_of_key(k);
          return kind ? list(v, *kind, depth + 2) : walker_.skip(v, depth + 2);
        });
      });
  if (fault != Fault::kNone) return fault;
  if (!has_result && !has_error) return Fault::kNone;  // not a response
  const std::string_view bytes = depth == 0
                                     ? detail::trim_json_space(parsed_)
                                     : detail::walked_value(*doc_, bytes_first_token, parsed_);
  decide(bytes, id, walker_.take_duplicate());
  return Fault::kNone;
}

void Rewriter::decide(std::string_view bytes, const IdValue& id, bool duplicate) {
  ListKind kind = ListKind::kTools;
  bool every_kind = false;
  if (!matcher_.match(id, kind, every_kind)) return;
  bool found = false;
  bool malformed = false;
  for (const List& list : lists_) {
    if (!every_kind && list.kind != kind) continue;
    found = true;
    malformed = malformed || list.malformed;
  }
  if (!found) return;  // an error answer, or a result without the list: nothing to hide
  ++result_.lists_filtered;
  if (duplicate || malformed) {
    const bool usable_id = id.type == IdValue::Type::kString || id.type == IdValue::Type::kNumber;
    edits_.push_back(
        {bytes.data(), bytes.data() + bytes.size(),
         make_jsonrpc_error(usable_id ? id.raw : std::string_view{}, kInternalError, kRefusal)});
    ++result_.responses_refused;
    return;
  }
  for (const List& list : lists_) {
    if (every_kind || list.kind == kind) filter(list);
  }
}

void Rewriter::filter(const List& list) {
  if (list.entries.empty()) return;
  std::vector<bool> keep(list.entries.size());
  std::size_t kept = 0;
  for (std::size_t i = 0; i < list.entries.size(); ++i) {
    const Entry& e = list.entries[i];
    keep[i] = e.judgeable && allow_(list.kind, e.name);
    if (e.judgeable && list.kind == ListKind::kTools) allow_.tool_schema(e.name, e.schema);
    kept += keep[i] ? 1 : 0;
  }
  result_.entries_kept += kept;
  result_.entries_removed += list.entries.size() - kept;
  if (kept == list.entries.size()) return;

  const char* end = list.entries.back().bytes.data() + list.entries.back().bytes.size();
  std::string text = "[";
  bool first = true;
  for (std::size_t i = 0; i < list.entries.size(); ++i) {
    if (!keep[i]) continue;
    // From just after the `[` or `,` before this entry: its leading whitespace comes along.
    const char* lead = list.entries[i].bytes.data();
    while (lead > list.open + 1 && lead[-1] != ',' && lead[-1] != '[') --lead;
    const char* entry_end = list.entries[i].bytes.data() + list.entries[i].bytes.size();
    if (!first) text += ',';
    text.append(lead, entry_end);
    first = false;
  }
  edits_.push_back({list.open, end, std::move(text)});
}

ListRewrite Rewriter::run(document& doc, std::string_view parsed) {
  doc_ = &doc;
  parsed_ = parsed;
  json_type root_type;
  if (doc.type().get(root_type) != simdjson::SUCCESS) {
    result_.outcome = ListRewrite::Outcome::kUnreadable;
    return std::move(result_);
  }
  Fault fault = Fault::kNone;
  if (root_type == json_type::object || root_type == json_type::array) {
    value root;
    if (doc.get_value().get(root) != simdjson::SUCCESS) {
      fault = Fault::kSyntax;
    } else if (root_type == json_type::object) {
      fault = response(root, 0, {});
    } else {
      detail::od::array elements;
      fault = root.get_array().get(elements) != simdjson::SUCCESS
                  ? Fault::kSyntax
                  : walker_.array(elements, 1, [&](value& element) {
                      return response(element, 1, element.raw_json_token());
                    });
    }
    if (fault == Fault::kNone && !detail::at_document_end(doc)) fault = Fault::kSyntax;
  }
  if (fault != Fault::kNone) {
    result_ = ListRewrite{};
    result_.outcome = ListRewrite::Outcome::kUnreadable;
    return std::move(result_);
  }
  matcher_.commit();
  if (edits_.empty()) return std::move(result_);

  result_.outcome = ListRewrite::Outcome::kRewritten;
  std::string& out = result_.json;
  out.reserve(parsed.size());
  const char* cursor = parsed.data();
  for (const Edit& edit : edits_) {
    out.append(cursor, edit.begin);
    out += edit.text;
    cursor = edit.end;
  }
  out.append(cursor, parsed.data() + parsed.size());
  return std::move(result_);
}

ListRewrite rewrite(JsonBytes json, PendingLists& pending, NameFilter allow,
                    std::size_t max_bytes) {
  if (json.bytes.size() > max_bytes) {
    ListRewrite too_large;
    too_large.outcome = ListRewrite::Outcome::kTooLarge;
    return too_large;
  }
  detail::Workspace& ws = detail::workspace();
  document doc;
  std::string_view parsed;
  if (detail::start_document(ws, json, doc, parsed) != simdjson::SUCCESS) {
    ListRewrite unreadable;
    unreadable.outcome = ListRewrite::Outcome::kUnreadable;
    return unreadable;
  }
  return Rewriter(ws, pending, allow).run(doc, parsed);
}

}  // namespace

ListRewrite filter_list_result(JsonBytes response_json, ListKind kind, NameFilter allow,
                               std::size_t max_bytes) {
  PendingLists pending = PendingMatcher::only(kind);
  return rewrite(response_json, pending, allow, max_bytes);
}

ListRewrite filter_list_response(JsonBytes response_json, PendingLists& pending, NameFilter allow,
                                 std::size_t max_bytes) {
  return rewrite(response_json, pending, allow, max_bytes);
}

}  // namespace tg::mcp
