// Fuzzes the request-body path of an MCP tunnel: a chunked POST body is validated by
// ChunkedScanner and decoded by ChunkedDecoder as it arrives, inspected with inspect_request
// once complete, and each message's params.arguments written to the audit trail by
// append_audit_arguments with redact_keys {"secret", "Token"}. The first input byte picks
// the audit size limit and a split point; the rest is the chunked stream, or, when it is not
// a complete chunked body, a Content-Length body (the bytes themselves). Invariants:
// - decoding the bytes the scanner accepted gives the same body whole, cut once, one byte at
//   a time, and by a plain reference decoder; each feed reports what it appended; the body is
//   never longer than its framing; when the scanner is done the decoder is at the last chunk;
// - when the inspector accepts the body, for each message: arguments are written exactly when
//   params.arguments exists; a written value is either "[omitted: N bytes]" with N over the
//   limit, or valid JSON equal (by simdjson's DOM reading) to the arguments with the value of
//   every member named secret or token (any case, any depth) replaced by "[redacted]"; it is
//   at most the limit plus 11 bytes per redacted member (`1` becoming "[redacted]");
// - in a message without escapes, a redacted string value of 4 or more plain characters
//   whose JSON token occurs once in the body never appears in what is written (with escapes
//   a token can hide inside another, "x\"abcd" holding "abcd"; the DOM comparison above
//   covers those messages).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/http/chunked_decoder.h"
#include "relay/http/http.h"
#include "relay/mcp/mcp.h"
#include "relay/mcp/redact.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tg::http::ChunkedDecoder;
using tg::http::ChunkedScanner;
namespace dom = simdjson::dom;

constexpr std::size_t kRedactionGrowth = std::string_view("\"[redacted]\"").size() - 1;

struct Decoded {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  bool error = false;
  bool at_last_chunk = false;
};

// Scans and decodes `pieces` in order, the way McpExchange::collect does.
template <typename Pieces>
Decoded decode(const Pieces& pieces) {
  ChunkedScanner scanner;
  ChunkedDecoder decoder;
  Decoded decoded;
  for (std::string_view piece : pieces) {
    const ChunkedScanner::Step step = scanner.feed(piece);
    const std::size_t before = decoded.body.size();
    const std::size_t appended = decoder.feed(piece.substr(0, step.consumed), decoded.body);
    FUZZ_CHECK(appended == decoded.body.size() - before && appended <= step.consumed);
    decoded.consumed += step.consumed;
    decoded.done = step.done;
    decoded.error = step.error;
    if (step.done || step.error) break;
  }
  decoded.at_last_chunk = decoder.at_last_chunk();
  return decoded;
}

bool same(const Decoded& a, const Decoded& b) {
  return a.body == b.body && a.consumed == b.consumed && a.done == b.done && a.error == b.error &&
         a.at_last_chunk == b.at_last_chunk;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Chunk data of scanner-accepted bytes, written the plain way: size line, data, CRLF.
std::string reference_decode(std::string_view validated) {
  std::string body;
  std::size_t pos = 0;
  while (pos < validated.size()) {
    std::uint64_t size = 0;
    for (; pos < validated.size() && hex_value(validated[pos]) >= 0; ++pos) {
      size = size * 16 + static_cast<std::uint64_t>(hex_value(validated[pos]));
    }
    const std::size_t line_end = validated.find('\n', pos);
    if (line_end == std::string_view::npos || size == 0) break;
    pos = line_end + 1;
    const std::size_t take = static_cast<std::size_t>(
        std::min<std::uint64_t>(size, static_cast<std::uint64_t>(validated.size() - pos)));
    body.append(validated.substr(pos, take));
    pos += take + 2;  // the CRLF after the data
  }
  return body;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool is_redacted_key(std::string_view key) {
  return iequals(key, "secret") || iequals(key, "token");
}

std::size_t count(std::string_view haystack, std::string_view needle) {
  std::size_t found = 0;
  for (std::size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    ++found;
  }
  return found;
}

// A value that can only appear in the output as the same JSON string token: no characters
// that JSON escapes or that a compact re-emission could put next to a quote.
bool is_plain(std::string_view text) {
  if (text.size() < 4) return false;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f ||
        std::string_view(" \"\\{}[],:").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

struct Walk {
  std::size_t redacted = 0;
  std::vector<std::string_view> plain_secrets;  // string values of redacted members
};

bool same_scalar(dom::element a, dom::element b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case dom::element_type::STRING:
      return a.get_string().value() == b.get_string().value();
    case dom::element_type::INT64:
      return a.get_int64().value() == b.get_int64().value();
    case dom::element_type::UINT64:
      return a.get_uint64().value() == b.get_uint64().value();
    case dom::element_type::DOUBLE:
      return a.get_double().value() == b.get_double().value();
    case dom::element_type::BOOL:
      return a.get_bool().value() == b.get_bool().value();
    case dom::element_type::NULL_VALUE:
      return true;
    default:
      return false;
  }
}

// Checks that `written` is `original` with redacted members' values replaced; notes them.
void check_redacted(dom::element original, dom::element written, Walk& walk) {
  FUZZ_CHECK(original.type() == written.type());
  if (original.type() == dom::element_type::ARRAY) {
    dom::array a = original.get_array().value(), b = written.get_array().value();
    FUZZ_CHECK(a.size() == b.size());
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) check_redacted(*i, *j, walk);
    return;
  }
  if (original.type() == dom::element_type::OBJECT) {
    dom::object a = original.get_object().value(), b = written.get_object().value();
    FUZZ_CHECK(a.size() == b.size());
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
      FUZZ_CHECK(i.key() == j.key());
      if (!is_redacted_key(i.key())) {
        check_redacted(i.value(), j.value(), walk);
        continue;
      }
      ++walk.redacted;
      std::string_view replaced;
      FUZZ_CHECK(j.value().get_string().get(replaced) == simdjson::SUCCESS &&
                 replaced == "[redacted]");
      std::string_view secret;
      if (i.value().get_string().get(secret) == simdjson::SUCCESS && is_plain(secret)) {
        walk.plain_secrets.push_back(secret);
      }
    }
    return;
  }
  FUZZ_CHECK(same_scalar(original, written));
}

// The N of "[omitted: N bytes]", or 0 when `out` is not that string.
std::size_t omitted_bytes(std::string_view out) {
  constexpr std::string_view kPrefix = "\"[omitted: ", kSuffix = " bytes]\"";
  if (!out.starts_with(kPrefix) || !out.ends_with(kSuffix)) return 0;
  const std::string_view digits =
      out.substr(kPrefix.size(), out.size() - kPrefix.size() - kSuffix.size());
  std::size_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || n > (std::size_t{1} << 40)) return 0;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

void check_audit(const tg::mcp::Message& message, std::string_view body, std::size_t max_bytes) {
  static const std::vector<std::string> kKeys = {"secret", "Token"};
  std::string out = "prefix";  // it appends
  const bool written = tg::mcp::append_audit_arguments(message.raw, kKeys, max_bytes, out);
  FUZZ_CHECK(out.starts_with("prefix"));
  const std::string_view arguments = std::string_view(out).substr(6);
  FUZZ_CHECK(written != arguments.empty());

  dom::parser message_parser;
  dom::element root;
  // DOM refuses numbers it cannot represent, which inspect_request lets through.
  if (message_parser.parse(message.raw.data(), message.raw.size()).get(root) != simdjson::SUCCESS) {
    return;
  }
  dom::element original;
  const bool has_arguments =
      root.at_key("params").at_key("arguments").get(original) == simdjson::SUCCESS;
  FUZZ_CHECK(written == has_arguments);
  if (!written) return;

  // (Arguments that are themselves such a string, short enough, are compared below.)
  if (const std::size_t omitted = omitted_bytes(arguments); omitted > max_bytes) {
    FUZZ_CHECK(omitted <= message.raw.size());
    return;
  }
  dom::parser written_parser;
  dom::element reread;
  FUZZ_CHECK(written_parser.parse(arguments.data(), arguments.size()).get(reread) ==
             simdjson::SUCCESS);
  Walk walk;
  check_redacted(original, reread, walk);
  FUZZ_CHECK(arguments.size() <= max_bytes + walk.redacted * kRedactionGrowth);
  // Without escapes in the message, a plain token in the output is a whole token copied
  // from the message (quotes come only from string tokens, and only punctuation lies between
  // the quotes of two tokens): if the secret's is the only one, it was not copied.
  if (message.raw.find('\\') != std::string_view::npos) return;
  for (std::string_view secret : walk.plain_secrets) {
    const std::string token = "\"" + std::string(secret) + "\"";
    if (count(body, token) == 1) FUZZ_CHECK(arguments.find(token) == std::string_view::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::size_t kMaxBytes[] = {0, 1, 7, 16, 40, 100, 1000, 8192};
  const std::size_t max_bytes = kMaxBytes[data[0] & 7];
  const std::string_view stream = tg::fuzz::as_text(data + 1, size - 1);
  const std::size_t split = stream.size() * (data[0] >> 3) / 31;

  const std::string_view whole_pieces[] = {stream};
  const Decoded whole = decode(whole_pieces);
  FUZZ_CHECK(whole.body.size() <= whole.consumed && whole.consumed <= stream.size());
  FUZZ_CHECK(!whole.done || whole.at_last_chunk);
  FUZZ_CHECK(whole.body == reference_decode(stream.substr(0, whole.consumed)));

  const std::string_view split_pieces[] = {stream.substr(0, split), stream.substr(split)};
  FUZZ_CHECK(same(decode(split_pieces), whole));

  std::vector<std::string_view> bytes;
  bytes.reserve(stream.size());
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.push_back(stream.substr(i, 1));
  FUZZ_CHECK(same(decode(bytes), whole));

  // A stream that is not a complete chunked body stands for a Content-Length body, which the
  // relay takes as it comes: the mutations that break the framing still reach the inspector.
  std::string body = whole.done ? whole.body : std::string(stream);
  const tg::mcp::Inspection inspection = tg::mcp::inspect_request(tg::mcp::padded(body), "");
  if (!inspection.ok()) return 0;
  for (const tg::mcp::Message& message : inspection.messages()) {
    check_audit(message, body, max_bytes);
  }
  return 0;
}
