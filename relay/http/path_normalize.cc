// normalize_target: escapes first, then segments (the order RFC 3986 section 6.2.2 gives), so
// that a dot segment spelled with escapes (`%2e`) is removed like a plain one, and a `%2F`
// decoded on request becomes a separator before segments are cut.
//
// Choices made here:
// - An escaped slash kept (`%2F`) and a kept backslash are segment bytes: `/a%2F..` is one
//   segment, never a dot segment, so a service that decodes `%2F` later sees `/a/..` only when
//   the operator asked to keep escaped slashes.
// - Dot segments are removed after slashes are merged, as nginx does: `/a//..` is `/`.
//   Without merging, empty segments count like any other (RFC 3986: `/a//..` is `/a/`).
#include "relay/http/path_normalize.h"

#include <cstring>

#include "relay/http/char_class.h"
#include "relay/http/http.h"

namespace tg::http {
namespace {

constexpr bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void append_escape(std::string& out, unsigned char byte) {
  constexpr char kHex[] = "0123456789ABCDEF";
  out.push_back('%');
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 0xF]);
}

PathRefusal append_backslash(std::string& out, Backslash rule) {
  switch (rule) {
    case Backslash::kReject:
      return PathRefusal::kBackslash;
    case Backslash::kKeep:
      out.push_back('\\');
      return PathRefusal::kNone;
    case Backslash::kSlash:
      out.push_back('/');
      return PathRefusal::kNone;
  }
  return PathRefusal::kBackslash;
}

// An escaped '/' or '\' under the operator's rules.
PathRefusal append_escaped_slash(std::string& out, unsigned char byte, const PathRules& rules) {
  switch (rules.escaped_slashes) {
    case EscapedSlashes::kReject:
      return PathRefusal::kEscapedSlash;
    case EscapedSlashes::kKeep:
      append_escape(out, byte);
      return PathRefusal::kNone;
    case EscapedSlashes::kDecode:
      if (byte == '/') {
        out.push_back('/');
        return PathRefusal::kNone;
      }
      return append_backslash(out, rules.backslash);
  }
  return PathRefusal::kEscapedSlash;
}

// Pass 1: appends `path` to `out` with its escapes and backslashes in normal form.
PathRefusal normalize_escapes(std::string_view path, const PathRules& rules, std::string& out) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      if (PathRefusal refusal = append_backslash(out, rules.backslash);
          refusal != PathRefusal::kNone) {
        return refusal;
      }
      continue;
    }
    if (!detail::has_class(c, detail::kTarget)) {
      return PathRefusal::kInvalidByte;
    }
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= path.size() || !detail::has_class(path[i + 1], detail::kHexDigit) ||
        !detail::has_class(path[i + 2], detail::kHexDigit)) {
      return PathRefusal::kBadPercentEncoding;
    }
    const auto byte = static_cast<unsigned char>(detail::hex_value(path[i + 1]) * 16 +
                                                 detail::hex_value(path[i + 2]));
    i += 2;
    if (byte == 0) return PathRefusal::kEncodedNul;
    if (byte == '/' || byte == '\\') {
      if (PathRefusal refusal = append_escaped_slash(out, byte, rules);
          refusal != PathRefusal::kNone) {
        return refusal;
      }
    } else if (is_unreserved(byte)) {
      out.push_back(static_cast<char>(byte));
    } else {
      append_escape(out, byte);
    }
  }
  return PathRefusal::kNone;
}

// Pass 2, in place over path[0, size) (which starts with '/'): dot segments removed, repeated
// slashes merged when asked. Returns the new size; it never grows, so writing at `write`
// never overtakes reading at `read`.
std::size_t normalize_segments(char* path, std::size_t size, bool merge_slashes) {
  std::size_t write = 0;  // path[0, write) is the output so far: "/seg/seg…", or ""
  std::size_t read = 1;
  bool trailing_slash = false;
  while (true) {
    const void* slash = std::memchr(path + read, '/', size - read);
    const std::size_t end =
        slash == nullptr ? size : static_cast<std::size_t>(static_cast<const char*>(slash) - path);
    const std::string_view segment(path + read, end - read);
    const bool last = end == size;
    if (segment == "." || (segment.empty() && merge_slashes)) {
      trailing_slash = last;  // dropped; a path ending in one still ends in '/'
    } else if (segment == "..") {
      while (write > 0 && path[--write] != '/') {
      }
      trailing_slash = last;
    } else {
      std::memmove(path + write + 1, path + read, segment.size());
      path[write] = '/';
      write += 1 + segment.size();
      trailing_slash = false;
    }
    if (last) break;
    read = end + 1;
  }
  if (write == 0 || trailing_slash) path[write++] = '/';
  return write;
}

}  // namespace

std::string_view to_string(PathRefusal refusal) {
  switch (refusal) {
    case PathRefusal::kNone:
      return "none";
    case PathRefusal::kBadPercentEncoding:
      return "bad_percent_encoding";
    case PathRefusal::kEncodedNul:
      return "encoded_nul";
    case PathRefusal::kEscapedSlash:
      return "escaped_slash";
    case PathRefusal::kBackslash:
      return "backslash";
    case PathRefusal::kInvalidByte:
      return "invalid_byte";
    case PathRefusal::kNotOriginForm:
      return "not_origin_form";
    case PathRefusal::kCount:
      break;
  }
  return "?";
}

PathRefusal normalize_target(std::string_view target, const PathRules& rules, std::string& out) {
  out.clear();
  if (target == "*") {
    out.assign(target);
    return PathRefusal::kNone;
  }
  if (target.empty() || target.front() != '/') return PathRefusal::kNotOriginForm;
  const std::size_t query = target.find('?');
  const std::string_view path = target.substr(0, query);
  if (PathRefusal refusal = normalize_escapes(path, rules, out); refusal != PathRefusal::kNone) {
    return refusal;
  }
  // The first byte, '/', was copied as it is: pass 2 may rely on it.
  out.resize(normalize_segments(out.data(), out.size(), rules.merge_slashes));
  if (query != std::string_view::npos) out.append(target.substr(query));
  return PathRefusal::kNone;
}

PathRefusal normalize_request_target(RequestHead& head, const PathRules& rules,
                                     std::string& storage) {
  const PathRefusal refusal = normalize_target(head.target, rules, storage);
  if (refusal == PathRefusal::kNone) head.target = storage;
  return refusal;
}

}  // namespace tg::http
