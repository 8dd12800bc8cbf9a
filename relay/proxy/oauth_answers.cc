#include "relay/proxy/oauth_answers.h"

#include "relay/identity/jws_signer.h"

namespace tg {
namespace {

// A quoted-string of RFC 9110: the relay's own phrases and scope tokens hold no quote or
// backslash (the policy loader refuses such scopes), so escaping is a safety net only.
void append_quoted(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out.push_back(c);
  }
  out.push_back('"');
}

void append_param(std::string& out, bool& first, std::string_view name, std::string_view value) {
  out.append(first ? " " : ", ").append(name).append("=");
  append_quoted(out, value);
  first = false;
}

}  // namespace

std::string bearer_challenge_field(const Challenge& challenge) {
  std::string field = "www-authenticate: Bearer";
  bool first = true;
  if (!challenge.metadata_url.empty()) {
    append_param(field, first, "resource_metadata", challenge.metadata_url);
  }
  if (!challenge.error.empty()) append_param(field, first, "error", challenge.error);
  if (!challenge.description.empty()) {
    append_param(field, first, "error_description", challenge.description);
  }
  if (!challenge.scopes.empty()) {
    std::string scope;
    for (std::string_view item : challenge.scopes) {
      if (!scope.empty()) scope.push_back(' ');
      scope.append(item);
    }
    append_param(field, first, "scope", scope);
  }
  if (first) field.append(" realm=\"tunnelgate\"");
  field.append("\r\n");
  return field;
}

std::string protected_resource_metadata(std::string_view resource,
                                        std::span<const std::string> authorization_servers,
                                        std::span<const std::string_view> scopes) {
  using identity::json_quote;
  std::string json = "{\"resource\":" + json_quote(resource) + ",\"authorization_servers\":[";
  for (std::size_t i = 0; i < authorization_servers.size(); ++i) {
    if (i > 0) json.push_back(',');
    json.append(json_quote(authorization_servers[i]));
  }
  json.append("],\"bearer_methods_supported\":[\"header\"]");
  if (!scopes.empty()) {
    json.append(",\"scopes_supported\":[");
    for (std::size_t i = 0; i < scopes.size(); ++i) {
      if (i > 0) json.push_back(',');
      json.append(json_quote(scopes[i]));
    }
    json.append("]");
  }
  json.append("}");
  return json;
}

std::string refusal_body(std::string_view error, std::string_view message,
                         std::string_view request_id) {
  using identity::json_quote;
  return "{\"error\":" + json_quote(error) + ",\"message\":" + json_quote(message) +
         ",\"request_id\":" + json_quote(request_id) + "}\n";
}

}  // namespace tg
