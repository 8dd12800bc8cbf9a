// The etcd gateway's JSON: writers by hand (the shapes are fixed and small), readers with
// simdjson's DOM (answers are a few hundred bytes, read on a control thread).
#include "relay/cluster/etcd_json.h"

#include <simdjson.h>

#include <array>
#include <charconv>

namespace tg::cluster {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// A JSON string literal of text we wrote ourselves or base64: only the two escapes it needs.
std::string json_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string number_string(std::int64_t value) {
  return "\"" + std::to_string(value) + "\"";
}

// The document a reader walks: the DOM and its parser live as long as the reader.
class Reader {
 public:
  simdjson::error_code parse(std::string_view text) {
    simdjson::padded_string padded(text);
    return parser_.parse(padded).get(root_);
  }
  dom::element root() const { return root_; }

 private:
  dom::parser parser_;
  dom::element root_;
};

Error bad(std::string_view what) {
  return make_error("malformed etcd answer: " + std::string(what));
}

// A 64-bit number as proto3 JSON writes it: a string of digits (a bare number is accepted
// too). An absent field is 0.
bool read_int64(dom::object object, std::string_view name, std::int64_t& out) {
  out = 0;
  dom::element value;
  if (object.at_key(name).get(value) != simdjson::SUCCESS) return true;
  if (value.is_int64()) {
    out = value.get_int64().value_unsafe();
    return true;
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS || text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool read_bool(dom::object object, std::string_view name, bool& out) {
  out = false;
  dom::element value;
  if (object.at_key(name).get(value) != simdjson::SUCCESS) return true;
  return value.get_bool().get(out) == simdjson::SUCCESS;
}

bool read_bytes(dom::object object, std::string_view name, std::string& out) {
  out.clear();
  dom::element value;
  if (object.at_key(name).get(value) != simdjson::SUCCESS) return true;
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  auto decoded = decode_base64(text);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

bool read_string(dom::object object, std::string_view name, std::string& out) {
  out.clear();
  dom::element value;
  if (object.at_key(name).get(value) != simdjson::SUCCESS) return true;
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  out = text;
  return true;
}

bool read_header_revision(dom::object object, std::int64_t& revision) {
  revision = 0;
  dom::object header;
  if (object.at_key("header").get(header) != simdjson::SUCCESS) return false;
  return read_int64(header, "revision", revision);
}

bool read_kv(dom::object object, KeyValue& kv) {
  return read_bytes(object, "key", kv.key) && read_bytes(object, "value", kv.value) &&
         read_int64(object, "create_revision", kv.create_revision) &&
         read_int64(object, "mod_revision", kv.mod_revision) &&
         read_int64(object, "version", kv.version) && read_int64(object, "lease", kv.lease);
}

bool read_kvs(dom::object object, std::vector<KeyValue>& out) {
  dom::element value;
  if (object.at_key("kvs").get(value) != simdjson::SUCCESS) return true;
  dom::array kvs;
  if (value.get_array().get(kvs) != simdjson::SUCCESS) return false;
  for (dom::element item : kvs) {
    dom::object kv_object;
    KeyValue kv;
    if (item.get_object().get(kv_object) != simdjson::SUCCESS || !read_kv(kv_object, kv)) {
      return false;
    }
    out.push_back(std::move(kv));
  }
  return true;
}

// The root object of an answer body, or etcd's own error when it sent one.
Result<dom::object> answer_object(Reader& reader, std::string_view body) {
  if (reader.parse(body) != simdjson::SUCCESS) return bad("not JSON");
  dom::object object;
  if (reader.root().get_object().get(object) != simdjson::SUCCESS) return bad("not an object");
  if (std::string message = parse_error_message(body); !message.empty()) {
    return make_error("etcd: " + message);
  }
  return object;
}

// The "result" object of a stream line.
Result<dom::object> stream_result(Reader& reader, std::string_view line) {
  auto object = answer_object(reader, line);
  if (!object) return object.error();
  dom::object result;
  if (object->at_key("result").get(result) != simdjson::SUCCESS) return bad("no result");
  return result;
}

std::string_view compare_target(Compare::Target target) {
  switch (target) {
    case Compare::Target::kCreateRevision:
      return "CREATE";
    case Compare::Target::kModRevision:
      return "MOD";
    case Compare::Target::kValue:
      return "VALUE";
  }
  return "CREATE";
}

std::string encode_op(const TxnOp& op) {
  switch (op.kind) {
    case TxnOp::Kind::kPut:
      return "{\"request_put\":" + encode_put(op.key, op.value, op.lease) + "}";
    case TxnOp::Kind::kRange:
      return "{\"request_range\":" + encode_range(op.key) + "}";
    case TxnOp::Kind::kDelete:
      return "{\"request_delete_range\":" + encode_range(op.key) + "}";
  }
  return "{}";
}

std::string encode_ops(const std::vector<TxnOp>& ops) {
  std::string out = "[";
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (i != 0) out += ',';
    out += encode_op(ops[i]);
  }
  return out + "]";
}

}  // namespace

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                            static_cast<std::uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::array<int, 256> value{};
  value.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    value[static_cast<std::uint8_t>(kAlphabet[i])] = static_cast<int>(i);
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t n = 0;
    const bool last = i + 4 == text.size();
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int digit = value[static_cast<std::uint8_t>(c)];
      if (c == '=' && last && j >= 4 - padding) digit = 0;
      if (digit < 0) return std::nullopt;
      n = (n << 6) | static_cast<std::uint32_t>(digit);
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (!last || padding < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (!last || padding < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<std::uint8_t>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<std::uint8_t>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string encode_txn(const TxnRequest& txn) {
  std::string out = "{\"compare\":[";
  for (std::size_t i = 0; i < txn.compare.size(); ++i) {
    const Compare& compare = txn.compare[i];
    if (i != 0) out += ',';
    out += "{\"key\":" + json_quoted(encode_base64(compare.key)) +
           ",\"result\":\"EQUAL\",\"target\":\"";
    out += compare_target(compare.target);
    out += "\",";
    switch (compare.target) {
      case Compare::Target::kCreateRevision:
        out += "\"create_revision\":" + number_string(compare.revision);
        break;
      case Compare::Target::kModRevision:
        out += "\"mod_revision\":" + number_string(compare.revision);
        break;
      case Compare::Target::kValue:
        out += "\"value\":" + json_quoted(encode_base64(compare.value));
        break;
    }
    out += '}';
  }
  out += "],\"success\":" + encode_ops(txn.success) + ",\"failure\":" + encode_ops(txn.failure);
  return out + "}";
}

std::string encode_lease_grant(std::int64_t ttl_seconds) {
  return "{\"TTL\":" + number_string(ttl_seconds) + "}";
}

std::string encode_lease_id(std::int64_t lease) {
  return "{\"ID\":" + number_string(lease) + "}";
}

std::string encode_range(std::string_view key, std::string_view range_end) {
  std::string out = "{\"key\":" + json_quoted(encode_base64(key));
  if (!range_end.empty()) out += ",\"range_end\":" + json_quoted(encode_base64(range_end));
  return out + "}";
}

std::string encode_put(std::string_view key, std::string_view value, std::int64_t lease) {
  std::string out = "{\"key\":" + json_quoted(encode_base64(key)) +
                    ",\"value\":" + json_quoted(encode_base64(value));
  if (lease != 0) out += ",\"lease\":" + number_string(lease);
  return out + "}";
}

std::string encode_watch_create(std::string_view key, std::string_view range_end,
                                std::int64_t start_revision) {
  std::string out = "{\"create_request\":{\"key\":" + json_quoted(encode_base64(key));
  if (!range_end.empty()) out += ",\"range_end\":" + json_quoted(encode_base64(range_end));
  if (start_revision > 0) out += ",\"start_revision\":" + number_string(start_revision);
  return out + "}}";
}

std::string parse_error_message(std::string_view body) {
  Reader reader;
  if (reader.parse(body) != simdjson::SUCCESS) return "";
  dom::object object;
  if (reader.root().get_object().get(object) != simdjson::SUCCESS) return "";
  dom::element error;
  if (object.at_key("error").get(error) != simdjson::SUCCESS) return "";
  std::string message;
  dom::object nested;
  if (error.get_object().get(nested) == simdjson::SUCCESS) {
    if (!read_string(nested, "message", message)) return "malformed error";
  } else if (!read_string(object, "message", message) || message.empty()) {
    if (!read_string(object, "error", message)) return "malformed error";
  }
  return message.empty() ? "unspecified error" : message;
}

Result<LeaseAnswer> parse_lease_grant(std::string_view body) {
  Reader reader;
  auto object = answer_object(reader, body);
  if (!object) return object.error();
  LeaseAnswer answer;
  if (!read_header_revision(*object, answer.revision) || !read_int64(*object, "ID", answer.id) ||
      !read_int64(*object, "TTL", answer.ttl)) {
    return bad("lease grant");
  }
  if (answer.id == 0 || answer.ttl <= 0) return bad("lease grant without ID or TTL");
  return answer;
}

Result<LeaseAnswer> parse_lease_keepalive(std::string_view line) {
  Reader reader;
  auto result = stream_result(reader, line);
  if (!result) return result.error();
  LeaseAnswer answer;
  if (!read_header_revision(*result, answer.revision) || !read_int64(*result, "ID", answer.id) ||
      !read_int64(*result, "TTL", answer.ttl) || answer.ttl < 0) {
    return bad("lease keepalive");
  }
  return answer;
}

Result<RangeAnswer> parse_range(std::string_view body) {
  Reader reader;
  auto object = answer_object(reader, body);
  if (!object) return object.error();
  RangeAnswer answer;
  if (!read_header_revision(*object, answer.revision) || !read_kvs(*object, answer.kvs) ||
      !read_int64(*object, "count", answer.count) || !read_bool(*object, "more", answer.more)) {
    return bad("range");
  }
  return answer;
}

Result<TxnAnswer> parse_txn(std::string_view body) {
  Reader reader;
  auto object = answer_object(reader, body);
  if (!object) return object.error();
  TxnAnswer answer;
  if (!read_header_revision(*object, answer.revision) ||
      !read_bool(*object, "succeeded", answer.succeeded)) {
    return bad("txn");
  }
  dom::element responses_value;
  if (object->at_key("responses").get(responses_value) != simdjson::SUCCESS) return answer;
  dom::array responses;
  if (responses_value.get_array().get(responses) != simdjson::SUCCESS) return bad("txn responses");
  for (dom::element response : responses) {
    dom::object op;
    if (response.get_object().get(op) != simdjson::SUCCESS) return bad("txn response");
    dom::object range;
    if (op.at_key("response_range").get(range) == simdjson::SUCCESS &&
        !read_kvs(range, answer.kvs)) {
      return bad("txn range");
    }
  }
  return answer;
}

Result<DeleteAnswer> parse_delete(std::string_view body) {
  Reader reader;
  auto object = answer_object(reader, body);
  if (!object) return object.error();
  DeleteAnswer answer;
  if (!read_header_revision(*object, answer.revision) ||
      !read_int64(*object, "deleted", answer.deleted)) {
    return bad("delete");
  }
  return answer;
}

Result<std::int64_t> parse_header_revision(std::string_view body) {
  Reader reader;
  auto object = answer_object(reader, body);
  if (!object) return object.error();
  std::int64_t revision = 0;
  if (!read_header_revision(*object, revision)) return bad("header");
  return revision;
}

Result<WatchMessage> parse_watch_line(std::string_view line) {
  Reader reader;
  auto result = stream_result(reader, line);
  if (!result) return result.error();
  WatchMessage message;
  if (!read_header_revision(*result, message.revision) ||
      !read_bool(*result, "created", message.created) ||
      !read_bool(*result, "canceled", message.canceled) ||
      !read_int64(*result, "compact_revision", message.compact_revision) ||
      !read_string(*result, "cancel_reason", message.cancel_reason)) {
    return bad("watch");
  }
  dom::element events_value;
  if (result->at_key("events").get(events_value) != simdjson::SUCCESS) return message;
  dom::array events;
  if (events_value.get_array().get(events) != simdjson::SUCCESS) return bad("watch events");
  for (dom::element item : events) {
    dom::object event_object;
    dom::object kv_object;
    WatchEvent event;
    std::string type;
    if (item.get_object().get(event_object) != simdjson::SUCCESS ||
        !read_string(event_object, "type", type) ||
        event_object.at_key("kv").get(kv_object) != simdjson::SUCCESS ||
        !read_kv(kv_object, event.kv)) {
      return bad("watch event");
    }
    if (type == "DELETE") {
      event.type = WatchEvent::Type::kDelete;
    } else if (type.empty() || type == "PUT") {
      event.type = WatchEvent::Type::kPut;
    } else {
      return bad("watch event type");
    }
    message.events.push_back(std::move(event));
  }
  return message;
}

}  // namespace tg::cluster
