/// Finding a visitor's credentials in its request headers.
///
/// `Authorization: Bearer <token>` (scheme case-insensitive, RFC 9110 §11.6.2) carries either
/// an API key (it starts with "tgk_") or a JWT (anything with the shape of a JWS: two dots).
/// Other bearer values and other schemes (Basic, …) are not the relay's and are left alone:
/// they may be meant for the published service. An operator may also name a header that
/// carries an API key as its whole value (for example "x-api-key"). Pure: views into the
/// header values, no allocation.
#pragma once

#include <string_view>

#include "relay/policy/context.h"

namespace tg::identity {

struct Credentials {
  std::string_view jwt;      // a bearer JWT to verify, or ""
  std::string_view api_key;  // an API key to look up, or ""
  /// Non-empty when the credentials are ambiguous, so the request must be refused (401):
  /// "authorization header sent twice", "two different API keys".
  std::string_view problem;
  bool jwt_from_cookie = false;  // `jwt` came from the relay's session cookie, not a header
};

/// Looks in `headers` (names compared case-insensitively, as KeyLookup::headers does) for
/// Authorization and, when `api_key_header` is not empty, that header.
/// With `session_cookie` (the relay's sign-in cookie name, when sign-in is on), a request with
/// no bearer JWT may carry its JWT in that cookie instead (a browser's session on a tunnel).
Credentials find_credentials(const policy::KeyLookup& headers, std::string_view api_key_header = {},
                             std::string_view session_cookie = {});

}  // namespace tg::identity
