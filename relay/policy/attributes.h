/// The attributes an expression can read, and their types: a fixed registry.
///
/// Each attribute is an `Attr` (its interned id: expressions are compiled to these, never to
/// names), a dotted name, a type, whether it takes a key (`http.header["x-foo"]`,
/// `jwt.claims["tenant"]`), and in which decisions it is known: the exposure decision sees the
/// publisher (`ssh.*`), the access decision sees the visitor and its request. Reading an
/// attribute of the other decision is a load error, so a rule cannot silently test a value
/// that is never there. The `mcp.*` attributes are declared for the MCP inspector; until it
/// fills them they read as absent.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tg::policy {

/// The types of the expression language. kIntList and kCidr exist only as literals
/// (`[1, 2]`, `cidr("…")`).
enum class Type : std::uint8_t { kBool, kInt, kString, kStringList, kIntList, kIp, kCidr };

/// "bool", "int", "string", "list<string>", "list<int>", "ip", "cidr".
std::string_view to_string(Type type);

enum class Attr : std::uint8_t {
  kSshKey,
  kSshUser,
  kSshSourceIp,
  kTunnelName,
  kTunnelClass,
  kTunnelOwner,
  kSourceIp,
  kTlsSni,
  kTlsClientCertFingerprint,
  kTlsClientCertSubject,
  kTlsClientCertSan,
  kHttpMethod,
  kHttpPath,
  kHttpHost,
  kHttpHeader,
  kHttpRawTarget,
  kJwtIss,
  kJwtSub,
  kJwtAud,
  kJwtEmail,
  kJwtGroups,
  kJwtScope,
  kJwtClaims,
  kApiKeyName,
  kTimeHour,
  kTimeWeekday,
  kMcpMethod,
  kMcpTool,
  kMcpResource,
  kMcpPrompt,
  kMcpProtocolVersion,
  kMcpSession,
  kMcpTask,
  kMcpParam,
  kCount,
};

/// Which decisions know an attribute.
enum Phase : std::uint8_t {
  kExposePhase = 1,
  kAccessPhase = 2,
};

struct AttributeInfo {
  Attr attr;
  std::string_view name;  // "http.header"
  Type type;              // for keyed attributes, the type of one entry
  bool keyed;             // read as name["key"]
  std::uint8_t phases;    // Phase bits
};

/// Every attribute, in Attr order.
std::span<const AttributeInfo> all_attributes();
const AttributeInfo& attribute_info(Attr attr);
/// The attribute spelled `name` exactly; nullopt when there is none.
std::optional<Attr> find_attribute(std::string_view name);
/// For an unknown name: "; did you mean ssh.key?" (close spellings, or the attributes under
/// a prefix such as "jwt"), or "" when nothing is close.
std::string suggest_attribute(std::string_view name);

}  // namespace tg::policy
