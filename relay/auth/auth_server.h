/// The relay's authorization server and browser sign-in: every endpoint of the auth host,
/// and the reserved path prefix every tunnel keeps for the relay (`/.tunnelgate/`).
///
/// On the auth host (`https://auth.DOMAIN`, the issuer):
///   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
///   GET  /.well-known/openid-configuration         the same document
///   GET  /jwks.json                                the keys that sign access tokens
///   POST /register                                 Dynamic Client Registration (RFC 7591)
///   GET  /authorize                                code + PKCE S256 + resource (RFC 8707)
///   POST /consent                                  the consent page's answer (CSRF-checked)
///   POST /token                                    authorization_code, refresh_token
///   POST /revoke                                   RFC 7009
///   GET  /signin?return_to=URL                     choose a provider (or the --dev form)
///   GET  /signin/start?provider=ID&return_to=URL   off to the upstream provider
///   GET  /callback                                 back from it
///   POST /signin/dev                               --dev only
///   GET  /signout                                  ends the sign-in on the auth host
/// On every tunnel:
///   GET  /.tunnelgate/handoff?token=…   turns a one-time hand-off into the tunnel's cookie
///   GET  /.tunnelgate/signout           removes it, then signs out on the auth host
///
/// One AuthServer per sign-in thread (its keyring copy and signing key are its own); the
/// AuthState behind it is shared. `handle` may block on an upstream provider (the sign-in
/// threads exist for that), never on anything a worker holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/auth/auth_state.h"
#include "relay/auth/client_metadata_fetch.h"
#include "relay/auth/exchange.h"
#include "relay/auth/grants.h"
#include "relay/auth/sealed_box.h"
#include "relay/auth/signing_keys.h"
#include "relay/base/result.h"
#include "relay/config/signin_client.h"

namespace tg::auth {

/// The upstream OpenID providers, as the endpoints use them (upstream/… implements it).
class Upstreams {
 public:
  struct Provider {
    std::string id;
    std::string name;
  };
  virtual ~Upstreams() = default;
  virtual std::span<const Provider> providers() const = 0;
  /// Where to send the browser to sign in with provider `id`.
  virtual Result<std::string> authorization_url(std::string_view id, std::string_view redirect_uri,
                                                std::string_view state, std::string_view nonce,
                                                std::string_view code_challenge) = 0;
  /// Exchanges `code` and verifies the id_token; the person it names, or why not.
  virtual Result<Person> finish(std::string_view id, std::string_view code,
                                std::string_view redirect_uri, std::string_view code_verifier,
                                std::string_view nonce, std::int64_t now) = 0;
};

/// Counters of the sign-in endpoints, for /metrics (shared by the sign-in threads).
struct SigninCounters {
  std::atomic<std::uint64_t> signins{0};
  std::atomic<std::uint64_t> signin_failures{0};
  std::atomic<std::uint64_t> consents{0};
  std::atomic<std::uint64_t> registrations{0};
  std::atomic<std::uint64_t> registrations_refused{0};
  std::atomic<std::uint64_t> tokens_issued{0};
  std::atomic<std::uint64_t> refreshes{0};
  std::atomic<std::uint64_t> refresh_reuse{0};
  std::atomic<std::uint64_t> revocations{0};
  std::atomic<std::uint64_t> token_errors{0};
  std::atomic<std::uint64_t> handoffs{0};
  std::atomic<std::uint64_t> handoffs_refused{0};
};

struct ServerSettings {
  std::string issuer;       // "https://auth.relay.example[:port]"
  std::string domain;       // tunnels are NAME.DOMAIN
  std::string port_suffix;  // ":8443", or "" for 443
  std::string auth_label;   // "auth"
  std::int64_t access_token_seconds = 3600;
  std::int64_t refresh_token_seconds = 2'592'000;
  std::int64_t session_seconds = 43'200;
  std::int64_t code_seconds = 60;
  bool dev_signin = false;
  std::string own_fields;  // header lines every answer carries (HSTS)
  std::vector<policy::Cidr> client_metadata_allow;
  std::string client_metadata_ca;
  std::vector<SigninClient> clients;  // registered by the operator
};

class AuthServer {
 public:
  /// `thread`: which sign-in thread this is (its key in each set of `keys`).
  AuthServer(const ServerSettings& settings, SealKeyring keyring, SigningKeys& keys,
             unsigned thread, AuthState& state, SigninCounters& counters, Upstreams* upstreams,
             int audit_fd);

  Answer handle(const Request& request, std::int64_t now);

 private:
  struct Context;
  Answer auth_host(Context& context);
  Answer tunnel_prefix(Context& context);

  Answer metadata(Context& context);
  Answer register_client(Context& context);
  Answer authorize(Context& context);
  Answer consent(Context& context);
  Answer token(Context& context);
  Answer revoke(Context& context);
  Answer signin(Context& context);
  Answer signin_start(Context& context);
  Answer callback(Context& context);
  Answer dev_signin(Context& context);
  Answer signout(Context& context);
  Answer handoff(Context& context);
  Answer tunnel_signout(Context& context);

  // The signed-in person on the auth host, from its cookie.
  const AuthSession* session(Context& context);
  // After a sign-in: a new session cookie and a redirect onwards.
  Answer signed_in(Context& context, const Person& person, std::string_view return_to);
  // Where a signed-in person goes next: a tunnel (through a hand-off) or an auth host path.
  Answer continue_to(Context& context, const Person& person, std::string_view return_to,
                     std::string_view extra_fields);
  Answer issue_code(Context& context, const std::string& query, const Person& person,
                    std::string_view extra_fields);
  Answer token_response(Context& context, const RefreshGrant& grant, std::string_view family);

  std::string csrf_token(std::string_view session_id) const;
  std::string tunnel_origin_of(std::string_view url) const;
  Result<Registration> find_client(std::string_view client_id, std::int64_t now);
  // The client a token or revocation request comes from: its id once its secret checks out
  // (a configured confidential client), or the client_id it names (a public client).
  Result<std::string> authenticate_client(Context& context);
  void audit(std::string_view event,
             std::initializer_list<std::pair<std::string_view, std::string_view>> facts);

  Answer html(int status, std::string_view body, std::string_view fields = {});
  Answer json(int status, std::string_view body, std::string_view fields = {});
  Answer redirect(std::string_view location, std::string_view fields = {});
  Answer oauth_error(int status, std::string_view error, std::string_view description);

  const ServerSettings& settings_;
  SealKeyring keyring_;
  SigningKeys& keys_;
  const unsigned thread_;
  AuthState& state_;
  SigninCounters& counters_;
  Upstreams* upstreams_;
  int audit_fd_;
  ClientMetadataFetcher metadata_fetcher_;
};

}  // namespace tg::auth
