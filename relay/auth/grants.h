/// What the sign-in endpoints carry in sealed values (sealed_box.h) instead of server-side
/// tables: authorization codes, refresh tokens, hand-offs to a tunnel, a person's sign-in on
/// the auth host, dynamically registered clients and pending consents.
///
/// Each is a plain struct with an encoding to and from text (form-encoded fields, so the
/// strict form parser reads them back); sealing binds the text to a purpose, so one kind can
/// never be replayed as another. Pure functions; times are seconds since the epoch, passed in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::auth {

/// A person signed in through an upstream provider (or the --dev page).
struct Person {
  std::string sub;  // "IDP:upstream-sub": unique across providers
  std::string email;
  std::string name;
  std::string idp;  // the provider's id ("dev" for the --dev page)
  std::vector<std::string> groups;
};

/// An authorization code: single use (by `id`), bound to client, redirect URI, PKCE challenge
/// and resource.
struct CodeGrant {
  std::string id;
  std::string client_id;
  std::string redirect_uri;
  std::string challenge;  // S256
  std::string resource;   // the tunnel's URL: the token's audience
  std::string scope;
  Person person;
  std::int64_t expires = 0;
};

/// A refresh token: generation `generation` of family `family` (auth_state.h keeps which
/// generation is current, so a used token's reuse is seen and revokes the family).
struct RefreshGrant {
  std::string family;
  std::uint64_t generation = 0;
  std::string client_id;
  std::string resource;
  std::string scope;
  Person person;
  std::int64_t family_expires = 0;
};

/// A one-time hand-off from the auth host to a tunnel's host, which turns it into that
/// host's session cookie.
struct Handoff {
  std::string id;
  std::string host;  // the tunnel's host, exactly
  std::string path;  // where the browser was going on it (path and query)
  Person person;
  std::int64_t expires = 0;
};

/// A person's sign-in on the auth host (its cookie).
struct AuthSession {
  std::string id;  // random: CSRF tokens are derived from it
  Person person;
  std::int64_t expires = 0;
};

/// A client registered through Dynamic Client Registration: the client_id is this, sealed.
struct Registration {
  std::string name;
  std::vector<std::string> redirect_uris;
  std::int64_t issued = 0;
};

/// The sealing purposes, one per kind.
inline constexpr std::string_view kCodePurpose = "code";
inline constexpr std::string_view kRefreshPurpose = "refresh";
inline constexpr std::string_view kHandoffPurpose = "handoff";
inline constexpr std::string_view kAuthSessionPurpose = "auth-session";
inline constexpr std::string_view kRegistrationPurpose = "client";
inline constexpr std::string_view kConsentPurpose = "consent";
inline constexpr std::string_view kSigninStatePurpose = "signin-state";

std::string encode(const CodeGrant& grant);
std::string encode(const RefreshGrant& grant);
std::string encode(const Handoff& handoff);
std::string encode(const AuthSession& session);
std::string encode(const Registration& registration);

Result<CodeGrant> decode_code(std::string_view text);
Result<RefreshGrant> decode_refresh(std::string_view text);
Result<Handoff> decode_handoff(std::string_view text);
Result<AuthSession> decode_auth_session(std::string_view text);
Result<Registration> decode_registration(std::string_view text);

/// 16 random bytes, base64url: ids for codes, hand-offs, sessions and families.
Result<std::string> random_id();

}  // namespace tg::auth
