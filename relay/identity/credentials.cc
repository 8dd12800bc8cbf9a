// Authorization header parsing: "Bearer" SP token68, with optional whitespace around.
#include "relay/identity/credentials.h"

#include "relay/auth/cookies.h"
#include "relay/identity/api_keys.h"

namespace tg::identity {
namespace {

std::string_view trim(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  return text.substr(start, text.find_last_not_of(" \t") - start + 1);
}

// The token after "Bearer ", or "" for another scheme.
std::string_view bearer_token(std::string_view value) {
  value = trim(value);
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() ||
      (value[kScheme.size()] != ' ' && value[kScheme.size()] != '\t')) {
    return {};
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if ((value[i] | 0x20) != kScheme[i]) return {};
  }
  return trim(value.substr(kScheme.size()));
}

// Two dots and no third (string_view::find is memchr: a token costs tens of nanoseconds).
bool looks_like_jws(std::string_view token) {
  const std::size_t first = token.find('.');
  if (first == std::string_view::npos) return false;
  const std::size_t second = token.find('.', first + 1);
  return second != std::string_view::npos && token.find('.', second + 1) == std::string_view::npos;
}

}  // namespace

Credentials find_credentials(const policy::KeyLookup& headers, std::string_view api_key_header,
                             std::string_view session_cookie) {
  Credentials found;
  const policy::Lookup authorization = headers("authorization");
  if (authorization.state == policy::Lookup::State::kUnusable) {
    found.problem = "authorization header sent twice";
    return found;
  }
  if (authorization.state == policy::Lookup::State::kFound) {
    const std::string_view token = bearer_token(authorization.value);
    if (token.starts_with(kApiKeyPrefix)) {
      found.api_key = token;
    } else if (looks_like_jws(token)) {
      found.jwt = token;
    }
  }
  if (!api_key_header.empty()) {
    const policy::Lookup header = headers(api_key_header);
    if (header.state == policy::Lookup::State::kUnusable) {
      found.problem = "API key header sent twice";
      return found;
    }
    const std::string_view key =
        header.state == policy::Lookup::State::kFound ? trim(header.value) : std::string_view{};
    if (!key.empty()) {
      if (!found.api_key.empty() && found.api_key != key) {
        found.problem = "two different API keys";
        return found;
      }
      found.api_key = key;
    }
  }
  if (found.jwt.empty() && !session_cookie.empty()) {
    const policy::Lookup cookie = headers("cookie");
    if (cookie.state == policy::Lookup::State::kFound) {
      bool repeated = false;
      const std::string_view token = auth::cookie_value(cookie.value, session_cookie, &repeated);
      if (repeated) {
        found.problem = "the session cookie was sent twice";
        return found;
      }
      if (!token.empty()) {
        found.jwt = token;
        found.jwt_from_cookie = true;
      }
    }
  }
  return found;
}

}  // namespace tg::identity
