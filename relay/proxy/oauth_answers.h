/// The relay's own answers about authorization: 401 challenges, 403 bodies, and the OAuth
/// protected-resource metadata (RFC 9728) each tunnel that wants bearer tokens serves.
///
/// The MCP authorization spec has clients discover where to get a token from the 401's
/// `WWW-Authenticate: Bearer resource_metadata="…"`, then from the document at
/// `https://NAME.DOMAIN/.well-known/oauth-protected-resource`, whose `resource` must equal the
/// URL the client called (the tunnel's public URL) and whose `authorization_servers` are the
/// issuers the relay trusts. Pure functions: text in, text out.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace tg {

/// Where a tunnel serves its metadata.
inline constexpr std::string_view kProtectedResourcePath = "/.well-known/oauth-protected-resource";
/// Where the relay publishes the keys that verify its assertion header (on every host).
inline constexpr std::string_view kAssertionJwksPath = "/.well-known/tunnelgate/jwks.json";

struct Challenge {
  std::string_view metadata_url;  // "" unless the tunnel wants JWTs
  std::string_view error;         // "", "invalid_token", "invalid_request", "insufficient_scope"
  std::string_view description;   // error_description, a short phrase of the relay's
  std::span<const std::string_view> scopes;  // the scope the request needs
};

/// The `WWW-Authenticate` header line (with CRLF) for a 401 or an insufficient_scope 403.
std::string bearer_challenge_field(const Challenge& challenge);

/// The RFC 9728 document for the tunnel at `resource` ("https://notes.relay.example").
std::string protected_resource_metadata(std::string_view resource,
                                        std::span<const std::string> authorization_servers,
                                        std::span<const std::string_view> scopes);

/// `{"error":ERROR,"message":MESSAGE,"request_id":ID}`: what a refused visitor may quote.
std::string refusal_body(std::string_view error, std::string_view message,
                         std::string_view request_id);

}  // namespace tg
