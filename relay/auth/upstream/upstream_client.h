/// Signing a person in through one upstream OpenID provider: the blocking client that a
/// control thread (never a worker's loop) uses for discovery, the authorization URL and the
/// code exchange.
///
/// The flow, as the relay's authorization server drives it:
///  1. `authorization_url` (discovering the provider first, when needed) gives the URL the
///     browser is sent to: response_type=code, client_id, redirect_uri, scope, state, nonce,
///     code_challenge and code_challenge_method=S256. The caller makes state, nonce and the
///     PKCE verifier (random, at least 128 bits each) and keeps them, sealed, for step 2.
///  2. The provider redirects back with `code` and `state`; the caller checks the state, then
///     `exchange` POSTs the code with the verifier to the token endpoint (client_secret_basic,
///     or client_secret_post when discovery lists only that), and verifies the id_token
///     (upstream_identity.h) against the provider's JWKS and the nonce.
///
/// Discovery and the JWKS are fetched with relay/identity's https_request (the provider's
/// `ca_file`, 1 MiB, 5 s, no redirects) and kept for `max_age_seconds`; a token signed by a
/// kid the kept JWKS lacks fetches it once more (the provider rotated its keys). A failed
/// discovery is not cached: the next call tries again.
///
/// One instance belongs to one thread: nothing here locks. Errors are one line led by what
/// failed ("discovery: …", "https://idp/token: timed out", "token endpoint: invalid_grant",
/// "id_token: nonce does not match").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "relay/auth/upstream/provider_metadata.h"
#include "relay/auth/upstream/upstream_identity.h"
#include "relay/base/result.h"
#include "relay/config/signin_provider.h"

namespace tg::auth::upstream {

/// What one authorization request carries beyond the provider's configuration.
struct AuthorizationRequest {
  std::string redirect_uri;    // the relay's callback, registered at the provider
  std::string state;           // opaque, checked by the caller on the way back
  std::string nonce;           // bound into the id_token
  std::string code_challenge;  // auth::s256_challenge(verifier)
};

/// The provider's authorization endpoint with the request's parameters appended (after "&"
/// when the endpoint already has a query). Pure.
std::string build_authorization_url(const ProviderMetadata& metadata,
                                    const SigninProvider& provider,
                                    const AuthorizationRequest& request);

/// The form body and headers of the code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5), with the
/// client's credentials as `method` says (RFC 6749 §2.3.1: form-encoded before base64). Pure.
struct TokenRequest {
  std::string body;
  std::string authorization;  // "Basic …", or "" for client_secret_post
};
TokenRequest build_token_request(const SigninProvider& provider, ClientAuthMethod method,
                                 std::string_view code, std::string_view code_verifier,
                                 std::string_view redirect_uri);

class UpstreamClient {
 public:
  struct Options {
    int timeout_ms = 5000;                // each HTTPS exchange, connect to last byte
    std::int64_t max_age_seconds = 3600;  // discovery and JWKS are fetched again after this
  };

  /// `provider` must have its client secret read (load_config does).
  explicit UpstreamClient(SigninProvider provider) : UpstreamClient(std::move(provider), {}) {}
  UpstreamClient(SigninProvider provider, Options options)
      : provider_(std::move(provider)), options_(options) {}

  const SigninProvider& provider() const { return provider_; }

  /// The discovery document, fetched when not kept or older than max_age_seconds.
  Result<ProviderMetadata> metadata(std::int64_t now);

  /// Step 1 (see above).
  Result<std::string> authorization_url(const AuthorizationRequest& request, std::int64_t now);

  /// Step 2 (see above): `nonce` and `code_verifier` are the ones step 1 used.
  Result<UpstreamIdentity> exchange(std::string_view code, std::string_view code_verifier,
                                    std::string_view redirect_uri, std::string_view nonce,
                                    std::int64_t now);

 private:
  Result<std::string> jwks(std::int64_t now, bool refetch);

  SigninProvider provider_;
  Options options_;
  std::optional<ProviderMetadata> metadata_;
  std::int64_t metadata_fetched_at_ = 0;
  std::string jwks_;
  std::int64_t jwks_fetched_at_ = 0;
};

}  // namespace tg::auth::upstream
