// check_mcp_headers: SEP-2243's Mcp-Method and Mcp-Name against the body, per method.
//
// A header value that cannot travel as plain ASCII (non-ASCII, control characters, leading or
// trailing blanks, or text that itself looks like the wrapper) arrives as `=?base64?…?=`:
// standard alphabet, padded. It is decoded while it is compared, so nothing is allocated; a
// wrapper that is not valid Base64 never matches.
#include <cstdint>

#include "relay/mcp/mcp.h"

namespace tg::mcp {

namespace {

constexpr std::string_view kPrefix = "=?base64?";
constexpr std::string_view kSuffix = "?=";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Whether `encoded` (padded standard Base64) decodes to exactly `expected`.
bool base64_equals(std::string_view encoded, std::string_view expected) {
  if (encoded.size() % 4 != 0) return false;
  std::size_t out = 0;
  for (std::size_t i = 0; i < encoded.size(); i += 4) {
    const bool last = i + 4 == encoded.size();
    int padding = 0;
    if (last && encoded[i + 3] == '=') padding = encoded[i + 2] == '=' ? 2 : 1;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int v = 0;
      if (j < 4 - static_cast<std::size_t>(padding)) {
        v = base64_value(encoded[i + j]);
        if (v < 0) return false;
      }
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    // Unused bits of a padded group must be zero (one encoding per value).
    if ((padding == 1 && (group & 0xff) != 0) || (padding == 2 && (group & 0xffff) != 0)) {
      return false;
    }
    const int bytes = 3 - padding;
    for (int b = 0; b < bytes; ++b) {
      const auto c = static_cast<char>((group >> (16 - 8 * b)) & 0xff);
      if (out >= expected.size() || expected[out] != c) return false;
      ++out;
    }
  }
  return out == expected.size();
}

bool header_matches(std::string_view header, std::string_view body_value) {
  if (header.size() >= kPrefix.size() + kSuffix.size() && header.starts_with(kPrefix) &&
      header.ends_with(kSuffix)) {
    return base64_equals(
        header.substr(kPrefix.size(), header.size() - kPrefix.size() - kSuffix.size()), body_value);
  }
  return header == body_value;
}

}  // namespace

NameSource mcp_name_source(std::string_view method) {
  struct Row {
    std::string_view method;
    NameSource source;
  };
  static constexpr Row kTable[] = {
      {"tools/call", NameSource::kName},     {"prompts/get", NameSource::kName},
      {"resources/read", NameSource::kUri},  {"tasks/get", NameSource::kTaskId},
      {"tasks/update", NameSource::kTaskId}, {"tasks/cancel", NameSource::kTaskId},
  };
  for (const Row& row : kTable) {
    if (row.method == method) return row.source;
  }
  return NameSource::kNone;
}

RpcError check_mcp_headers(const Inspection& inspection, std::string_view mcp_method_header,
                           std::string_view mcp_name_header) {
  if (mcp_method_header.empty() && mcp_name_header.empty()) return {};
  RpcError mismatch{kHeaderMismatch, "", "mcp_header_mismatch", {}};
  if (!inspection.ok() || inspection.batch()) {
    mismatch.message = "Header mismatch: Mcp-Method and Mcp-Name need a single message";
    return mismatch;
  }
  const Message& message = inspection.messages().front();
  mismatch.id_raw = message.id_raw;
  if (!mcp_method_header.empty() && !header_matches(mcp_method_header, message.method)) {
    mismatch.message = "Header mismatch: Mcp-Method does not match the body's method";
    return mismatch;
  }
  std::string_view body_name;
  switch (mcp_name_source(message.method)) {
    case NameSource::kNone:
      return {};  // off the table: nothing to compare with (mcp.h)
    case NameSource::kName:
      body_name = message.name;
      break;
    case NameSource::kUri:
      body_name = message.uri;
      break;
    case NameSource::kTaskId:
      body_name = message.task_id;
      break;
  }
  if (!mcp_name_header.empty() &&
      (body_name.empty() || !header_matches(mcp_name_header, body_name))) {
    mismatch.message = "Header mismatch: Mcp-Name does not match the member of params it carries";
    return mismatch;
  }
  return {};
}

}  // namespace tg::mcp
