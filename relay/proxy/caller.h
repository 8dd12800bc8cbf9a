/// Who is calling: the credentials of one request, checked.
///
/// The proxy asks once per request (and again when it re-decides a long-lived stream): it
/// finds the bearer JWT or API key (identity::find_credentials), verifies the token through
/// its worker's cache, and looks the key up. The result feeds the access decision (`jwt.*`,
/// `api_key.name`), names the caller in logs, the audit trail and the assertion header, and
/// tells the proxy which headers carried credentials so they never reach the service.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/identity/sources.h"
#include "relay/identity/token_cache.h"
#include "relay/policy/context.h"

namespace tg {

struct Caller {
  enum class Status : std::uint8_t {
    kAnonymous,   // no credential the relay reads
    kIdentified,  // every credential presented checked out
    kRefused,     // a credential was presented and did not check out: 401
  };
  Status status = Status::kAnonymous;
  std::string_view error;  // kRefused: a short phrase, safe to send to the visitor
  std::string detail;      // kRefused: the verifier's exact reason, for the log only
  /// The verified token, valid until the worker's token cache is next used (so: within the
  /// request's decision). Null without one.
  const identity::VerifiedToken* token = nullptr;
  std::string_view api_key_name;        // "" without a key
  bool authorization_consumed = false;  // the Authorization header held the relay's credential
  bool api_key_header_consumed = false;
  bool from_session_cookie = false;  // the token was the relay's browser-session cookie
  /// Last second (epoch) at which the caller's token is accepted; 0 without a token.
  std::int64_t valid_until = 0;

  bool identified() const { return status == Status::kIdentified; }
  /// Who, for logs and assertions: the token's `sub` (its email when it has none), else the
  /// API key's name; "" when anonymous.
  std::string_view subject() const;
  /// Sets the jwt.* and api_key.name attributes.
  void fill(policy::AccessContext& context) const;
};

/// Checks the credentials in `headers` for a request to the tunnel at `tunnel_url` at `now`.
/// `session_cookie` names the relay's browser-session cookie when sign-in is on ("" off).
Caller identify_caller(const policy::KeyLookup& headers, std::string_view api_key_header,
                       const identity::Sources& sources, identity::TokenCache& cache,
                       std::string_view tunnel_url, std::int64_t now,
                       std::string_view session_cookie = {});

}  // namespace tg
