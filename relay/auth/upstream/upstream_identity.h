/// Who signed in through an upstream OpenID provider: what a verified id_token says, mapped
/// through the provider's configuration.
///
/// `verify_id_token` checks an id_token (OpenID Connect Core §3.1.3.7) with relay/identity's
/// JwtVerifier, the same code that checks bearer tokens on the data path, configured for
/// this one issuer:
///  - the signature, by a key of the provider's JWKS (RS256, ES256 or EdDSA; never none or
///    HS*), chosen by kid;
///  - `iss` equals the configured issuer; `aud` contains the client id and, when it names
///    several audiences, `azp` is the client id (an `azp` naming another client is refused
///    either way);
///  - `exp` in the future and `iat` not in it, with kIdTokenLeewaySeconds of skew;
///  - `nonce` equals the one the authorization request carried (compared in constant time);
/// then maps its claims: the email from `email_claim` (required, a string), refused when
/// `email_verified` is false (the boolean or the string) or when its domain is not one of
/// `allowed_email_domains`; groups from `groups_claim` (an array of strings; absent is no
/// groups); `name` when present.
///
/// Errors are one phrase led by "id_token: " and never quote the token. Pure: `now` and the
/// JWKS text come from the caller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"
#include "relay/config/signin_provider.h"

namespace tg::auth::upstream {

inline constexpr std::int64_t kIdTokenLeewaySeconds = 60;

struct UpstreamIdentity {
  std::string sub;
  std::string email;            // as the provider spells it
  bool email_verified = false;  // true only when the claim says true
  std::vector<std::string> groups;
  std::string name;  // "" when the token has none
  std::string idp;   // the provider's configured id
};

Result<UpstreamIdentity> verify_id_token(std::string_view id_token, std::string_view jwks_json,
                                         const SigninProvider& provider,
                                         std::string_view expected_nonce, std::int64_t now);

/// True when `email`'s domain (after the last '@', any case) is one of `domains` (lower case),
/// or `domains` is empty.
bool email_domain_allowed(std::string_view email, const std::vector<std::string>& domains);

}  // namespace tg::auth::upstream
