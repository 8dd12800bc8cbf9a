// UpstreamClient: relay/identity's https_request for every call to the provider, the pure
// parsers of this folder for every answer.
#include "relay/auth/upstream/upstream_client.h"

#include "relay/auth/form_fields.h"
#include "relay/auth/upstream/token_response.h"
#include "relay/identity/base64url.h"
#include "relay/identity/jwks_fetch.h"

namespace tg::auth::upstream {
namespace {

// RFC 4648 §4 base64 with padding, for HTTP Basic, from the base64url encoder.
std::string encode_base64(std::string_view bytes) {
  std::string text = identity::encode_base64url(bytes);
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (text.size() % 4 != 0) text.push_back('=');
  return text;
}

}  // namespace

std::string build_authorization_url(const ProviderMetadata& metadata,
                                    const SigninProvider& provider,
                                    const AuthorizationRequest& request) {
  std::string url = metadata.authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + form_encode(provider.client_id) +
         "&redirect_uri=" + form_encode(request.redirect_uri) +
         "&scope=" + form_encode(provider.scopes) + "&state=" + form_encode(request.state) +
         "&nonce=" + form_encode(request.nonce) +
         "&code_challenge=" + form_encode(request.code_challenge) + "&code_challenge_method=S256";
  return url;
}

TokenRequest build_token_request(const SigninProvider& provider, ClientAuthMethod method,
                                 std::string_view code, std::string_view code_verifier,
                                 std::string_view redirect_uri) {
  TokenRequest request;
  request.body = "grant_type=authorization_code&code=" + form_encode(code) +
                 "&redirect_uri=" + form_encode(redirect_uri) +
                 "&code_verifier=" + form_encode(code_verifier);
  if (method == ClientAuthMethod::kClientSecretPost) {
    request.body += "&client_id=" + form_encode(provider.client_id) +
                    "&client_secret=" + form_encode(provider.client_secret);
  } else {
    request.authorization = "Basic " + encode_base64(form_encode(provider.client_id) + ":" +
                                                     form_encode(provider.client_secret));
  }
  return request;
}

Result<ProviderMetadata> UpstreamClient::metadata(std::int64_t now) {
  if (metadata_ && now - metadata_fetched_at_ < options_.max_age_seconds) return *metadata_;
  identity::FetchOptions fetch;
  fetch.ca_file = provider_.ca_file;
  fetch.timeout_ms = options_.timeout_ms;
  auto text = identity::fetch_https(discovery_url(provider_.issuer), fetch);
  if (!text) return make_error("discovery: " + text.error().message);
  auto parsed = parse_provider_metadata(*text, provider_.issuer);
  if (!parsed) return parsed.error();
  metadata_ = std::move(*parsed);
  metadata_fetched_at_ = now;
  return *metadata_;
}

Result<std::string> UpstreamClient::authorization_url(const AuthorizationRequest& request,
                                                      std::int64_t now) {
  auto found = metadata(now);
  if (!found) return found.error();
  return build_authorization_url(*found, provider_, request);
}

Result<std::string> UpstreamClient::jwks(std::int64_t now, bool refetch) {
  if (!refetch && !jwks_.empty() && now - jwks_fetched_at_ < options_.max_age_seconds) {
    return jwks_;
  }
  auto found = metadata(now);
  if (!found) return found.error();
  identity::FetchOptions fetch;
  fetch.ca_file = provider_.ca_file;
  fetch.timeout_ms = options_.timeout_ms;
  auto text = identity::fetch_https(found->jwks_uri, fetch);
  if (!text) return make_error("jwks: " + text.error().message);
  jwks_ = std::move(*text);
  jwks_fetched_at_ = now;
  return jwks_;
}

Result<UpstreamIdentity> UpstreamClient::exchange(std::string_view code,
                                                  std::string_view code_verifier,
                                                  std::string_view redirect_uri,
                                                  std::string_view nonce, std::int64_t now) {
  auto found = metadata(now);
  if (!found) return found.error();
  const TokenRequest token_request =
      build_token_request(provider_, found->token_auth, code, code_verifier, redirect_uri);
  identity::HttpsRequest request;
  request.method = "POST";
  request.content_type = "application/x-www-form-urlencoded";
  request.body = token_request.body;
  if (!token_request.authorization.empty()) {
    request.headers.emplace_back("Authorization", token_request.authorization);
  }
  identity::FetchOptions fetch;
  fetch.ca_file = provider_.ca_file;
  fetch.timeout_ms = options_.timeout_ms;
  auto answer = identity::https_request(found->token_endpoint, request, fetch);
  if (!answer) return answer.error();
  auto tokens = parse_token_response(answer->status, answer->body);
  if (!tokens) return tokens.error();

  auto keys = jwks(now, false);
  if (!keys) return keys.error();
  auto person = verify_id_token(tokens->id_token, *keys, provider_, nonce, now);
  // A kid the kept set lacks: the provider may have rotated its keys since the last fetch.
  if (!person && person.error().message == "id_token: unknown kid" && jwks_fetched_at_ != now) {
    keys = jwks(now, true);
    if (!keys) return keys.error();
    person = verify_id_token(tokens->id_token, *keys, provider_, nonce, now);
  }
  return person;
}

}  // namespace tg::auth::upstream
