// Cost of sign-in on the request path and at the token endpoint.
//
// On the data path a request is identified by identify_caller: with no credential at all;
// with a bearer token the relay issued (ES256, found in the worker's TokenCache, as every
// request after a token's first is); with the same token in the browser-session cookie among
// two others; and the removal of that cookie before the request goes on. The "no credential"
// case runs with sign-in off and on, which must cost the same: tunnels that do not use sign-in
// pay nothing for it. At the token endpoint: one refresh_token grant through AuthServer (open
// the sealed refresh token, rotate its family, sign an ES256 access token, seal the next
// refresh token): the inverse is tokens issued per second per sign-in thread.
#include <benchmark/benchmark.h>
#include <fcntl.h>

#include <array>
#include <memory>
#include <string>

#include "bench/must.h"
#include "relay/auth/auth.h"
#include "relay/auth/auth_server.h"
#include "relay/identity/identity.h"
#include "relay/identity/sources.h"
#include "relay/log/log.h"
#include "relay/proxy/caller.h"

namespace {

namespace id = tg::identity;
using tg::bench::must;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr const char* kIssuer = "https://auth.relay.test";
constexpr const char* kTunnel = "https://notes.relay.test";

struct Setup {
  std::unique_ptr<tg::auth::SigningKeys> keys;
  std::unique_ptr<id::Sources> sources;
  std::string token;

  Setup() {
    keys = std::make_unique<tg::auth::SigningKeys>(1, 3600);
    must(keys->rotate(kNow));
    tg::policy::Identity identity;
    identity.jwt.push_back({kIssuer, "memory", false, {}, 1});
    const std::string jwks = keys->jwks();
    sources = std::make_unique<id::Sources>(must(id::build_sources(
        identity, [&](const tg::policy::JwtIssuer&) -> tg::Result<std::string> { return jwks; })));
    // What the token endpoint signs (auth_server.cc, token_response).
    token = must(keys->sign(
        0,
        std::string(R"({"iss":")") + kIssuer + R"(","aud":")" + kTunnel +
            R"(","sub":"google:10769150350006150715113082367","email":"alice@example.com",)"
            R"("groups":["eng","admins"],"idp":"google","client_id":"https://claude.ai/oauth/)"
            R"(mcp-oauth-client-metadata","scope":"","tg_via":"oauth","jti":"Yd3kq0aT2vS1oQ",)"
            R"("iat":)" +
            std::to_string(kNow) + R"(,"exp":)" + std::to_string(kNow + 3600) + "}",
        kNow));
  }
};

Setup& setup() {
  static Setup instance;
  return instance;
}

enum class Credential { kNone, kNoneSigninOff, kBearer, kCookie };

void BM_IdentifyCaller(benchmark::State& state, Credential credential) {
  Setup& s = setup();
  const std::string authorization = "Bearer " + s.token;
  const std::string cookie = "theme=dark; __Host-tg_session=" + s.token + "; _ga=GA1.2.3";
  std::array<tg::policy::KeyValue, 7> headers = {{
      {"Host", "notes.relay.test"},
      {"User-Agent", "Mozilla/5.0"},
      {"Accept", "text/html,application/xhtml+xml"},
      {"Accept-Encoding", "gzip, br"},
      {"Sec-Fetch-Mode", "navigate"},
      {"X-Other", "1"},
      {"X-Spare", "2"},
  }};
  if (credential == Credential::kBearer) headers[6] = {"Authorization", authorization};
  if (credential == Credential::kCookie) headers[6] = {"Cookie", cookie};
  const tg::policy::KeyLookup lookup = tg::policy::KeyLookup::headers(headers);
  const std::string_view session_cookie = credential == Credential::kNoneSigninOff
                                              ? std::string_view()
                                              : tg::auth::kTunnelSessionCookie;
  id::TokenCache cache;
  for (auto _ : state) {
    tg::Caller caller =
        tg::identify_caller(lookup, {}, *s.sources, cache, kTunnel, kNow, session_cookie);
    if (caller.identified() !=
        (credential == Credential::kBearer || credential == Credential::kCookie)) {
      state.SkipWithError("unexpected identification");
      break;
    }
    benchmark::DoNotOptimize(caller);
  }
}

void BM_StripSessionCookie(benchmark::State& state) {
  const std::string cookie = "theme=dark; __Host-tg_session=" + setup().token + "; _ga=GA1.2.3";
  for (auto _ : state) {
    std::string rest = tg::auth::without_cookie(cookie, tg::auth::kTunnelSessionCookie);
    benchmark::DoNotOptimize(rest);
  }
}

void BM_TokenEndpointRefresh(benchmark::State& state) {
  static const int quiet = [] {
    tg::log::configure(::open("/dev/null", O_WRONLY | O_CLOEXEC), tg::log::Level::kError);
    return 0;
  }();
  (void)quiet;
  tg::auth::ServerSettings settings;
  settings.issuer = kIssuer;
  settings.domain = "relay.test";
  settings.auth_label = "auth";
  tg::auth::SealKeyring keyring =
      must(tg::auth::SealKeyring::create({must(tg::auth::SealKey::generate(1))}));
  tg::auth::SigningKeys keys(1, 3600);
  must(keys.rotate(kNow));
  tg::auth::AuthState auth_state("", 60);
  tg::auth::SigninCounters counters;
  must(auth_state.open_family("family", kNow + 86400));
  tg::auth::RefreshGrant grant{"family",    0,  "tgc1.client",
                               kTunnel,     "", {"dev:a", "a@b.test", "", "dev", {"eng"}},
                               kNow + 86400};
  std::string refresh =
      "tgr1." + must(keyring.seal(tg::auth::kRefreshPurpose, tg::auth::encode(grant)));
  tg::auth::AuthServer server(settings, keyring, keys, 0, auth_state, counters, nullptr, -1);
  tg::auth::Request request;
  request.auth_host = true;
  request.method = "POST";
  request.target = "/token";
  request.content_type = "application/x-www-form-urlencoded";
  for (auto _ : state) {
    request.body = "grant_type=refresh_token&client_id=tgc1.client&refresh_token=" + refresh;
    tg::auth::Answer answer = server.handle(request, kNow);
    const std::size_t at = answer.response.find("\"refresh_token\":\"");
    if (answer.status != 200 || at == std::string::npos) {
      state.SkipWithError("refresh refused");
      break;
    }
    const std::size_t start = at + 17;
    refresh = answer.response.substr(start, answer.response.find('"', start) - start);
  }
  state.counters["tokens_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_IdentifyCaller, no_credential_signin_off, Credential::kNoneSigninOff);
BENCHMARK_CAPTURE(BM_IdentifyCaller, no_credential_signin_on, Credential::kNone);
BENCHMARK_CAPTURE(BM_IdentifyCaller, relay_token_cached, Credential::kBearer);
BENCHMARK_CAPTURE(BM_IdentifyCaller, session_cookie_cached, Credential::kCookie);
BENCHMARK(BM_StripSessionCookie);
BENCHMARK(BM_TokenEndpointRefresh)->Unit(benchmark::kMicrosecond);
