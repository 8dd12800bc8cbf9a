// The attribute table, and the spelling suggestions for unknown names.
#include "relay/policy/attributes.h"

#include <algorithm>
#include <array>
#include <vector>

namespace tg::policy {
namespace {

constexpr std::uint8_t kBoth = kExposePhase | kAccessPhase;

constexpr std::array<AttributeInfo, static_cast<std::size_t>(Attr::kCount)> kAttributes = {{
    {Attr::kSshKey, "ssh.key", Type::kString, false, kExposePhase},
    {Attr::kSshUser, "ssh.user", Type::kString, false, kExposePhase},
    {Attr::kSshSourceIp, "ssh.source.ip", Type::kIp, false, kExposePhase},
    {Attr::kTunnelName, "tunnel.name", Type::kString, false, kBoth},
    {Attr::kTunnelClass, "tunnel.class", Type::kString, false, kAccessPhase},
    {Attr::kTunnelOwner, "tunnel.owner", Type::kString, false, kAccessPhase},
    {Attr::kSourceIp, "source.ip", Type::kIp, false, kAccessPhase},
    {Attr::kTlsSni, "tls.sni", Type::kString, false, kAccessPhase},
    {Attr::kTlsClientCertFingerprint, "tls.client_cert.fingerprint", Type::kString, false,
     kAccessPhase},
    {Attr::kTlsClientCertSubject, "tls.client_cert.subject", Type::kString, false, kAccessPhase},
    {Attr::kTlsClientCertSan, "tls.client_cert.san", Type::kStringList, false, kAccessPhase},
    {Attr::kHttpMethod, "http.method", Type::kString, false, kAccessPhase},
    {Attr::kHttpPath, "http.path", Type::kString, false, kAccessPhase},
    {Attr::kHttpHost, "http.host", Type::kString, false, kAccessPhase},
    {Attr::kHttpHeader, "http.header", Type::kString, true, kAccessPhase},
    {Attr::kHttpRawTarget, "http.raw_target", Type::kString, false, kAccessPhase},
    {Attr::kJwtIss, "jwt.iss", Type::kString, false, kAccessPhase},
    {Attr::kJwtSub, "jwt.sub", Type::kString, false, kAccessPhase},
    {Attr::kJwtAud, "jwt.aud", Type::kStringList, false, kAccessPhase},
    {Attr::kJwtEmail, "jwt.email", Type::kString, false, kAccessPhase},
    {Attr::kJwtGroups, "jwt.groups", Type::kStringList, false, kAccessPhase},
    {Attr::kJwtScope, "jwt.scope", Type::kStringList, false, kAccessPhase},
    {Attr::kJwtClaims, "jwt.claims", Type::kString, true, kAccessPhase},
    {Attr::kApiKeyName, "api_key.name", Type::kString, false, kAccessPhase},
    {Attr::kTimeHour, "time.hour", Type::kInt, false, kBoth},
    {Attr::kTimeWeekday, "time.weekday", Type::kInt, false, kBoth},
    {Attr::kMcpMethod, "mcp.method", Type::kString, false, kAccessPhase},
    {Attr::kMcpTool, "mcp.tool", Type::kString, false, kAccessPhase},
    {Attr::kMcpResource, "mcp.resource", Type::kString, false, kAccessPhase},
    {Attr::kMcpPrompt, "mcp.prompt", Type::kString, false, kAccessPhase},
    {Attr::kMcpProtocolVersion, "mcp.protocol_version", Type::kString, false, kAccessPhase},
    {Attr::kMcpSession, "mcp.session", Type::kString, false, kAccessPhase},
    {Attr::kMcpTask, "mcp.task", Type::kString, false, kAccessPhase},
    {Attr::kMcpParam, "mcp.param", Type::kString, true, kAccessPhase},
}};

// The table is indexed by Attr; a misordered entry would read the wrong context field.
constexpr bool in_attr_order() {
  for (std::size_t i = 0; i < kAttributes.size(); ++i) {
    if (static_cast<std::size_t>(kAttributes[i].attr) != i) return false;
  }
  return true;
}
static_assert(in_attr_order(), "kAttributes must list attributes in Attr order");

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

}  // namespace

std::string_view to_string(Type type) {
  switch (type) {
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kString:
      return "string";
    case Type::kStringList:
      return "list<string>";
    case Type::kIntList:
      return "list<int>";
    case Type::kIp:
      return "ip";
    case Type::kCidr:
      return "cidr";
  }
  return "?";
}

std::span<const AttributeInfo> all_attributes() {
  return kAttributes;
}

const AttributeInfo& attribute_info(Attr attr) {
  return kAttributes[static_cast<std::size_t>(attr)];
}

std::optional<Attr> find_attribute(std::string_view name) {
  for (const AttributeInfo& info : kAttributes) {
    if (info.name == name) return info.attr;
  }
  return std::nullopt;
}

std::string suggest_attribute(std::string_view name) {
  // A prefix of real names ("jwt", "tls.client_cert"): list what lies under it.
  std::vector<std::string_view> under;
  for (const AttributeInfo& info : kAttributes) {
    if (info.name.size() > name.size() && info.name.starts_with(name) &&
        info.name[name.size()] == '.') {
      under.push_back(info.name);
    }
  }
  if (!under.empty()) return "; did you mean " + join_names(under) + "?";
  std::vector<std::string_view> close;
  const std::size_t limit = std::max<std::size_t>(2, name.size() / 4);
  std::size_t best = limit + 1;
  for (const AttributeInfo& info : kAttributes) {
    std::size_t distance = edit_distance(name, info.name);
    if (distance > limit) continue;
    if (distance < best) {
      best = distance;
      close.clear();
    }
    if (distance == best) close.push_back(info.name);
  }
  return close.empty() ? "" : "; did you mean " + join_names(close) + "?";
}

}  // namespace tg::policy
