/// Mcp-Param-* headers: a tool's arguments mirrored in HTTP headers (revision 2026-07-28,
/// SEP-2243), checked against the body before anything is forwarded, as the server would.
///
/// A tool declares which of its arguments travel in headers by marking properties of its
/// `inputSchema` with `"x-mcp-header": "Name"` (reached from the root through `properties`
/// only, at any depth; the property typed `string`, `integer` or `boolean`; names RFC 9110
/// tokens, unique case-insensitively). A client then sends `Mcp-Param-Name` with the
/// argument's value as text (booleans `true`/`false`, numbers in decimal), wrapped as
/// `=?base64?…?=` (standard alphabet, padded, UTF-8) when it cannot travel as plain ASCII. A
/// server checks every declaration whose argument the body carries (not null): the header must
/// be there and decode to the same value (integers and numbers compared as numbers), else 400
/// with -32020 HeaderMismatch; a header for an argument the body lacks is ignored. A schema
/// breaking any rule but the type (an annotation under `items`, `anyOf`, `$defs`, …, a repeated
/// name) declares nothing and nothing is checked; one whose only fault is a `number` type is
/// still checked. All of this follows the official TypeScript SDK v2 (2.4.0) exactly.
///
/// The relay learns declarations from the tools/list results it filters (scan_param_schema,
/// on each tool's inputSchema) and holds them per tunnel (McpParamTable); check_param_headers
/// then does the server's check on each tools/call, and returns the values the body gives the
/// declared arguments, which the policy reads as `mcp.param["Name"]`.
///
/// Pure functions over byte views; they use the per-thread parser of mcp.h (not reentrant).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/mcp/mcp.h"

namespace tg::mcp {

/// The declared JSON Schema type of a mirrored argument.
enum class ParamType : std::uint8_t { kString, kInteger, kBoolean, kNumber };

struct ParamDeclaration {
  std::string header;             // as declared (`Region`); compared case-insensitively
  std::vector<std::string> path;  // property names from `arguments` down to the value
  ParamType type = ParamType::kString;
};

/// What a tool's inputSchema declares.
struct ParamScan {
  enum class Outcome : std::uint8_t {
    kNone,        // no declaration the server would check (none, or an invalid schema)
    kDeclared,    // `declarations` is what the server checks
    kUnreadable,  // invalid JSON, a repeated key, or past the bounds below: unknown
  };
  Outcome outcome = Outcome::kNone;
  std::vector<ParamDeclaration> declarations;
};

/// Bounds on what the relay keeps of one tool: far above what real tools declare.
inline constexpr std::size_t kMaxParamDeclarations = 32;
inline constexpr std::size_t kMaxParamPath = 16;            // properties deep
inline constexpr std::size_t kMaxParamNameBytes = 256;      // header or property name
inline constexpr std::size_t kMaxParamSchemaBytes = 65536;  // schemas larger are not read

/// Scans one tool's `inputSchema` (its JSON text).
ParamScan scan_param_schema(JsonBytes schema_json);

/// An `Mcp-Param-*` header of the request: `name` is what follows the prefix.
struct ParamHeader {
  std::string_view name;
  std::string_view value;
};

/// The value the body gives one declared argument, as the text a client mirrors.
struct ParamValue {
  std::string header;           // lower-case declared name (`region`)
  std::string value;            // `eu`, `42`, `true`
  bool header_checked = false;  // its Mcp-Param header was present and agreed
};

struct ParamCheck {
  RpcError error;                  // kHeaderMismatch, or ok
  std::vector<ParamValue> values;  // declarations the body carries a value for
};

/// The server's check of one tools/call (`message_json`: the message's exact text, which the
/// inspector accepted) against `declarations`. `require_headers`: a declared argument the
/// body carries needs its header (revision 2026-07-28 on; older clients send none, and a
/// header they do send is still checked). A header sent twice for one declaration, a wrapper
/// that is not canonical Base64 of UTF-8, a value that differs: kHeaderMismatch with the
/// message's id.
ParamCheck check_param_headers(std::span<const ParamDeclaration> declarations,
                               JsonBytes message_json, std::string_view id_raw,
                               std::span<const ParamHeader> headers, bool require_headers);

/// Decodes a header value that may be `=?base64?…?=`-wrapped (canonical padded Base64 of
/// UTF-8). False when the wrapper is there but invalid; `out` is the value otherwise.
bool decode_param_header(std::string_view header, std::string& out);

/// JavaScript's `String(number)` for a finite double (shortest round-trip digits; fixed
/// notation from 1e-7 to 1e21, exponential with `e+`/`e-` outside).
std::string js_number_text(double number);

}  // namespace tg::mcp
