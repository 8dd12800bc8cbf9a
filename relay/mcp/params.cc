// Mcp-Param-* (params.h): scanning a tool's inputSchema for `x-mcp-header`, and the server's
// check of the headers against a tools/call's arguments. Both walk their text with the
// checking walker (json_walk.h), so a text the relay reads is valid JSON with no repeated key.
#include "relay/mcp/params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "relay/mcp/json_walk.h"

namespace tg::mcp {

namespace {

using detail::Fault;
using detail::od::json_type;
using detail::od::object;
using detail::od::value;

constexpr std::size_t kMaxSchemaDepth = 64;
constexpr std::string_view kKey = "x-mcp-header";

// Subschemas that are not reached through `properties` alone: an annotation under one of
// these makes the schema invalid (the SDK's NON_REACHABLE_SUBSCHEMA_KEYWORDS).
bool unreachable_keyword(std::string_view key) {
  static constexpr std::string_view kKeywords[] = {"items",
                                                   "prefixItems",
                                                   "contains",
                                                   "additionalProperties",
                                                   "unevaluatedProperties",
                                                   "unevaluatedItems",
                                                   "propertyNames",
                                                   "patternProperties",
                                                   "dependentSchemas",
                                                   "oneOf",
                                                   "anyOf",
                                                   "allOf",
                                                   "not",
                                                   "if",
                                                   "then",
                                                   "else",
                                                   "$defs",
                                                   "definitions"};
  return std::find(std::begin(kKeywords), std::end(kKeywords), key) != std::end(kKeywords);
}

// Keywords whose value maps names to subschemas.
bool object_valued_keyword(std::string_view key) {
  return key == "patternProperties" || key == "dependentSchemas" || key == "$defs" ||
         key == "definitions";
}

// RFC 9110 tchar.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

class SchemaScanner {
 public:
  explicit SchemaScanner(detail::Workspace& ws) : walker_(ws, kMaxSchemaDepth) {}

  Fault node(value& schema, std::size_t depth, bool reachable) {
    json_type type;
    if (schema.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::object) return walker_.skip(schema, depth);
    object members;
    if (schema.get_object().get(members) != simdjson::SUCCESS) return Fault::kSyntax;
    bool annotated = false;
    bool header_is_string = false;
    std::string header;
    std::optional<std::string> type_name;
    const Fault fault =
        walker_.object(members, depth + 1, [&](std::string_view key, value& member) -> Fault {
          if (key == kKey) {
            annotated = true;
            return string_member(member, depth + 1, header_is_string, header);
          }
          if (key == "type") {
            bool is_string = false;
            std::string text;
            const Fault f = string_member(member, depth + 1, is_string, text);
            if (is_string) type_name = std::move(text);
            return f;
          }
          if (key == "properties") return properties(member, depth + 1, reachable);
          if (unreachable_keyword(key)) return branches(member, depth + 1, key);
          return walker_.skip(member, depth + 1);
        });
    if (fault != Fault::kNone || !annotated) return fault;
    declare(reachable, header_is_string, std::move(header), type_name);
    return Fault::kNone;
  }

  ParamScan finish(bool repeated_key) {
    ParamScan scan;
    if (repeated_key || too_big_) {
      scan.outcome = ParamScan::Outcome::kUnreadable;
    } else if (invalid_ || declarations_.empty()) {
      scan.outcome = ParamScan::Outcome::kNone;
    } else {
      scan.outcome = ParamScan::Outcome::kDeclared;
      scan.declarations = std::move(declarations_);
    }
    return scan;
  }

  detail::Walker& walker() { return walker_; }

 private:
  Fault string_member(value& member, std::size_t depth, bool& is_string, std::string& out) {
    json_type t;
    if (member.type().get(t) != simdjson::SUCCESS) return Fault::kSyntax;
    if (t != json_type::string) return walker_.skip(member, depth);
    std::string_view text;
    std::string_view raw;
    const Fault fault = walker_.string(member, text, raw);
    is_string = true;
    out.assign(text);  // copied at once: the unescaping buffer is reused
    return fault;
  }

  Fault properties(value& member, std::size_t depth, bool reachable) {
    json_type t;
    if (member.type().get(t) != simdjson::SUCCESS) return Fault::kSyntax;
    if (t != json_type::object) return walker_.skip(member, depth);
    object children;
    if (member.get_object().get(children) != simdjson::SUCCESS) return Fault::kSyntax;
    return walker_.object(children, depth + 1, [&](std::string_view key, value& child) -> Fault {
      path_.emplace_back(key);
      const Fault fault = node(child, depth + 1, reachable);
      path_.pop_back();
      return fault;
    });
  }

  Fault branches(value& member, std::size_t depth, std::string_view keyword) {
    json_type t;
    if (member.type().get(t) != simdjson::SUCCESS) return Fault::kSyntax;
    path_.emplace_back("<>");  // never a declaration's path: it is unreachable
    Fault fault = Fault::kNone;
    if (t == json_type::array) {
      detail::od::array elements;
      if (member.get_array().get(elements) != simdjson::SUCCESS) return Fault::kSyntax;
      fault = walker_.array(elements, depth + 1,
                            [&](value& element) { return node(element, depth + 1, false); });
    } else if (t == json_type::object && object_valued_keyword(keyword)) {
      object named;
      if (member.get_object().get(named) != simdjson::SUCCESS) return Fault::kSyntax;
      fault = walker_.object(named, depth + 1, [&](std::string_view, value& sub) {
        return node(sub, depth + 1, false);
      });
    } else {
      fault = node(member, depth, false);
    }
    path_.pop_back();
    return fault;
  }

  void declare(bool reachable, bool header_is_string, std::string header,
               const std::optional<std::string>& type_name) {
    if (!reachable || path_.empty() || !header_is_string || !is_token(header)) {
      invalid_ = true;
      return;
    }
    ParamType type = ParamType::kString;
    if (type_name == "string") {
      type = ParamType::kString;
    } else if (type_name == "integer") {
      type = ParamType::kInteger;
    } else if (type_name == "boolean") {
      type = ParamType::kBoolean;
    } else if (type_name == "number") {
      type = ParamType::kNumber;  // invalid for clients, still checked by servers
    } else {
      invalid_ = true;
      return;
    }
    for (const ParamDeclaration& d : declarations_) {
      if (iequal(d.header, header)) {
        invalid_ = true;
        return;
      }
    }
    if (declarations_.size() >= kMaxParamDeclarations || path_.size() > kMaxParamPath ||
        header.size() > kMaxParamNameBytes ||
        std::any_of(path_.begin(), path_.end(),
                    [](const std::string& p) { return p.size() > kMaxParamNameBytes; })) {
      too_big_ = true;
      return;
    }
    declarations_.push_back({std::move(header), path_, type});
  }

  detail::Walker walker_;
  std::vector<std::string> path_;
  std::vector<ParamDeclaration> declarations_;
  bool invalid_ = false;
  bool too_big_ = false;
};

// The body's value at one declaration's path, as the text a client mirrors.
struct BodyValue {
  enum class Kind : std::uint8_t { kAbsent, kString, kBoolean, kNumber };
  Kind kind = Kind::kAbsent;
  std::string text;  // the string, "true"/"false", or String(number)
  double number = 0;
};

// Walks message → params → arguments, reading the values at every declaration's path.
class ArgumentReader {
 public:
  ArgumentReader(detail::Workspace& ws, std::span<const ParamDeclaration> declarations,
                 std::vector<BodyValue>& out)
      : walker_(ws, kMaxSchemaDepth + 4), declarations_(declarations), out_(out) {}

  Fault message(value& root) {
    return members(root, 0, [&](std::string_view key, value& params) -> Fault {
      if (key != "params") return walker_.skip(params, 1);
      return members(params, 1, [&](std::string_view key2, value& arguments) -> Fault {
        if (key2 != "arguments") return walker_.skip(arguments, 2);
        return argument(arguments, 2);
      });
    });
  }

 private:
  template <typename OnMember>
  Fault members(value& v, std::size_t depth, OnMember&& on_member) {
    json_type type;
    if (v.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    if (type != json_type::object) return walker_.skip(v, depth);
    object o;
    if (v.get_object().get(o) != simdjson::SUCCESS) return Fault::kSyntax;
    return walker_.object(o, depth + 1, on_member);
  }

  // `v` is at path_: reads it if a declaration names this path, descends if one goes deeper.
  Fault argument(value& v, std::size_t depth) {
    bool deeper = false;
    std::size_t exact = declarations_.size();
    for (std::size_t i = 0; i < declarations_.size(); ++i) {
      const std::vector<std::string>& p = declarations_[i].path;
      if (p.size() < path_.size() || !std::equal(path_.begin(), path_.end(), p.begin())) continue;
      if (p.size() == path_.size()) {
        exact = i;
      } else {
        deeper = true;
      }
    }
    if (exact < declarations_.size()) return read(v, depth, exact);
    if (!deeper) return walker_.skip(v, depth);
    return members(v, depth, [&](std::string_view key, value& child) -> Fault {
      path_.emplace_back(key);
      const Fault fault = argument(child, depth + 1);
      path_.pop_back();
      return fault;
    });
  }

  // Paths are unique per declaration only by header; two may share a path (both read it).
  Fault read(value& v, std::size_t depth, std::size_t index) {
    json_type type;
    if (v.type().get(type) != simdjson::SUCCESS) return Fault::kSyntax;
    BodyValue found;
    Fault fault = Fault::kNone;
    switch (type) {
      case json_type::string: {
        std::string_view text;
        std::string_view raw;
        fault = walker_.string(v, text, raw);
        found.kind = BodyValue::Kind::kString;
        found.text.assign(text);
        break;
      }
      case json_type::boolean: {
        const std::string_view token = detail::trim_json_space(v.raw_json_token());
        fault = walker_.skip(v, depth);
        found.kind = BodyValue::Kind::kBoolean;
        found.text.assign(token);
        break;
      }
      case json_type::number: {
        const std::string_view token = detail::trim_json_space(v.raw_json_token());
        fault = walker_.skip(v, depth);
        double number = 0;
        // Not finite, or an integer past 2^53: the SDK mirrors no header and checks none.
        if (fault == Fault::kNone && detail::parse_number(token, number) && std::isfinite(number) &&
            !(number == std::trunc(number) && std::fabs(number) > 9007199254740991.0)) {
          found.kind = BodyValue::Kind::kNumber;
          found.number = number;
          found.text = js_number_text(number);
        }
        break;
      }
      default:  // null, objects, arrays: no header expected
        fault = walker_.skip(v, depth);
        break;
    }
    for (std::size_t i = 0; i < declarations_.size(); ++i) {
      if (declarations_[i].path == declarations_[index].path) out_[i] = found;
    }
    return fault;
  }

  detail::Walker walker_;
  std::span<const ParamDeclaration> declarations_;
  std::vector<BodyValue>& out_;
  std::vector<std::string> path_;
};

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Canonical padded Base64 (the SDK's BASE64_CANONICAL: unused bits zero) to bytes.
bool decode_base64(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int padding = 0;
    if (last && text[i + 3] == '=') padding = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int v = 0;
      if (j < 4 - static_cast<std::size_t>(padding)) {
        v = base64_digit(text[i + j]);
        if (v < 0) return false;
      }
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    if ((padding == 1 && (group & 0xff) != 0) || (padding == 2 && (group & 0xffff) != 0)) {
      return false;
    }
    for (int b = 0; b < 3 - padding; ++b) {
      out.push_back(static_cast<char>((group >> (16 - 8 * b)) & 0xff));
    }
  }
  return true;
}

// The SDK's CANONICAL_DECIMAL: -?\d+(\.\d+)?
bool canonical_decimal(std::string_view text) {
  std::size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return i > start;
  };
  if (!digits()) return false;
  if (i == text.size()) return true;
  if (text[i] != '.') return false;
  ++i;
  return digits() && i == text.size();
}

RpcError mismatch(std::string_view id_raw, std::string_view message) {
  return RpcError{kHeaderMismatch, message, "mcp_param_mismatch", id_raw};
}

}  // namespace

ParamScan scan_param_schema(JsonBytes schema_json) {
  ParamScan unreadable;
  unreadable.outcome = ParamScan::Outcome::kUnreadable;
  if (schema_json.bytes.size() > kMaxParamSchemaBytes) return unreadable;
  detail::Workspace& ws = detail::workspace();
  detail::od::document doc;
  std::string_view parsed;
  if (detail::start_document(ws, schema_json, doc, parsed) != simdjson::SUCCESS) {
    return unreadable;
  }
  SchemaScanner scanner(ws);
  value root;
  if (doc.get_value().get(root) != simdjson::SUCCESS) return unreadable;
  if (scanner.node(root, 0, true) != Fault::kNone || !detail::at_document_end(doc)) {
    return unreadable;
  }
  return scanner.finish(scanner.walker().take_duplicate());
}

bool decode_param_header(std::string_view header, std::string& out) {
  constexpr std::string_view kPrefix = "=?base64?";
  constexpr std::string_view kSuffix = "?=";
  if (header.size() >= kPrefix.size() + kSuffix.size() && header.starts_with(kPrefix) &&
      header.ends_with(kSuffix)) {
    return decode_base64(
               header.substr(kPrefix.size(), header.size() - kPrefix.size() - kSuffix.size()),
               out) &&
           simdjson::validate_utf8(out.data(), out.size());
  }
  out.assign(header);
  return true;
}

std::string js_number_text(double number) {
  if (number == 0) return "0";  // -0 too
  char buffer[64];
  const auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::scientific);
  if (ec != std::errc()) return {};
  // "-d.ddde+XX": split into sign, digits and the decimal exponent n (value = 0.digits × 10^n).
  std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  std::string out;
  if (text.front() == '-') {
    out.push_back('-');
    text.remove_prefix(1);
  }
  const std::size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(),
                  exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(n - 1 >= 0 ? n - 1 : 1 - n);
  }
  return out;
}

ParamCheck check_param_headers(std::span<const ParamDeclaration> declarations,
                               JsonBytes message_json, std::string_view id_raw,
                               std::span<const ParamHeader> headers, bool require_headers) {
  ParamCheck check;
  if (declarations.empty()) return check;
  std::vector<BodyValue> body(declarations.size());
  {
    detail::Workspace& ws = detail::workspace();
    detail::od::document doc;
    std::string_view parsed;
    value root;
    if (detail::start_document(ws, message_json, doc, parsed) != simdjson::SUCCESS ||
        doc.get_value().get(root) != simdjson::SUCCESS) {
      check.error = mismatch(id_raw, "Header mismatch: the arguments could not be read");
      return check;
    }
    ArgumentReader reader(ws, declarations, body);
    if (reader.message(root) != Fault::kNone) {
      check.error = mismatch(id_raw, "Header mismatch: the arguments could not be read");
      return check;
    }
  }
  std::string decoded;
  for (std::size_t i = 0; i < declarations.size(); ++i) {
    const ParamDeclaration& declaration = declarations[i];
    const BodyValue& value = body[i];
    if (value.kind == BodyValue::Kind::kAbsent) continue;  // the server expects no header
    const ParamHeader* header = nullptr;
    for (const ParamHeader& h : headers) {
      if (!iequal(h.name, declaration.header)) continue;
      if (header != nullptr) {
        check.error = mismatch(id_raw, "Header mismatch: an Mcp-Param header is repeated");
        return check;
      }
      header = &h;
    }
    ParamValue& out = check.values.emplace_back();
    out.header = lower_case(declaration.header);
    out.value = value.text;
    if (header == nullptr) {
      if (require_headers) {
        check.error = mismatch(
            id_raw,
            "Header mismatch: an argument declared with x-mcp-header lacks its Mcp-Param header");
        return check;
      }
      continue;
    }
    if (!decode_param_header(header->value, decoded)) {
      check.error = mismatch(id_raw, "Header mismatch: an Mcp-Param header is not valid Base64");
      return check;
    }
    const bool numeric =
        (declaration.type == ParamType::kInteger || declaration.type == ParamType::kNumber) &&
        value.kind == BodyValue::Kind::kNumber && canonical_decimal(decoded);
    double header_number = 0;
    const bool same =
        numeric ? detail::parse_number(decoded, header_number) && header_number == value.number
                : decoded == value.text;
    if (!same) {
      check.error =
          mismatch(id_raw, "Header mismatch: an Mcp-Param header does not match its argument");
      return check;
    }
    out.header_checked = true;
  }
  return check;
}

}  // namespace tg::mcp
