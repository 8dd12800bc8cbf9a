// The per-thread simdjson workspace and the checking walker (see json_walk.h).
#include "relay/mcp/json_walk.h"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace tg::mcp {

JsonBytes padded(std::string& buffer) {
  buffer.reserve(buffer.size() + kJsonPadding);
  return JsonBytes(buffer, buffer.capacity());
}

}  // namespace tg::mcp

namespace tg::mcp::detail {

namespace {

// Objects with more keys than this are checked for repeats by sorting a copy of their keys;
// smaller ones pairwise, which is faster for the few keys JSON-RPC objects have.
constexpr std::size_t kPairwiseKeys = 16;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::size_t skip_digits(std::string_view text, std::size_t at) {
  while (at < text.size() && is_digit(text[at])) ++at;
  return at;
}

}  // namespace

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

simdjson::error_code start_document(Workspace& ws, JsonBytes input, od::document& doc,
                                    std::string_view& parsed) {
  if (input.in_place()) {
    parsed = input.bytes;
    return ws.parser.iterate(input.bytes.data(), input.bytes.size(), input.readable).get(doc);
  }
  ws.copy.assign(input.bytes);
  ws.copy.reserve(input.bytes.size() + kJsonPadding);
  parsed = ws.copy;
  return ws.parser.iterate(ws.copy.data(), ws.copy.size(), ws.copy.capacity()).get(doc);
}

std::string_view trim_json_space_right(std::string_view text) {
  while (!text.empty() && is_json_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view trim_json_space(std::string_view text) {
  while (!text.empty() && is_json_space(text.front())) text.remove_prefix(1);
  return trim_json_space_right(text);
}

bool is_json_number(std::string_view token) {
  std::size_t at = 0;
  if (at < token.size() && token[at] == '-') ++at;
  if (at >= token.size()) return false;
  if (token[at] == '0') {
    ++at;
  } else if (is_digit(token[at])) {
    at = skip_digits(token, at);
  } else {
    return false;
  }
  if (at < token.size() && token[at] == '.') {
    const std::size_t digits = ++at;
    at = skip_digits(token, at);
    if (at == digits) return false;
  }
  if (at < token.size() && (token[at] == 'e' || token[at] == 'E')) {
    ++at;
    if (at < token.size() && (token[at] == '+' || token[at] == '-')) ++at;
    const std::size_t digits = at;
    at = skip_digits(token, at);
    if (at == digits) return false;
  }
  return at == token.size();
}

bool is_json_integer(std::string_view token) {
  return is_json_number(token) && token.find_first_of(".eE") == std::string_view::npos;
}

bool parse_number(std::string_view token, double& out) {
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), out);
  return error == std::errc() && end == token.data() + token.size();
}

bool same_id(const IdValue& a, const IdValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case IdValue::Type::kString:
      return a.text == b.text;
    case IdValue::Type::kNumber:
      return a.number == b.number;
    default:
      return false;
  }
}

Fault Walker::string(od::value& value, std::string_view& out, std::string_view& raw) {
  raw = trim_json_space_right(value.raw_json_token());
  return value.get_string().get(out) == simdjson::SUCCESS ? Fault::kNone : Fault::kSyntax;
}

Fault Walker::skip(od::value& value, std::size_t depth) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) return Fault::kSyntax;
      return this->object(object, depth + 1, [this, depth](std::string_view, od::value& member) {
        return skip(member, depth + 1);
      });
    }
    case od::json_type::array: {
      od::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) return Fault::kSyntax;
      return this->array(array, depth + 1,
                         [this, depth](od::value& element) { return skip(element, depth + 1); });
    }
    case od::json_type::string: {
      std::string_view text;
      return value.get_string().get(text) == simdjson::SUCCESS ? Fault::kNone : Fault::kSyntax;
    }
    case od::json_type::number:
      return is_json_number(trim_json_space_right(value.raw_json_token())) ? Fault::kNone
                                                                           : Fault::kSyntax;
    case od::json_type::boolean: {
      const std::string_view token = trim_json_space_right(value.raw_json_token());
      return token == "true" || token == "false" ? Fault::kNone : Fault::kSyntax;
    }
    case od::json_type::null:
      return trim_json_space_right(value.raw_json_token()) == "null" ? Fault::kNone
                                                                     : Fault::kSyntax;
  }
  return Fault::kSyntax;
}

Fault Walker::id(od::value& value, std::size_t depth, IdValue& out) {
  out = IdValue{};
  out.raw = trim_json_space_right(value.raw_json_token());
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
  switch (type) {
    case od::json_type::string:
      out.type = IdValue::Type::kString;
      return value.get_string().get(out.text) == simdjson::SUCCESS ? Fault::kNone : Fault::kSyntax;
    case od::json_type::number:
      if (!is_json_number(out.raw)) return Fault::kSyntax;
      // An integer too large for a double still has a value JavaScript would echo; a number
      // out of range has none (it never matches).
      out.type = parse_number(out.raw, out.number) ? IdValue::Type::kNumber : IdValue::Type::kOther;
      return Fault::kNone;
    case od::json_type::null:
      out.type = IdValue::Type::kNull;
      return skip(value, depth);
    default:
      out.type = IdValue::Type::kOther;
      return skip(value, depth);
  }
}

void Walker::note_duplicates(std::size_t first_key) {
  const auto begin = keys_.begin() + static_cast<std::ptrdiff_t>(first_key);
  const auto end = keys_.end();
  const std::size_t count = keys_.size() - first_key;
  if (count < 2) return;
  if (count <= kPairwiseKeys) {
    for (auto a = begin; a != end; ++a) {
      for (auto b = a + 1; b != end; ++b) {
        if (*a == *b) {
          duplicate_ = true;
          return;
        }
      }
    }
    return;
  }
  // The keys are popped right after this check, so they may be reordered in place.
  std::sort(begin, end);
  if (std::adjacent_find(begin, end) != end) duplicate_ = true;
}

std::string_view walked_value(od::document& doc, std::string_view first_token,
                              std::string_view parsed) {
  const char* begin = first_token.data();
  const char* parsed_end = parsed.data() + parsed.size();
  if (first_token.empty() || (first_token.front() != '{' && first_token.front() != '[')) {
    return trim_json_space_right(first_token);
  }
  const char* next = nullptr;
  if (doc.current_location().get(next) != simdjson::SUCCESS || next < begin || next > parsed_end) {
    next = parsed_end;
  }
  return trim_json_space_right(std::string_view(begin, static_cast<std::size_t>(next - begin)));
}

bool at_document_end(od::document& doc) {
  const char* next = nullptr;
  // current_location answers OUT_OF_BOUNDS once every token has been read.
  return doc.current_location().get(next) == simdjson::OUT_OF_BOUNDS;
}

}  // namespace tg::mcp::detail
