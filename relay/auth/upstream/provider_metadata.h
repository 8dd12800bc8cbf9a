/// An OpenID provider's discovery document (OpenID Connect Discovery 1.0 §3), checked.
///
/// `parse_provider_metadata` reads the text fetched from
/// `ISSUER/.well-known/openid-configuration` and refuses it unless:
///  - `issuer` equals the configured issuer exactly (§4.3: a document for another issuer, or
///    one a proxy rewrote, must not be used);
///  - `authorization_endpoint`, `token_endpoint` and `jwks_uri` are present, https:// URLs
///    (the strict form of relay/identity/jwks_fetch.h);
///  - `response_types_supported`, when present, includes "code";
///  - `code_challenge_methods_supported`, when present, includes "S256" (RFC 8414 §2; absent
///    is tolerated, as many providers omit it while supporting PKCE);
///  - the token endpoint accepts `client_secret_basic` or `client_secret_post`
///    (`token_endpoint_auth_methods_supported`; absent means basic, per the spec).
/// Pure; errors read "discovery: …".
#pragma once

#include <string>
#include <string_view>

#include "relay/base/result.h"

namespace tg::auth::upstream {

enum class ClientAuthMethod { kClientSecretBasic, kClientSecretPost };

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  ClientAuthMethod token_auth = ClientAuthMethod::kClientSecretBasic;
};

/// The well-known URL for `issuer` (a trailing "/" on the issuer is not doubled).
std::string discovery_url(std::string_view issuer);

Result<ProviderMetadata> parse_provider_metadata(std::string_view json,
                                                 std::string_view expected_issuer);

}  // namespace tg::auth::upstream
