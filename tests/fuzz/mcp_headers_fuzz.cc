// Fuzzes the per-method header check (check_mcp_headers over mcp_name_source's table) and the
// reader of created tasks (read_created_task), the two pieces the Tasks extension leans on.
// Input: an `Mcp-Method` value, a NUL, an `Mcp-Name` value, a NUL, then a JSON body (a request
// for the header check, read as a response for the task reader). Invariants:
// - the check only ever answers 0 or kHeaderMismatch, and mismatches carry the message's id;
// - an accepted Mcp-Name on a method of the table decodes (by this target's own Base64
//   decoder) to exactly the params member the table names, as simdjson's DOM reads it; an
//   accepted one on a method off the table changes nothing the body says;
// - the header spelled as the body's own member (Base64-wrapped, or plainly when it does not
//   look like a wrapper) is accepted;
// - a created task's id is the one DOM reads at result.taskId (resultType "task") or
//   result.task.taskId, and reading in place or from a copy agrees;
// - Mcp-Param (params.h): the body read as a tool's inputSchema scans alike in place and from
//   a copy, into declarations within the bounds with token names and non-empty paths; the
//   `Mcp-Name` value as an Mcp-Param-Region header against the body read as a tools/call to a
//   tool declaring region, count and a nested zone: only 0 or kHeaderMismatch, an accepted
//   header decodes to the argument's text (or equals it as a number), and each argument's own
//   text as its header (wrapped) is always accepted.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/mcp/mcp.h"
#include "relay/mcp/params.h"
#include "relay/mcp/tasks.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace tg::mcp;

std::optional<std::string> decode_base64(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    unsigned group = 0;
    int pads = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      unsigned v = 0;
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pads;
      } else {
        if (pads > 0) return std::nullopt;
        const std::size_t at = kAlphabet.find(c);
        if (at == std::string_view::npos) return std::nullopt;
        v = static_cast<unsigned>(at);
      }
      group = (group << 6) | v;
    }
    for (int b = 0; b < 3 - pads; ++b)
      out.push_back(static_cast<char>((group >> (16 - 8 * b)) & 0xff));
  }
  return out;
}

std::string encode_base64(std::string_view text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 3) {
    unsigned group = 0;
    const std::size_t n = std::min<std::size_t>(3, text.size() - i);
    for (std::size_t j = 0; j < 3; ++j) {
      group = (group << 8) | (j < n ? static_cast<unsigned char>(text[i + j]) : 0u);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      out.push_back(j <= n ? kAlphabet[(group >> (18 - 6 * j)) & 63] : '=');
    }
  }
  return out;
}

// What the header stands for: the Base64 form decoded, anything else as it is.
std::optional<std::string> header_value(std::string_view header) {
  if (header.size() >= 11 && header.starts_with("=?base64?") && header.ends_with("?=")) {
    return decode_base64(header.substr(9, header.size() - 11));
  }
  return std::string(header);
}

std::string_view member_of(const Message& m, NameSource source) {
  switch (source) {
    case NameSource::kName:
      return m.name;
    case NameSource::kUri:
      return m.uri;
    case NameSource::kTaskId:
      return m.task_id;
    case NameSource::kNone:
      break;
  }
  return {};
}

const char* pointer_of(NameSource source) {
  switch (source) {
    case NameSource::kName:
      return "/params/name";
    case NameSource::kUri:
      return "/params/uri";
    case NameSource::kTaskId:
      return "/params/taskId";
    case NameSource::kNone:
      break;
  }
  return "";
}

void check_headers(std::string_view method_header, std::string_view name_header,
                   std::string_view body) {
  const Inspection inspection = inspect_request(body, "");
  const RpcError error = check_mcp_headers(inspection, method_header, name_header);
  FUZZ_CHECK(error.code == 0 || error.code == kHeaderMismatch);
  if (!inspection.ok() || inspection.batch()) {
    if (!method_header.empty() || !name_header.empty()) FUZZ_CHECK(!error.ok());
    return;
  }
  const Message& m = inspection.messages()[0];
  if (!error.ok()) FUZZ_CHECK(error.id_raw == m.id_raw);
  const NameSource source = mcp_name_source(m.method);

  // The body's own member, plainly or wrapped, always passes; plainly only when it does not
  // itself look like a wrapper (clients must wrap such a value, SEP-2243).
  const auto looks_wrapped = [](std::string_view v) {
    return v.size() >= 11 && v.starts_with("=?base64?") && v.ends_with("?=");
  };
  if (source != NameSource::kNone && !member_of(m, source).empty()) {
    const std::string_view member = member_of(m, source);
    if (!looks_wrapped(member) && !looks_wrapped(m.method)) {
      FUZZ_CHECK(check_mcp_headers(inspection, m.method, member).ok());
    }
    FUZZ_CHECK(check_mcp_headers(inspection, "", "=?base64?" + encode_base64(member) + "?=").ok());
  }
  if (!error.ok() || name_header.empty()) return;
  if (!method_header.empty()) FUZZ_CHECK(header_value(method_header) == std::string(m.method));
  if (source == NameSource::kNone) return;
  const std::optional<std::string> value = header_value(name_header);
  FUZZ_CHECK(value.has_value());
  FUZZ_CHECK(*value == member_of(m, source));
  simdjson::dom::parser dom;
  simdjson::dom::element root;
  if (dom.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS) {
    std::string_view read;
    FUZZ_CHECK(root.at_pointer(pointer_of(source)).get(read) == simdjson::SUCCESS);
    FUZZ_CHECK(read == *value);
  }
}

void check_created_task(std::string_view body) {
  std::string copy(body);
  const CreatedTask task = read_created_task(padded(copy), 1 << 20);
  const CreatedTask again = read_created_task(body, 1 << 20);
  FUZZ_CHECK(task.task_id == again.task_id && task.ttl_ms == again.ttl_ms &&
             task.is_response == again.is_response);
  if (!task.found()) return;
  FUZZ_CHECK(task.is_response);
  FUZZ_CHECK(!task.ttl_ms || *task.ttl_ms <= 7ull * 86'400'000);
  simdjson::dom::parser dom;
  simdjson::dom::element root;
  const auto parsed = dom.parse(body.data(), body.size()).get(root);
  FUZZ_CHECK(parsed == simdjson::SUCCESS || parsed == simdjson::NUMBER_ERROR);
  if (parsed != simdjson::SUCCESS) return;
  std::string_view type;
  std::string_view id;
  if (root.at_pointer("/result/resultType").get(type) == simdjson::SUCCESS && type == "task") {
    FUZZ_CHECK(root.at_pointer("/result/taskId").get(id) == simdjson::SUCCESS);
  } else {
    FUZZ_CHECK(root.at_pointer("/result/task/taskId").get(id) == simdjson::SUCCESS);
  }
  FUZZ_CHECK(id == task.task_id);
}

void check_param_scan(std::string_view body) {
  std::string copy(body);
  const ParamScan scan = scan_param_schema(padded(copy));
  const ParamScan again = scan_param_schema(body);
  FUZZ_CHECK(scan.outcome == again.outcome &&
             scan.declarations.size() == again.declarations.size());
  FUZZ_CHECK(scan.outcome == ParamScan::Outcome::kDeclared || scan.declarations.empty());
  FUZZ_CHECK(scan.declarations.size() <= kMaxParamDeclarations);
  for (const ParamDeclaration& d : scan.declarations) {
    FUZZ_CHECK(!d.header.empty() && d.header.size() <= kMaxParamNameBytes);
    FUZZ_CHECK(!d.path.empty() && d.path.size() <= kMaxParamPath);
    for (char c : d.header) FUZZ_CHECK(c > ' ' && c < 0x7f && c != '"' && c != ',');
  }
}

void check_param_headers(std::string_view header, std::string_view body) {
  static const std::vector<ParamDeclaration> declarations = [] {
    ParamScan scan = scan_param_schema(std::string_view(R"({"properties":{
        "region":{"type":"string","x-mcp-header":"Region"},
        "count":{"type":"integer","x-mcp-header":"Count"},
        "where":{"properties":{"zone":{"type":"string","x-mcp-header":"Zone"}}}}})"));
    return scan.declarations;
  }();
  FUZZ_CHECK(declarations.size() == 3);
  const Inspection inspection = inspect_request(body, "");
  if (!inspection.ok() || inspection.batch()) return;
  const Message& m = inspection.messages()[0];
  const ParamHeader given[] = {{"region", header}};
  const ParamCheck c = tg::mcp::check_param_headers(declarations, m.raw, m.id_raw, given, false);
  FUZZ_CHECK(c.error.code == 0 || c.error.code == kHeaderMismatch);
  if (!c.error.ok()) {
    FUZZ_CHECK(c.error.id_raw == m.id_raw);
    return;
  }
  std::vector<std::string> wrapped;  // each argument's text, wrapped as a client may send it
  wrapped.reserve(c.values.size());
  std::vector<ParamHeader> own;
  for (const ParamValue& v : c.values) {
    FUZZ_CHECK(v.header == "region" || v.header == "count" || v.header == "zone");
    if (v.header == "region" && v.header_checked) {
      std::string decoded;
      FUZZ_CHECK(decode_param_header(header, decoded));
      FUZZ_CHECK(decoded == v.value);
    }
    wrapped.push_back("=?base64?" + encode_base64(v.value) + "?=");
    own.push_back({v.header, wrapped.back()});
  }
  // Every argument mirrored as its own text (Base64-wrapped, since a value may itself look
  // like a wrapper) passes, and is then confirmed.
  const ParamCheck mirrored =
      tg::mcp::check_param_headers(declarations, m.raw, m.id_raw, own, true);
  FUZZ_CHECK(mirrored.error.ok());
  FUZZ_CHECK(mirrored.values.size() == c.values.size());
  for (const ParamValue& v : mirrored.values) FUZZ_CHECK(v.header_checked);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tg::fuzz::as_text(data, size);
  const std::size_t first = input.find('\0');
  if (first == std::string_view::npos) return 0;
  const std::size_t second = input.find('\0', first + 1);
  if (second == std::string_view::npos) return 0;
  const std::string_view method_header = input.substr(0, first);
  const std::string_view name_header = input.substr(first + 1, second - first - 1);
  const std::string_view body = input.substr(second + 1);
  check_headers(method_header, name_header, body);
  check_created_task(body);
  check_param_scan(body);
  check_param_headers(name_header, body);
  return 0;
}
