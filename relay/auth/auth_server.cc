#include "relay/auth/auth_server.h"

#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "relay/auth/client_registration.h"
#include "relay/auth/cookies.h"
#include "relay/auth/form_fields.h"
#include "relay/auth/pages.h"
#include "relay/auth/pkce.h"
#include "relay/auth/redirect_uri.h"
#include "relay/http/http.h"
#include "relay/identity/base64url.h"
#include "relay/identity/jwks_fetch.h"
#include "relay/log/log.h"
#include "relay/names.h"

namespace tg::auth {
namespace {

using identity::json_quote;

// Pages are plain HTML with inline style only: nothing else may load, and no one may frame
// them (clickjacking the consent button). same-origin, not no-referrer: with no-referrer a
// browser sends "Origin: null" on the pages' own form posts, and the Origin check needs it.
constexpr std::string_view kPageFields =
    "content-security-policy: default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'\r\n"
    "x-frame-options: DENY\r\nx-content-type-options: nosniff\r\nreferrer-policy: same-origin\r\n";
constexpr std::string_view kConsentRequestPurpose = "consent-request";
constexpr std::string_view kDevFormPurpose = "dev-form";
constexpr std::string_view kRefreshPrefix = "tgr1.";
constexpr std::string_view kClientPrefix = "tgc1.";
constexpr std::size_t kMaxRememberedConsents = 32;
constexpr std::size_t kMaxScopeBytes = 1024;

std::string sha256_base64url(std::string_view text) {
  std::uint8_t digest[WC_SHA256_DIGEST_SIZE];
  wc_Sha256Hash(reinterpret_cast<const std::uint8_t*>(text.data()),
                static_cast<word32>(text.size()), digest);
  return identity::encode_base64url(std::span<const std::uint8_t>(digest, 16));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// A scope value: space-separated tokens of visible ASCII except " and \ (RFC 6749 §3.3).
bool valid_scope(std::string_view scope) {
  if (scope.size() > kMaxScopeBytes) return false;
  return std::all_of(scope.begin(), scope.end(), [](char c) {
    return c == ' ' || (c >= 0x21 && c <= 0x7e && c != '"' && c != '\\');
  });
}

std::string host_of_uri(std::string_view uri) {
  const std::size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos) return std::string(uri.substr(0, uri.find(':')));
  std::string_view rest = uri.substr(scheme + 3);
  return std::string(rest.substr(0, rest.find_first_of("/?#")));
}

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(json_quote(items[i]));
  }
  return out.append("]");
}

}  // namespace

struct AuthServer::Context {
  const Request& request;
  std::int64_t now;
  std::string_view path;
  std::string_view query_text;
  FormFields query;
  FormFields form;
  std::optional<AuthSession> session;
  bool session_read = false;
};

AuthServer::AuthServer(const ServerSettings& settings, SealKeyring keyring, SigningKeys& keys,
                       unsigned thread, AuthState& state, SigninCounters& counters,
                       Upstreams* upstreams, int audit_fd)
    : settings_(settings),
      keyring_(std::move(keyring)),
      keys_(keys),
      thread_(thread),
      state_(state),
      counters_(counters),
      upstreams_(upstreams),
      audit_fd_(audit_fd),
      metadata_fetcher_(settings.client_metadata_allow, settings.client_metadata_ca) {}

// --- answers ---------------------------------------------------------------------------------

Answer AuthServer::html(int status, std::string_view body, std::string_view fields) {
  std::string all = settings_.own_fields;
  all.append(kPageFields).append(fields);
  return {http::make_response(status, "text/html; charset=utf-8", all, body, false), status, false};
}

Answer AuthServer::json(int status, std::string_view body, std::string_view fields) {
  std::string all = settings_.own_fields;
  all.append("x-content-type-options: nosniff\r\n").append(fields);
  return {http::make_response(status, "application/json", all, body, false), status, false};
}

Answer AuthServer::redirect(std::string_view location, std::string_view fields) {
  std::string all = settings_.own_fields;
  all.append("location: ").append(location).append("\r\n").append(fields);
  all.append("referrer-policy: no-referrer\r\n");
  return {http::make_response(302, "text/plain", all, "", false), 302, false};
}

Answer AuthServer::oauth_error(int status, std::string_view error, std::string_view description) {
  ++counters_.token_errors;
  return json(status, "{\"error\":" + json_quote(error) +
                          ",\"error_description\":" + json_quote(description) + "}");
}

void AuthServer::audit(std::string_view event,
                       std::initializer_list<std::pair<std::string_view, std::string_view>> facts) {
  log::JsonLine line(event);
  for (const auto& [key, value] : facts) line.add_present(key, value);
  const std::string text = line.finish();
  log::write_now(text);
  if (audit_fd_ >= 0 && !text.empty()) (void)!::write(audit_fd_, text.data(), text.size());
}

// --- dispatch --------------------------------------------------------------------------------

Answer AuthServer::handle(const Request& request, std::int64_t now) {
  const std::size_t mark = request.target.find('?');
  Context context{request,
                  now,
                  std::string_view(request.target).substr(0, mark),
                  mark == std::string::npos ? std::string_view()
                                            : std::string_view(request.target).substr(mark + 1),
                  {},
                  {},
                  std::nullopt,
                  false};
  auto query = FormFields::parse(context.query_text);
  if (!query) return html(400, message_page("Bad request", query.error().message));
  context.query = std::move(*query);
  if (request.method == "POST") {
    if (!request.content_type.starts_with("application/x-www-form-urlencoded") &&
        !(request.auth_host && context.path == "/register")) {
      return oauth_error(415, "invalid_request",
                         "the body must be application/x-www-form-urlencoded");
    }
    if (context.path != "/register") {
      auto form = FormFields::parse(request.body);
      if (!form) return oauth_error(400, "invalid_request", form.error().message);
      context.form = std::move(*form);
    }
  }
  return request.auth_host ? auth_host(context) : tunnel_prefix(context);
}

Answer AuthServer::auth_host(Context& context) {
  const std::string_view path = context.path;
  const bool get = context.request.method == "GET" || context.request.method == "HEAD";
  const bool post = context.request.method == "POST";
  if (get && (path == "/.well-known/oauth-authorization-server" ||
              path == "/.well-known/openid-configuration")) {
    return metadata(context);
  }
  if (get && path == "/jwks.json") return json(200, keys_.jwks());
  if (post && path == "/register") return register_client(context);
  if (get && path == "/authorize") return authorize(context);
  if (post && path == "/consent") return consent(context);
  if (post && path == "/token") return token(context);
  if (post && path == "/revoke") return revoke(context);
  if (get && path == "/signin") return signin(context);
  if (get && path == "/signin/start") return signin_start(context);
  if (get && path == "/callback") return callback(context);
  if (post && path == "/signin/dev") return dev_signin(context);
  if (get && path == "/signout") return signout(context);
  if (get && path == "/") {
    const AuthSession* who = session(context);
    return html(200, message_page("tunnelgate sign-in",
                                  who != nullptr ? "Signed in as " + who->person.email + "."
                                                 : std::string("Not signed in.")));
  }
  return html(404, message_page("Not found", "The relay's sign-in has no such page."));
}

Answer AuthServer::tunnel_prefix(Context& context) {
  const bool get = context.request.method == "GET" || context.request.method == "HEAD";
  if (get && context.path == "/.tunnelgate/handoff") return handoff(context);
  if (get && context.path == "/.tunnelgate/signout") return tunnel_signout(context);
  return html(404, message_page("Not found",
                                "Paths under /.tunnelgate/ are the relay's own on every tunnel."));
}

// --- helpers ---------------------------------------------------------------------------------

std::string AuthServer::csrf_token(std::string_view session_id) const {
  return sha256_base64url(std::string("csrf\n").append(session_id));
}

std::string AuthServer::tunnel_origin_of(std::string_view url) const {
  auto parsed = identity::parse_https_url(url);
  if (!parsed) return {};
  const auto name = name_under_domain(parsed->host, settings_.domain);
  if (!name || *name == settings_.auth_label || validate_name(*name)) return {};
  const std::string port = parsed->port == 443 ? "" : ":" + std::to_string(parsed->port);
  if (port != settings_.port_suffix) return {};
  return "https://" + parsed->host + port;
}

const AuthSession* AuthServer::session(Context& context) {
  if (!context.session_read) {
    context.session_read = true;
    const std::string_view sealed = cookie_value(context.request.cookie, kAuthSessionCookie);
    if (!sealed.empty()) {
      auto text = keyring_.open(kAuthSessionPurpose, sealed);
      if (text) {
        auto decoded = decode_auth_session(*text);
        if (decoded && decoded->expires > context.now) context.session = std::move(*decoded);
      }
    }
  }
  return context.session ? &*context.session : nullptr;
}

Result<Registration> AuthServer::find_client(std::string_view client_id, std::int64_t now) {
  for (const SigninClient& client : settings_.clients) {
    if (client.id == client_id) return Registration{client.name, client.redirect_uris, 0};
  }
  if (client_id.starts_with(kClientPrefix)) {
    auto text = keyring_.open(kRegistrationPurpose, client_id.substr(kClientPrefix.size()));
    if (!text) return make_error("unknown client_id");
    return decode_registration(*text);
  }
  if (client_id.starts_with("https://")) {
    auto metadata = metadata_fetcher_.fetch(client_id, now);
    if (!metadata) return metadata.error();
    return Registration{metadata->client_name, metadata->redirect_uris, now};
  }
  return make_error("unknown client_id");
}

Result<std::string> AuthServer::authenticate_client(Context& context) {
  std::string id(context.form.get("client_id"));
  std::string secret(context.form.get("client_secret"));
  const std::string_view authorization = context.request.authorization;
  const bool basic = authorization.size() > 6 && (authorization.substr(0, 6) == "Basic " ||
                                                  authorization.substr(0, 6) == "basic ");
  if (!authorization.empty() && !basic) return make_error("unsupported client authentication");
  if (basic) {
    if (!secret.empty()) return make_error("the client authenticated twice");
    // RFC 6749 §2.3.1: base64(form_encode(id) ":" form_encode(secret)).
    std::string text(authorization.substr(6));
    while (!text.empty() && text.back() == '=') text.pop_back();
    for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
    auto decoded = identity::decode_base64url(text);
    const std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return make_error("malformed Basic credentials");
    auto pair =
        FormFields::parse("i=" + decoded->substr(0, colon) + "&s=" + decoded->substr(colon + 1));
    if (!pair) return make_error("malformed Basic credentials");
    if (!id.empty() && id != pair->get("i")) {
      return make_error("client_id differs from the credentials");
    }
    id = pair->get("i");
    secret = pair->get("s");
  }
  if (id.empty()) return make_error("client_id is missing");
  for (const SigninClient& client : settings_.clients) {
    if (client.id != id) continue;
    if (client.secret.empty()) break;  // a public client registered by the operator
    if (secret.empty() || !constant_time_equal(secret, client.secret)) {
      return make_error("the client's secret is not valid");
    }
    return id;
  }
  if (!secret.empty()) return make_error("this client has no secret; it authenticates with none");
  return id;
}

// --- metadata and registration -------------------------------------------------------------

Answer AuthServer::metadata(Context&) {
  const std::string& i = settings_.issuer;
  std::string body = "{\"issuer\":" + json_quote(i);
  body.append(",\"authorization_endpoint\":").append(json_quote(i + "/authorize"));
  body.append(",\"token_endpoint\":").append(json_quote(i + "/token"));
  body.append(",\"registration_endpoint\":").append(json_quote(i + "/register"));
  body.append(",\"revocation_endpoint\":").append(json_quote(i + "/revoke"));
  body.append(",\"jwks_uri\":").append(json_quote(i + "/jwks.json"));
  body.append(
      ",\"response_types_supported\":[\"code\"],\"response_modes_supported\":[\"query\"],"
      "\"grant_types_supported\":[\"authorization_code\",\"refresh_token\"],"
      "\"code_challenge_methods_supported\":[\"S256\"],"
      "\"token_endpoint_auth_methods_supported\":[\"none\",\"client_secret_basic\","
      "\"client_secret_post\"],"
      "\"revocation_endpoint_auth_methods_supported\":[\"none\",\"client_secret_basic\","
      "\"client_secret_post\"],"
      "\"client_id_metadata_document_supported\":true,"
      "\"authorization_response_iss_parameter_supported\":true,"
      "\"scopes_supported\":[\"openid\",\"email\",\"profile\",\"groups\",\"offline_access\"],"
      "\"subject_types_supported\":[\"public\"],"
      "\"id_token_signing_alg_values_supported\":[\"ES256\"]}");
  return json(200, body);
}

Answer AuthServer::register_client(Context& context) {
  if (!state_.allow_registration(context.now)) {
    ++counters_.registrations_refused;
    audit("client_registration_refused",
          {{"client", context.request.peer_ip}, {"reason", "rate limit"}});
    Answer answer =
        oauth_error(429, "invalid_client_metadata", "too many registrations; retry in a minute");
    return answer;
  }
  auto parsed = parse_registration_request(context.request.body);
  if (!parsed) {
    ++counters_.registrations_refused;
    audit("client_registration_refused",
          {{"client", context.request.peer_ip}, {"reason", parsed.error().message}});
    const bool bad_uri = parsed.error().message.starts_with("redirect_uris");
    return oauth_error(400, bad_uri ? "invalid_redirect_uri" : "invalid_client_metadata",
                       parsed.error().message);
  }
  Registration registration{parsed->client_name, parsed->redirect_uris, context.now};
  auto sealed = keyring_.seal(kRegistrationPurpose, encode(registration));
  if (!sealed) return oauth_error(500, "server_error", sealed.error().message);
  const std::string client_id = std::string(kClientPrefix) + *sealed;
  ++counters_.registrations;
  audit("client_registered", {{"client", context.request.peer_ip},
                              {"client_name", registration.name},
                              {"redirect_host", host_of_uri(registration.redirect_uris.front())}});
  std::string body = "{\"client_id\":" + json_quote(client_id);
  body.append(",\"client_id_issued_at\":").append(std::to_string(context.now));
  body.append(",\"redirect_uris\":").append(json_list(registration.redirect_uris));
  if (!registration.name.empty()) {
    body.append(",\"client_name\":").append(json_quote(registration.name));
  }
  body.append(
      ",\"token_endpoint_auth_method\":\"none\",\"grant_types\":[\"authorization_code\","
      "\"refresh_token\"],\"response_types\":[\"code\"]}");
  return json(201, body);
}

// --- authorization ---------------------------------------------------------------------------

Answer AuthServer::authorize(Context& context) {
  const FormFields& q = context.query;
  const std::string_view client_id = q.get("client_id");
  const std::string_view redirect_uri = q.get("redirect_uri");
  // Until the client and its redirect URI are known good, errors stay on this page: a
  // redirect to an unchecked URI would make the relay an open redirector (RFC 6749 §4.1.2.1).
  auto client = find_client(client_id, context.now);
  if (!client) {
    return html(
        400, message_page("Unknown application", "The application's client_id is not known here: " +
                                                     client.error().message));
  }
  const auto registered =
      std::find_if(client->redirect_uris.begin(), client->redirect_uris.end(),
                   [&](const std::string& uri) { return redirect_uri_matches(uri, redirect_uri); });
  if (redirect_uri.empty() || registered == client->redirect_uris.end()) {
    return html(400, message_page("Wrong redirect address",
                                  "The application asked to return to an address it did not "
                                  "register."));
  }
  auto fail = [&](std::string_view error, std::string_view description) {
    std::string location(redirect_uri);
    location.append(redirect_uri.find('?') == std::string_view::npos ? "?" : "&");
    location.append("error=").append(error);
    location.append("&error_description=").append(form_encode(description));
    if (q.find("state") != nullptr) location.append("&state=").append(form_encode(q.get("state")));
    location.append("&iss=").append(form_encode(settings_.issuer));
    return redirect(location);
  };
  if (q.get("response_type") != "code") {
    return fail("unsupported_response_type", "only response_type=code is supported");
  }
  if (q.get("code_challenge_method") != "S256" || !is_s256_challenge(q.get("code_challenge"))) {
    return fail("invalid_request", "PKCE with code_challenge_method=S256 is required");
  }
  if (tunnel_origin_of(q.get("resource")).empty()) {
    return fail("invalid_target", "resource must name a tunnel of this relay");
  }
  if (!valid_scope(q.get("scope"))) return fail("invalid_scope", "the scope is malformed");

  const AuthSession* who = session(context);
  if (who == nullptr) {
    return redirect(settings_.issuer + "/signin?return_to=" +
                    form_encode("/authorize?" + std::string(context.query_text)));
  }
  // Consent already given by this person to this client for this tunnel (and these scopes)?
  const std::string consent_key =
      sha256_base64url(who->person.sub + "\n" + std::string(client_id) + "\n" +
                       tunnel_origin_of(q.get("resource")) + "\n" + std::string(q.get("scope")));
  if (auto remembered =
          keyring_.open(kConsentPurpose, cookie_value(context.request.cookie, kConsentCookie))) {
    if (remembered->find(consent_key) != std::string::npos) {
      return issue_code(context, std::string(context.query_text), who->person, {});
    }
  }
  auto request = keyring_.seal(kConsentRequestPurpose, std::to_string(context.now + 600) + " " +
                                                           std::string(context.query_text));
  if (!request) return html(500, message_page("Error", request.error().message));
  ConsentPage page;
  page.client_name = client->name;
  page.client_id = client_id;
  page.redirect_host = host_of_uri(redirect_uri);
  const std::string resource = tunnel_origin_of(q.get("resource"));
  page.resource = resource;
  page.scope = q.get("scope");
  page.email = who->person.email;
  page.request = *request;
  const std::string csrf = csrf_token(who->id);
  page.csrf = csrf;
  const std::string redirect_host = host_of_uri(redirect_uri);
  page.redirect_host = redirect_host;
  return html(200, consent_page(page));
}

Answer AuthServer::consent(Context& context) {
  const AuthSession* who = session(context);
  const std::string_view origin = context.request.origin_header;
  if (who == nullptr) return html(403, message_page("Signed out", "Sign in again, then retry."));
  // CSRF: the token is derived from the session cookie's secret id, which another site can
  // neither read nor guess; and a browser's Origin, when sent, must be the auth host.
  if (!constant_time_equal(context.form.get("csrf"), csrf_token(who->id)) ||
      (!origin.empty() && origin != settings_.issuer)) {
    audit("consent_refused", {{"client", context.request.peer_ip}, {"reason", "csrf"}});
    return html(403, message_page("Refused", "This form did not come from this page."));
  }
  auto opened = keyring_.open(kConsentRequestPurpose, context.form.get("request"));
  if (!opened) return html(400, message_page("Refused", "The request is not valid."));
  const std::size_t space = opened->find(' ');
  std::int64_t expires = 0;
  if (space == std::string::npos ||
      std::from_chars(opened->data(), opened->data() + space, expires).ec != std::errc() ||
      expires <= context.now) {
    return html(400, message_page("Expired", "The request expired; start again."));
  }
  const std::string query = opened->substr(space + 1);
  auto fields = FormFields::parse(query);
  if (!fields) return html(400, message_page("Refused", "The request is not valid."));
  if (context.form.get("decision") != "allow") {
    audit("consent_denied", {{"sub", who->person.sub}, {"client_id", fields->get("client_id")}});
    std::string location(fields->get("redirect_uri"));
    location.append(location.find('?') == std::string::npos ? "?" : "&");
    location.append("error=access_denied");
    if (fields->find("state") != nullptr) {
      location.append("&state=").append(form_encode(fields->get("state")));
    }
    location.append("&iss=").append(form_encode(settings_.issuer));
    return redirect(location);
  }
  // Remember it (the newest kMaxRememberedConsents), in a cookie sealed to this purpose.
  const std::string key = sha256_base64url(
      who->person.sub + "\n" + std::string(fields->get("client_id")) + "\n" +
      tunnel_origin_of(fields->get("resource")) + "\n" + std::string(fields->get("scope")));
  std::string remembered;
  if (auto previous =
          keyring_.open(kConsentPurpose, cookie_value(context.request.cookie, kConsentCookie))) {
    remembered = std::move(*previous);
  }
  std::vector<std::string> keys{key};
  for (std::size_t start = 0; start < remembered.size() && keys.size() < kMaxRememberedConsents;) {
    const std::size_t end = std::min(remembered.find(',', start), remembered.size());
    if (end > start && remembered.compare(start, end - start, key) != 0) {
      keys.push_back(remembered.substr(start, end - start));
    }
    start = end + 1;
  }
  std::string joined;
  for (const std::string& k : keys) joined.append(joined.empty() ? "" : ",").append(k);
  std::string fields_out;
  if (auto sealed = keyring_.seal(kConsentPurpose, joined)) {
    fields_out = set_cookie_field(kConsentCookie, *sealed, settings_.refresh_token_seconds);
  }
  ++counters_.consents;
  audit("consent_given", {{"sub", who->person.sub},
                          {"email", who->person.email},
                          {"client_id", fields->get("client_id")},
                          {"tunnel", tunnel_origin_of(fields->get("resource"))},
                          {"scope", fields->get("scope")}});
  return issue_code(context, query, who->person, fields_out);
}

Answer AuthServer::issue_code(Context& context, const std::string& query, const Person& person,
                              std::string_view extra_fields) {
  auto fields = FormFields::parse(query);
  if (!fields) return html(400, message_page("Refused", "The request is not valid."));
  auto id = random_id();
  if (!id) return html(500, message_page("Error", id.error().message));
  CodeGrant grant;
  grant.id = *id;
  grant.client_id = fields->get("client_id");
  grant.redirect_uri = fields->get("redirect_uri");
  grant.challenge = fields->get("code_challenge");
  grant.resource = tunnel_origin_of(fields->get("resource"));
  grant.scope = fields->get("scope");
  grant.person = person;
  grant.expires = context.now + settings_.code_seconds;
  auto sealed = keyring_.seal(kCodePurpose, encode(grant));
  if (!sealed) return html(500, message_page("Error", sealed.error().message));
  std::string location(grant.redirect_uri);
  location.append(location.find('?') == std::string::npos ? "?" : "&");
  location.append("code=").append(*sealed);
  if (fields->find("state") != nullptr) {
    location.append("&state=").append(form_encode(fields->get("state")));
  }
  location.append("&iss=").append(form_encode(settings_.issuer));
  return redirect(location, extra_fields);
}

// --- tokens ----------------------------------------------------------------------------------

Answer AuthServer::token_response(Context& context, const RefreshGrant& grant,
                                  std::string_view family) {
  auto jti = random_id();
  if (!jti) return oauth_error(500, "server_error", jti.error().message);
  std::string payload = "{\"iss\":" + json_quote(settings_.issuer);
  payload.append(",\"aud\":").append(json_quote(grant.resource));
  payload.append(",\"sub\":").append(json_quote(grant.person.sub));
  payload.append(",\"email\":").append(json_quote(grant.person.email));
  payload.append(",\"groups\":").append(json_list(grant.person.groups));
  payload.append(",\"idp\":").append(json_quote(grant.person.idp));
  payload.append(",\"client_id\":").append(json_quote(grant.client_id));
  payload.append(",\"scope\":").append(json_quote(grant.scope));
  payload.append(",\"tg_via\":\"oauth\",\"jti\":").append(json_quote(*jti));
  payload.append(",\"iat\":").append(std::to_string(context.now));
  payload.append(",\"exp\":").append(std::to_string(context.now + settings_.access_token_seconds));
  payload.append("}");
  auto access = keys_.sign(thread_, payload, context.now);
  if (!access) return oauth_error(500, "server_error", access.error().message);
  RefreshGrant next = grant;
  next.family = family;
  auto refresh = keyring_.seal(kRefreshPurpose, encode(next));
  if (!refresh) return oauth_error(500, "server_error", refresh.error().message);
  ++counters_.tokens_issued;
  audit("token_issued", {{"sub", grant.person.sub},
                         {"email", grant.person.email},
                         {"client_id", grant.client_id.substr(0, 80)},
                         {"tunnel", grant.resource},
                         {"scope", grant.scope},
                         {"jti", *jti}});
  std::string body = "{\"access_token\":" + json_quote(*access);
  body.append(",\"token_type\":\"Bearer\",\"expires_in\":");
  body.append(std::to_string(settings_.access_token_seconds));
  body.append(",\"refresh_token\":").append(json_quote(std::string(kRefreshPrefix) + *refresh));
  body.append(",\"scope\":").append(json_quote(grant.scope)).append("}");
  return json(200, body, "pragma: no-cache\r\n");
}

Answer AuthServer::token(Context& context) {
  const FormFields& f = context.form;
  const std::string_view grant_type = f.get("grant_type");
  auto client = authenticate_client(context);
  if (!client) return oauth_error(401, "invalid_client", client.error().message);
  if (grant_type == "authorization_code") {
    auto opened = keyring_.open(kCodePurpose, f.get("code"));
    if (!opened) return oauth_error(400, "invalid_grant", "the code is not valid");
    auto code = decode_code(*opened);
    if (!code) return oauth_error(400, "invalid_grant", "the code is not valid");
    if (code->expires <= context.now) return oauth_error(400, "invalid_grant", "the code expired");
    if (*client != code->client_id) {
      return oauth_error(400, "invalid_grant", "the code was issued to another client");
    }
    if (f.get("redirect_uri") != code->redirect_uri) {
      return oauth_error(400, "invalid_grant", "redirect_uri differs from the authorization's");
    }
    if (!s256_matches(f.get("code_verifier"), code->challenge)) {
      return oauth_error(400, "invalid_grant", "the PKCE code_verifier does not match");
    }
    if (f.find("resource") != nullptr && tunnel_origin_of(f.get("resource")) != code->resource) {
      return oauth_error(400, "invalid_target", "resource differs from the authorization's");
    }
    // Last, so a failed attempt cannot burn someone else's code.
    if (!state_.use_once(code->id, code->expires, context.now)) {
      audit("code_replayed", {{"sub", code->person.sub}, {"client", context.request.peer_ip}});
      return oauth_error(400, "invalid_grant", "the code was already used");
    }
    auto family = random_id();
    if (!family) return oauth_error(500, "server_error", family.error().message);
    RefreshGrant grant;
    grant.generation = 0;
    grant.client_id = code->client_id;
    grant.resource = code->resource;
    grant.scope = code->scope;
    grant.person = code->person;
    grant.family_expires = context.now + settings_.refresh_token_seconds;
    if (auto st = state_.open_family(*family, grant.family_expires); !st) {
      return oauth_error(500, "server_error", st.error().message);
    }
    return token_response(context, grant, *family);
  }
  if (grant_type == "refresh_token") {
    std::string_view presented = f.get("refresh_token");
    if (!presented.starts_with(kRefreshPrefix)) {
      return oauth_error(400, "invalid_grant", "the refresh token is not valid");
    }
    auto opened = keyring_.open(kRefreshPurpose, presented.substr(kRefreshPrefix.size()));
    if (!opened) return oauth_error(400, "invalid_grant", "the refresh token is not valid");
    auto grant = decode_refresh(*opened);
    if (!grant) return oauth_error(400, "invalid_grant", "the refresh token is not valid");
    if (*client != grant->client_id) {
      return oauth_error(400, "invalid_grant", "the refresh token was issued to another client");
    }
    if (f.find("resource") != nullptr && tunnel_origin_of(f.get("resource")) != grant->resource) {
      return oauth_error(400, "invalid_target", "resource differs from the grant's");
    }
    switch (state_.rotate(grant->family, grant->generation, context.now)) {
      case AuthState::Rotation::kRotated:
        break;
      case AuthState::Rotation::kReused:
        ++counters_.refresh_reuse;
        audit("refresh_token_reused", {{"sub", grant->person.sub},
                                       {"client", context.request.peer_ip},
                                       {"family", grant->family}});
        return oauth_error(400, "invalid_grant",
                           "the refresh token was already used; its grant is revoked");
      case AuthState::Rotation::kUnknown:
        return oauth_error(400, "invalid_grant", "the refresh token is revoked or expired");
    }
    ++counters_.refreshes;
    RefreshGrant next = *grant;
    next.generation = grant->generation + 1;
    return token_response(context, next, grant->family);
  }
  return oauth_error(400, "unsupported_grant_type",
                     "grant_type must be authorization_code or refresh_token");
}

Answer AuthServer::revoke(Context& context) {
  auto client = authenticate_client(context);
  if (!client) return oauth_error(401, "invalid_client", client.error().message);
  const std::string_view presented = context.form.get("token");
  // RFC 7009 §2.2: 200 whatever the token was, so a caller learns nothing from the answer.
  if (presented.starts_with(kRefreshPrefix)) {
    if (auto opened = keyring_.open(kRefreshPurpose, presented.substr(kRefreshPrefix.size()))) {
      if (auto grant = decode_refresh(*opened); grant &&
                                                grant->client_id == context.form.get("client_id") &&
                                                state_.revoke_family(grant->family)) {
        ++counters_.revocations;
        audit("refresh_token_revoked", {{"sub", grant->person.sub}, {"family", grant->family}});
      }
    }
  }
  return json(200, "{}");
}

// --- people signing in -----------------------------------------------------------------------

Answer AuthServer::signin(Context& context) {
  const std::string_view return_to = context.query.get("return_to");
  if (const AuthSession* who = session(context)) {
    return continue_to(context, who->person, return_to, {});
  }
  std::vector<ProviderLink> links;
  if (upstreams_ != nullptr) {
    for (const Upstreams::Provider& provider : upstreams_->providers()) {
      links.push_back({provider.name, "/signin/start?provider=" + form_encode(provider.id) +
                                          "&return_to=" + form_encode(return_to)});
    }
  }
  if (links.size() == 1 && !settings_.dev_signin) return redirect(links.front().href);
  SigninPage page;
  page.providers = links;
  page.dev_form = settings_.dev_signin;
  page.return_to = return_to;
  std::string token;
  if (settings_.dev_signin) {
    if (auto sealed = keyring_.seal(kDevFormPurpose, std::to_string(context.now + 600))) {
      token = *sealed;
    }
  }
  page.form_token = token;
  return html(200, signin_page(page));
}

Answer AuthServer::signin_start(Context& context) {
  if (upstreams_ == nullptr) return html(404, message_page("Not found", "No such provider."));
  const std::string_view provider = context.query.get("provider");
  auto verifier = random_id();
  auto nonce = random_id();
  if (!verifier || !nonce) return html(500, message_page("Error", "no randomness"));
  const std::string code_verifier = *verifier + *verifier;  // 44 characters, RFC 7636 §4.1
  std::string state_text = "p=" + form_encode(provider) +
                           "&r=" + form_encode(context.query.get("return_to")) +
                           "&v=" + form_encode(code_verifier) + "&n=" + form_encode(*nonce) +
                           "&x=" + std::to_string(context.now + 600);
  auto state = keyring_.seal(kSigninStatePurpose, state_text);
  if (!state) return html(500, message_page("Error", state.error().message));
  auto url = upstreams_->authorization_url(provider, settings_.issuer + "/callback", *state, *nonce,
                                           s256_challenge(code_verifier));
  if (!url) return html(400, message_page("Sign-in failed", url.error().message));
  return redirect(*url);
}

Answer AuthServer::callback(Context& context) {
  auto fail = [&](std::string_view reason) {
    ++counters_.signin_failures;
    audit("signin_failed", {{"client", context.request.peer_ip}, {"reason", reason}});
    return html(400, message_page("Sign-in failed", reason));
  };
  auto opened = keyring_.open(kSigninStatePurpose, context.query.get("state"));
  if (!opened) return fail("the sign-in state is not valid; start again");
  auto state = FormFields::parse(*opened);
  if (!state) return fail("the sign-in state is not valid; start again");
  std::int64_t expires = 0;
  const std::string_view expires_text = state->get("x");
  if (std::from_chars(expires_text.data(), expires_text.data() + expires_text.size(), expires).ec !=
          std::errc() ||
      expires <= context.now) {
    return fail("the sign-in took too long; start again");
  }
  if (context.query.find("error") != nullptr) {
    return fail("the provider said: " + std::string(context.query.get("error")));
  }
  if (upstreams_ == nullptr) return fail("no provider");
  auto person =
      upstreams_->finish(state->get("p"), context.query.get("code"), settings_.issuer + "/callback",
                         state->get("v"), state->get("n"), context.now);
  if (!person) return fail(person.error().message);
  return signed_in(context, *person, state->get("r"));
}

Answer AuthServer::dev_signin(Context& context) {
  if (!settings_.dev_signin) return html(404, message_page("Not found", "No such page."));
  const std::string_view origin = context.request.origin_header;
  auto token = keyring_.open(kDevFormPurpose, context.form.get("csrf"));
  std::int64_t expires = 0;
  if (!token ||
      std::from_chars(token->data(), token->data() + token->size(), expires).ec != std::errc() ||
      expires <= context.now || (!origin.empty() && origin != settings_.issuer)) {
    return html(403, message_page("Refused", "This form did not come from this page."));
  }
  std::string email(context.form.get("email"));
  std::transform(email.begin(), email.end(), email.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::size_t at = email.find('@');
  if (at == 0 || at == std::string::npos || at + 1 == email.size() || email.size() > 254 ||
      email.find_first_of(" \t\r\n<>\"") != std::string::npos) {
    return html(400, message_page("Sign-in failed", "Type an email address."));
  }
  Person person;
  person.sub = "dev:" + email;
  person.email = email;
  person.idp = "dev";
  std::string_view groups = context.form.get("groups");
  while (!groups.empty()) {
    const std::size_t comma = groups.find(',');
    std::string_view group = groups.substr(0, comma);
    while (!group.empty() && group.front() == ' ') group.remove_prefix(1);
    while (!group.empty() && group.back() == ' ') group.remove_suffix(1);
    if (!group.empty() && group.find('\x1f') == std::string_view::npos) {
      person.groups.emplace_back(group);
    }
    if (comma == std::string_view::npos) break;
    groups.remove_prefix(comma + 1);
  }
  return signed_in(context, person, context.form.get("return_to"));
}

Answer AuthServer::signed_in(Context& context, const Person& person, std::string_view return_to) {
  auto id = random_id();
  if (!id) return html(500, message_page("Error", id.error().message));
  AuthSession session{*id, person, context.now + settings_.session_seconds};
  auto sealed = keyring_.seal(kAuthSessionPurpose, encode(session));
  if (!sealed) return html(500, message_page("Error", sealed.error().message));
  ++counters_.signins;
  std::string groups;
  for (const std::string& group : person.groups) {
    groups.append(groups.empty() ? "" : ",").append(group);
  }
  audit("signed_in", {{"sub", person.sub},
                      {"email", person.email},
                      {"idp", person.idp},
                      {"groups", groups},
                      {"client", context.request.peer_ip}});
  return continue_to(context, person, return_to,
                     set_cookie_field(kAuthSessionCookie, *sealed, settings_.session_seconds));
}

Answer AuthServer::continue_to(Context& context, const Person& person, std::string_view return_to,
                               std::string_view extra_fields) {
  if (return_to.starts_with("/authorize?")) {
    return redirect(settings_.issuer + std::string(return_to), extra_fields);
  }
  const std::string origin = tunnel_origin_of(return_to);
  if (origin.empty()) {
    // Nothing (or somewhere that is not this relay's: never redirected to).
    return html(200, message_page("Signed in", "You are signed in as " + person.email + "."),
                extra_fields);
  }
  auto parsed = identity::parse_https_url(return_to);
  auto id = random_id();
  if (!id || !parsed) return html(500, message_page("Error", "cannot hand off"));
  Handoff handoff{*id, parsed->host, parsed->target, person, context.now + settings_.code_seconds};
  auto sealed = keyring_.seal(kHandoffPurpose, encode(handoff));
  if (!sealed) return html(500, message_page("Error", sealed.error().message));
  return redirect(origin + "/.tunnelgate/handoff?token=" + *sealed, extra_fields);
}

Answer AuthServer::signout(Context& context) {
  if (const AuthSession* who = session(context)) {
    audit("signed_out", {{"sub", who->person.sub}, {"email", who->person.email}});
  }
  return html(200, message_page("Signed out", "You are signed out of this relay."),
              set_cookie_field(kAuthSessionCookie, "", 0));
}

// --- on a tunnel -----------------------------------------------------------------------------

Answer AuthServer::handoff(Context& context) {
  auto refuse = [&](std::string_view reason) {
    ++counters_.handoffs_refused;
    audit(
        "handoff_refused",
        {{"host", context.request.host}, {"client", context.request.peer_ip}, {"reason", reason}});
    return html(400, message_page("Sign-in failed", "This sign-in link is not valid here (" +
                                                        std::string(reason) + "); start again."));
  };
  auto opened = keyring_.open(kHandoffPurpose, context.query.get("token"));
  if (!opened) return refuse("not valid");
  auto handoff = decode_handoff(*opened);
  if (!handoff) return refuse("not valid");
  if (handoff->host != context.request.host) return refuse("made for another host");
  if (handoff->expires <= context.now) return refuse("expired");
  if (!state_.use_once(handoff->id, handoff->expires, context.now)) return refuse("already used");
  auto jti = random_id();
  if (!jti) return refuse("no randomness");
  const std::int64_t lifetime = std::min(settings_.access_token_seconds, settings_.session_seconds);
  std::string payload = "{\"iss\":" + json_quote(settings_.issuer);
  payload.append(",\"aud\":").append(json_quote(context.request.origin));
  payload.append(",\"sub\":").append(json_quote(handoff->person.sub));
  payload.append(",\"email\":").append(json_quote(handoff->person.email));
  payload.append(",\"groups\":").append(json_list(handoff->person.groups));
  payload.append(",\"idp\":").append(json_quote(handoff->person.idp));
  payload.append(",\"tg_via\":\"browser\",\"jti\":").append(json_quote(*jti));
  payload.append(",\"iat\":").append(std::to_string(context.now));
  payload.append(",\"exp\":").append(std::to_string(context.now + lifetime)).append("}");
  auto cookie = keys_.sign(thread_, payload, context.now);
  if (!cookie) return refuse("cannot sign");
  ++counters_.handoffs;
  audit("browser_session_started", {{"sub", handoff->person.sub},
                                    {"email", handoff->person.email},
                                    {"tunnel", context.request.origin},
                                    {"jti", *jti}});
  // Only a path on this host: never "//elsewhere" (a scheme-relative URL).
  std::string path = handoff->path;
  if (!path.starts_with("/") || path.starts_with("//")) path = "/";
  return redirect(path, set_cookie_field(kTunnelSessionCookie, *cookie, lifetime));
}

Answer AuthServer::tunnel_signout(Context&) {
  return redirect(settings_.issuer + "/signout", set_cookie_field(kTunnelSessionCookie, "", 0));
}

}  // namespace tg::auth
