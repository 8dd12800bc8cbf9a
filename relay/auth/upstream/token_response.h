/// The token endpoint's answer to an authorization code exchange (RFC 6749 §5.1, §5.2;
/// OpenID Connect Core §3.1.3.3), checked.
///
/// A 200 must be a JSON object with `token_type` "Bearer" (any case) and an `id_token`; the
/// access token is kept but the relay signs its own (the upstream's is never forwarded).
/// Any other status is an error that quotes the OAuth `error` code and, cut and sanitised,
/// its `error_description` ("token endpoint: invalid_client (client authentication
/// failed)"), or the status when the body is not an OAuth error. Pure.
#pragma once

#include <string>
#include <string_view>

#include "relay/base/result.h"

namespace tg::auth::upstream {

struct TokenResponse {
  std::string id_token;
  std::string access_token;
};

Result<TokenResponse> parse_token_response(int status, std::string_view json);

}  // namespace tg::auth::upstream
