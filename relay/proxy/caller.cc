#include "relay/proxy/caller.h"

#include "relay/identity/credentials.h"

namespace tg {

std::string_view Caller::subject() const {
  if (token != nullptr) return token->subject().empty() ? token->email() : token->subject();
  return api_key_name;
}

void Caller::fill(policy::AccessContext& context) const {
  if (token != nullptr) token->fill(context);
  context.api_key_name = api_key_name;
}

Caller identify_caller(const policy::KeyLookup& headers, std::string_view api_key_header,
                       const identity::Sources& sources, identity::TokenCache& cache,
                       std::string_view tunnel_url, std::int64_t now,
                       std::string_view session_cookie) {
  Caller caller;
  const identity::Credentials found =
      identity::find_credentials(headers, api_key_header, session_cookie);
  caller.from_session_cookie = found.jwt_from_cookie;
  auto refuse = [&caller](std::string_view why) {
    caller.status = Caller::Status::kRefused;
    caller.error = why;
    caller.token = nullptr;
    caller.api_key_name = {};
    return caller;  // from_session_cookie stays: a stale cookie sends a browser to sign in
  };
  if (!found.problem.empty()) return refuse(found.problem);
  if (found.jwt.empty() && found.api_key.empty()) return caller;

  // Which headers carried what the relay consumed: those never reach the service.
  const policy::Lookup authorization = headers("authorization");
  const std::string_view in_authorization =
      authorization.state == policy::Lookup::State::kFound ? authorization.value : "";
  caller.authorization_consumed =
      (!found.jwt.empty() && in_authorization.find(found.jwt) != std::string_view::npos) ||
      (!found.api_key.empty() && in_authorization.find(found.api_key) != std::string_view::npos);
  caller.api_key_header_consumed = !api_key_header.empty() && !found.api_key.empty() &&
                                   headers(api_key_header).state == policy::Lookup::State::kFound;

  if (!found.jwt.empty()) {
    auto token = cache.verify(sources.jwt, found.jwt, tunnel_url, now);
    if (!token) {
      // The visitor learns only whether the token expired: the other reasons would help
      // someone forging tokens more than someone holding a real one.
      Caller refused = refuse(token.error().message == "expired" ? "the token expired"
                                                                 : "the token is not valid");
      refused.detail = token.error().message;
      return refused;
    }
    caller.token = *token;
    caller.valid_until = sources.jwt.last_valid_second((*token)->expires_at());
  }
  if (!found.api_key.empty()) {
    auto name = sources.api_keys.find(found.api_key);
    if (!name) return refuse("the API key is not valid");
    caller.api_key_name = *name;
  }
  caller.status = Caller::Status::kIdentified;
  return caller;
}

}  // namespace tg
