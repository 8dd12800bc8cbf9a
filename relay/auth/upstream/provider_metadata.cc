// parse_provider_metadata: the discovery document's members read by read_json_members, then
// checked one by one.
#include "relay/auth/upstream/provider_metadata.h"

#include <algorithm>
#include <vector>

#include "relay/auth/upstream/json_members.h"
#include "relay/identity/jwks_fetch.h"

namespace tg::auth::upstream {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// At most 200 printable characters of what the document said, for an error.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out + (text.size() > 200 ? "…\"" : "\"");
}

}  // namespace

std::string discovery_url(std::string_view issuer) {
  std::string url(issuer);
  if (url.ends_with('/')) url.pop_back();
  return url + "/.well-known/openid-configuration";
}

Result<ProviderMetadata> parse_provider_metadata(std::string_view json,
                                                 std::string_view expected_issuer) {
  ProviderMetadata metadata;
  std::vector<std::string> response_types, challenge_methods, auth_methods;
  bool has_response_types = false, has_challenge_methods = false, has_auth_methods = false;
  Status read = read_json_members(
      json,
      {{"issuer", &metadata.issuer},
       {"authorization_endpoint", &metadata.authorization_endpoint},
       {"token_endpoint", &metadata.token_endpoint},
       {"jwks_uri", &metadata.jwks_uri},
       {"response_types_supported", nullptr, &response_types, &has_response_types},
       {"code_challenge_methods_supported", nullptr, &challenge_methods, &has_challenge_methods},
       {"token_endpoint_auth_methods_supported", nullptr, &auth_methods, &has_auth_methods}});
  if (!read) return make_error("discovery: " + read.error().message);
  if (metadata.issuer.empty()) return make_error("discovery: no \"issuer\"");
  if (metadata.issuer != expected_issuer) {
    return make_error("discovery: issuer " + quoted(metadata.issuer) + " is not the configured " +
                      quoted(expected_issuer));
  }
  const std::pair<const char*, const std::string*> endpoints[] = {
      {"authorization_endpoint", &metadata.authorization_endpoint},
      {"token_endpoint", &metadata.token_endpoint},
      {"jwks_uri", &metadata.jwks_uri}};
  for (const auto& [name, value] : endpoints) {
    if (value->empty()) return make_error(std::string("discovery: no \"") + name + "\"");
    if (auto url = identity::parse_https_url(*value); !url) {
      return make_error(std::string("discovery: \"") + name +
                        "\" is not a usable https:// URL: " + url.error().message);
    }
  }
  if (metadata.authorization_endpoint.find('#') != std::string::npos) {
    return make_error("discovery: \"authorization_endpoint\" has a fragment");
  }
  if (has_response_types && !contains(response_types, "code")) {
    return make_error("discovery: the provider does not support response_type code");
  }
  if (has_challenge_methods && !contains(challenge_methods, "S256")) {
    return make_error("discovery: the provider does not support PKCE S256");
  }
  if (has_auth_methods && !contains(auth_methods, "client_secret_basic")) {
    if (!contains(auth_methods, "client_secret_post")) {
      return make_error(
          "discovery: the token endpoint accepts neither client_secret_basic nor "
          "client_secret_post");
    }
    metadata.token_auth = ClientAuthMethod::kClientSecretPost;
  }
  return metadata;
}

}  // namespace tg::auth::upstream
