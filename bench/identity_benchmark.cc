// Cost of visitor identity on the request path: verifying a bearer JWT the first time
// (RS256-2048, ES256, EdDSA; the signature dominates) and again from the worker's TokenCache;
// rejecting a token before its signature (unknown kid: the parsing cost alone); looking up
// an API key among 1,000; finding the credentials in the headers; filling the context. The
// token is a typical ID token (groups, email, scope, a few custom claims; 750 bytes, 1 KB
// with RS256's longer signature). Also: signing, for the relay's own assertion header.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
// clang-format on

#include "bench/must.h"
#include "relay/identity/identity.h"

namespace {

namespace id = tg::identity;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kTunnel = "https://app.tunnel.test";

using tg::bench::must;

std::string typical_claims(const std::string& sub = "00u1a2b3c4d5e6f7g8h9") {
  return std::string(R"({"iss":"https://idp.test","aud":")") + kTunnel + R"(","sub":")" + sub +
         R"(","email":"alice.example@example.com",)"
         R"("email_verified":true,"name":"Alice Example","preferred_username":"alice",)"
         R"("groups":["engineering","mcp-users","oncall","platform","staff"],)"
         R"("scope":"openid profile email tools:call resources:read",)"
         R"("tenant":"acme-corp","sid":"f3c1e5d2-9b8a-4c7d-8e6f-5a4b3c2d1e0f",)"
         R"("auth_time":1699990000,"iat":1699999000,"nbf":1699999000,"exp":)" +
         std::to_string(kNow + 3600) + "}";
}

struct Setup {
  std::vector<id::SigningKey> keys;
  std::unique_ptr<id::JwtVerifier> verifier;
  std::array<std::string, 3> tokens;  // by JwsAlgorithm
  std::string unknown_kid_token;

  Setup() {
    keys.push_back(must(id::SigningKey::generate(id::JwsAlgorithm::kRS256, "rsa-1")));
    keys.push_back(must(id::SigningKey::generate(id::JwsAlgorithm::kES256, "ec-1")));
    keys.push_back(must(id::SigningKey::generate(id::JwsAlgorithm::kEdDSA, "ed-1")));
    std::vector<const id::SigningKey*> published;
    for (const id::SigningKey& key : keys) published.push_back(&key);
    const std::string jwks = id::jwks_json(published);
    tg::policy::Identity identity;
    identity.jwt.push_back({"https://idp.test", "memory", false, {}, 1});
    verifier = std::make_unique<id::JwtVerifier>(must(id::JwtVerifier::create(
        identity, [&](const tg::policy::JwtIssuer&) -> tg::Result<std::string> { return jwks; })));
    for (std::size_t i = 0; i < keys.size(); ++i) {
      tokens[i] = must(keys[i].sign_jwt(typical_claims()));
    }
    unknown_kid_token =
        must(keys[1].sign_compact(R"({"alg":"ES256","kid":"rotated-away"})", typical_claims()));
  }
};

Setup& setup() {
  static Setup instance;
  return instance;
}

void BM_JwtVerifyUncached(benchmark::State& state, id::JwsAlgorithm algorithm) {
  Setup& s = setup();
  const std::string& token = s.tokens[static_cast<std::size_t>(algorithm)];
  for (auto _ : state) {
    tg::Result<id::VerifiedToken> verified = s.verifier->verify(token, kTunnel, kNow);
    if (!verified) state.SkipWithError(verified.error().message.c_str());
    benchmark::DoNotOptimize(verified);
  }
  state.counters["token_bytes"] = static_cast<double>(token.size());
}

void BM_JwtVerifyCached(benchmark::State& state, id::JwsAlgorithm algorithm) {
  Setup& s = setup();
  const std::string& token = s.tokens[static_cast<std::size_t>(algorithm)];
  id::TokenCache cache;
  for (auto _ : state) {
    tg::Result<const id::VerifiedToken*> verified = cache.verify(*s.verifier, token, kTunnel, kNow);
    if (!verified) state.SkipWithError(verified.error().message.c_str());
    benchmark::DoNotOptimize(verified);
  }
  state.counters["hit_ratio"] = static_cast<double>(cache.stats().hits) /
                                static_cast<double>(cache.stats().hits + cache.stats().misses);
}

// Parsing and checking everything up to the signature, then refusing: the non-crypto cost.
void BM_JwtRejectBeforeSignature(benchmark::State& state) {
  Setup& s = setup();
  for (auto _ : state) {
    tg::Result<id::VerifiedToken> verified = s.verifier->verify(s.unknown_kid_token, kTunnel, kNow);
    benchmark::DoNotOptimize(verified);
  }
}

// A cache holding 4,096 distinct tokens, asked for them in turn.
void BM_JwtVerifyCachedFull(benchmark::State& state) {
  Setup& s = setup();
  std::vector<std::string> tokens;
  tokens.reserve(4096);
  for (int i = 0; i < 4096; ++i) {
    tokens.push_back(must(s.keys[2].sign_jwt(typical_claims("user-" + std::to_string(i)))));
  }
  id::TokenCache cache;
  for (const std::string& token : tokens) {
    if (!cache.verify(*s.verifier, token, kTunnel, kNow)) state.SkipWithError("verify");
  }
  const std::uint64_t hits_before = cache.stats().hits;
  std::size_t i = 0;
  for (auto _ : state) {
    auto verified = cache.verify(*s.verifier, tokens[i], kTunnel, kNow);
    benchmark::DoNotOptimize(verified);
    i = (i + 1) & 4095;
  }
  state.counters["hit_ratio"] = static_cast<double>(cache.stats().hits - hits_before) /
                                static_cast<double>(state.iterations());
}

void BM_ApiKeyLookup(benchmark::State& state, bool hit) {
  std::vector<tg::policy::ApiKey> keys;
  for (int i = 0; i < 1000; ++i) {
    tg::policy::ApiKey key;
    key.name = "key-" + std::to_string(i);
    const std::string secret = "tgk_" + std::to_string(i) + "_0123456789abcdefghijklmnopqrstuv";
    wc_Sha256Hash(reinterpret_cast<const byte*>(secret.data()), static_cast<word32>(secret.size()),
                  key.sha256.data());
    keys.push_back(key);
  }
  const id::ApiKeys table(keys);
  const std::string presented =
      hit ? "tgk_421_0123456789abcdefghijklmnopqrstuv" : "tgk_zzz_0123456789abcdefghijklmnopqrstuv";
  for (auto _ : state) {
    auto name = table.find(presented);
    if (name.has_value() != hit) state.SkipWithError("unexpected lookup result");
    benchmark::DoNotOptimize(name);
  }
}

void BM_FindCredentials(benchmark::State& state) {
  Setup& s = setup();
  const std::string authorization = "Bearer " + s.tokens[1];
  const std::array<tg::policy::KeyValue, 8> headers = {{
      {"Host", "app.tunnel.test"},
      {"User-Agent", "Mozilla/5.0"},
      {"Accept", "application/json, text/event-stream"},
      {"Accept-Encoding", "gzip, br"},
      {"Content-Type", "application/json"},
      {"Content-Length", "120"},
      {"Mcp-Session-Id", "5f2c"},
      {"Authorization", authorization},
  }};
  const tg::policy::KeyLookup lookup = tg::policy::KeyLookup::headers(headers);
  for (auto _ : state) {
    id::Credentials found = id::find_credentials(lookup, "x-api-key");
    benchmark::DoNotOptimize(found);
  }
}

void BM_FillContext(benchmark::State& state) {
  Setup& s = setup();
  const id::VerifiedToken token = must(s.verifier->verify(s.tokens[2], kTunnel, kNow));
  tg::policy::AccessContext context;
  for (auto _ : state) {
    token.fill(context);
    benchmark::DoNotOptimize(context);
  }
}

// Signing a short assertion (what the relay would add for the published service), and an
// RS256 token for comparison.
void BM_JwtSign(benchmark::State& state, id::JwsAlgorithm algorithm) {
  Setup& s = setup();
  id::SigningKey& key = s.keys[static_cast<std::size_t>(algorithm)];
  const std::string assertion = R"({"iss":"https://relay.test","sub":"alice","email":"a@b.test",)"
                                R"("groups":["ops"],"tunnel":"app","class":"human","exp":)" +
                                std::to_string(kNow + 60) + "}";
  for (auto _ : state) {
    tg::Result<std::string> token = key.sign_jwt(assertion);
    benchmark::DoNotOptimize(token);
  }
}

BENCHMARK_CAPTURE(BM_JwtSign, ES256, id::JwsAlgorithm::kES256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_JwtSign, EdDSA, id::JwsAlgorithm::kEdDSA)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_JwtSign, RS256, id::JwsAlgorithm::kRS256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_JwtVerifyUncached, RS256, id::JwsAlgorithm::kRS256)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_JwtVerifyUncached, ES256, id::JwsAlgorithm::kES256)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_JwtVerifyUncached, EdDSA, id::JwsAlgorithm::kEdDSA)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_JwtVerifyCached, RS256, id::JwsAlgorithm::kRS256);
BENCHMARK_CAPTURE(BM_JwtVerifyCached, ES256, id::JwsAlgorithm::kES256);
BENCHMARK_CAPTURE(BM_JwtVerifyCached, EdDSA, id::JwsAlgorithm::kEdDSA);
BENCHMARK(BM_JwtVerifyCachedFull);
BENCHMARK(BM_JwtRejectBeforeSignature);
BENCHMARK_CAPTURE(BM_ApiKeyLookup, hit, true);
BENCHMARK_CAPTURE(BM_ApiKeyLookup, miss, false);
BENCHMARK(BM_FindCredentials);
BENCHMARK(BM_FillContext);

}  // namespace
