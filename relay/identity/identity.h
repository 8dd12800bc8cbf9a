/// Who is calling: the identity layer that turns a visitor's credentials into the `jwt.*` and
/// `api_key.name` attributes of an access decision.
///
/// It owns checking credentials, nothing else: finding them in the request headers
/// (credentials.h), verifying bearer JWTs against the issuers and JWKS of the policy's
/// `[[identity.jwt]]` tables (jwt_verifier.h, jwks.h, jws_signature.h), remembering verified
/// tokens until they expire (token_cache.h), and looking API keys up by their SHA-256
/// (api_keys.h). For the control path it also fetches the JWKS of https:// issuers and keeps
/// the last good documents, refreshed when the caller asks (jwks_fetch.h, jwks_source.h), and
/// early when a verifier meets a token's unknown kid (jwks_refresh_requests.h: the one,
/// lock-free way a worker reaches the refresh thread). It does not read the clock, answer
/// 401/403 or decide access: the caller passes `now` in, and hands the results to
/// policy::Policy through an AccessContext. It also signs (jws_signer.h), for the relay's own
/// assertion header and for tests. The request-path pieces are pure functions of the caller's
/// bytes and `now` (but for that one atomic request); everything reports errors as values and
/// nothing throws.
///
/// Ownership and threads. `JwtVerifier` and `ApiKeys` are immutable once built (build them
/// with each policy load or JWKS refresh) and shared by all workers. `JwksSource` belongs to
/// the one control thread that loads policies and refreshes JWKS; workers never call it.
/// `TokenCache` belongs to one worker. A `VerifiedToken` owns its claims; `fill` points the context
/// at them.
///
/// Costs on the request path (CPU time on one core of the shared 2-core build machine,
/// RelWithDebInfo, bench/identity_benchmark.cc, a 750-byte token):
///   JWT, first sight      RS256-2048 17 µs, ES256 57 µs, EdDSA 43 µs; of which parsing and
///                         checking everything but the signature is 1.5 µs
///   JWT, cached           0.13-0.17 µs (hash and compare the token, re-check the audience);
///                         0.25-0.45 µs with 4,096 tokens cached (beyond the CPU caches)
///   API key               0.16 µs among 1,000 keys (one SHA-256 and a binary search)
///   finding credentials   0.08 µs over 8 headers; filling the context 4 ns, no allocation
///
/// The request path, as the integrator is expected to write it:
///
///   identity::Credentials found = identity::find_credentials(
///       policy::KeyLookup::headers(head.headers), config.api_key_header);
///   if (!found.problem.empty()) → 401
///   if (!found.jwt.empty()) {
///     auto token = worker.token_cache.verify(*verifier, found.jwt, tunnel_url, now);
///     if (!token) → 401 (WWW-Authenticate: Bearer error="invalid_token"), log token.error()
///     (*token)->fill(context);
///   }
///   if (!found.api_key.empty()) {
///     auto name = api_keys->find(found.api_key);
///     if (!name) → 401
///     context.api_key_name = *name;
///   }
///   policy.decide_access(context) …
#pragma once

#include "relay/identity/api_keys.h"
#include "relay/identity/base64url.h"
#include "relay/identity/credentials.h"
#include "relay/identity/jwks.h"
#include "relay/identity/jwks_fetch.h"
#include "relay/identity/jwks_refresh_requests.h"
#include "relay/identity/jwks_source.h"
#include "relay/identity/jws_algorithm.h"
#include "relay/identity/jws_signature.h"
#include "relay/identity/jws_signer.h"
#include "relay/identity/jwt_verifier.h"
#include "relay/identity/token_cache.h"
#include "relay/identity/verified_token.h"
