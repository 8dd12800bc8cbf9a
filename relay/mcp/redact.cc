// append_audit_arguments: a scanner over JSON already validated by inspect_request. Being
// valid, the text needs no error paths: strings end at an unescaped quote, containers at the
// bracket that balances them, and scalars at the next delimiter.
#include "relay/mcp/redact.h"

#include <cstdint>

namespace tg::mcp {
namespace {

constexpr std::size_t kNone = std::string_view::npos;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t skip_space(std::string_view json, std::size_t pos) {
  while (pos < json.size() && is_space(json[pos])) ++pos;
  return pos;
}

// `pos` at an opening quote: the position just past the closing one.
std::size_t string_end(std::string_view json, std::size_t pos) {
  for (++pos; pos < json.size(); ++pos) {
    if (json[pos] == '\\') {
      ++pos;
    } else if (json[pos] == '"') {
      return pos + 1;
    }
  }
  return json.size();
}

std::size_t value_end(std::string_view json, std::size_t pos) {
  if (pos >= json.size()) return json.size();
  if (json[pos] == '"') return string_end(json, pos);
  if (json[pos] == '{' || json[pos] == '[') {
    int depth = 0;
    while (pos < json.size()) {
      const char c = json[pos];
      if (c == '"') {
        pos = string_end(json, pos);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return pos + 1;
      }
      ++pos;
    }
    return json.size();
  }
  while (pos < json.size() && json[pos] != ',' && json[pos] != '}' && json[pos] != ']' &&
         !is_space(json[pos])) {
    ++pos;
  }
  return pos;
}

void append_utf8(std::uint32_t code, std::string& out) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

std::uint32_t hex4(std::string_view text) {
  std::uint32_t value = 0;
  for (char c : text.substr(0, 4)) {
    value <<= 4;
    if (c >= '0' && c <= '9') value |= static_cast<std::uint32_t>(c - '0');
    if (c >= 'a' && c <= 'f') value |= static_cast<std::uint32_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') value |= static_cast<std::uint32_t>(c - 'A' + 10);
  }
  return value;
}

// The unescaped text of a JSON string token (quotes included in `token`).
std::string_view unescape(std::string_view token, std::string& buffer) {
  const std::string_view inner = token.substr(1, token.size() >= 2 ? token.size() - 2 : 0);
  if (inner.find('\\') == kNone) return inner;
  buffer.clear();
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] != '\\' || i + 1 >= inner.size()) {
      buffer.push_back(inner[i]);
      continue;
    }
    const char e = inner[++i];
    switch (e) {
      case 'b':
        buffer.push_back('\b');
        break;
      case 'f':
        buffer.push_back('\f');
        break;
      case 'n':
        buffer.push_back('\n');
        break;
      case 'r':
        buffer.push_back('\r');
        break;
      case 't':
        buffer.push_back('\t');
        break;
      case 'u': {
        std::uint32_t code = hex4(inner.substr(i + 1));
        i += 4;
        if (code >= 0xD800 && code < 0xDC00 && i + 6 < inner.size() && inner[i + 1] == '\\' &&
            inner[i + 2] == 'u') {
          const std::uint32_t low = hex4(inner.substr(i + 3));
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        append_utf8(code, buffer);
        break;
      }
      default:  // " \ /
        buffer.push_back(e);
    }
  }
  return buffer;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The position of the value of member `name` in the object starting at `pos`, or kNone.
std::size_t find_member(std::string_view json, std::size_t pos, std::string_view name) {
  pos = skip_space(json, pos);
  if (pos >= json.size() || json[pos] != '{') return kNone;
  std::string buffer;
  pos = skip_space(json, pos + 1);
  while (pos < json.size() && json[pos] == '"') {
    const std::size_t key_end = string_end(json, pos);
    const std::string_view key = unescape(json.substr(pos, key_end - pos), buffer);
    pos = skip_space(json, key_end);
    pos = skip_space(json, pos + 1);  // ':'
    if (key == name) return pos;
    pos = skip_space(json, value_end(json, pos));
    if (pos < json.size() && json[pos] == ',') pos = skip_space(json, pos + 1);
  }
  return kNone;
}

class Redactor {
 public:
  Redactor(std::string_view json, std::span<const std::string> keys, std::string& out)
      : json_(json), keys_(keys), out_(out) {}

  // Emits the value at `pos`; returns the position after it.
  std::size_t value(std::size_t pos) {
    pos = skip_space(json_, pos);
    if (pos >= json_.size()) return pos;
    const char c = json_[pos];
    if (c == '{') return object(pos);
    if (c == '[') return array(pos);
    const std::size_t end = value_end(json_, pos);
    out_.append(json_.substr(pos, end - pos));
    return end;
  }

 private:
  bool redacted(std::string_view key) const {
    for (const std::string& k : keys_) {
      if (iequal(key, k)) return true;
    }
    return false;
  }

  std::size_t object(std::size_t pos) {
    out_.push_back('{');
    pos = skip_space(json_, pos + 1);
    bool first = true;
    while (pos < json_.size() && json_[pos] == '"') {
      if (!first) out_.push_back(',');
      first = false;
      const std::size_t key_end = string_end(json_, pos);
      const std::string_view token = json_.substr(pos, key_end - pos);
      out_.append(token).push_back(':');
      pos = skip_space(json_, key_end);
      pos = skip_space(json_, pos + 1);  // ':'
      if (redacted(unescape(token, buffer_))) {
        out_.append("\"[redacted]\"");
        pos = value_end(json_, pos);
      } else {
        pos = value(pos);
      }
      pos = skip_space(json_, pos);
      if (pos < json_.size() && json_[pos] == ',') pos = skip_space(json_, pos + 1);
    }
    out_.push_back('}');
    return pos + 1;  // '}'
  }

  std::size_t array(std::size_t pos) {
    out_.push_back('[');
    pos = skip_space(json_, pos + 1);
    bool first = true;
    while (pos < json_.size() && json_[pos] != ']') {
      if (!first) out_.push_back(',');
      first = false;
      pos = skip_space(json_, value(pos));
      if (pos < json_.size() && json_[pos] == ',') pos = skip_space(json_, pos + 1);
    }
    out_.push_back(']');
    return pos + 1;
  }

  std::string_view json_;
  std::span<const std::string> keys_;
  std::string& out_;
  std::string buffer_;
};

}  // namespace

bool append_audit_arguments(std::string_view message_raw, std::span<const std::string> redact_keys,
                            std::size_t max_bytes, std::string& out) {
  const std::size_t params = find_member(message_raw, 0, "params");
  if (params == kNone) return false;
  const std::size_t arguments = find_member(message_raw, params, "arguments");
  if (arguments == kNone) return false;
  const std::size_t end = value_end(message_raw, arguments);
  if (end - arguments > max_bytes) {
    out.append("\"[omitted: ").append(std::to_string(end - arguments)).append(" bytes]\"");
    return true;
  }
  Redactor(message_raw, redact_keys, out).value(arguments);
  return true;
}

}  // namespace tg::mcp
