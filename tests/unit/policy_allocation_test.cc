// The hot path never allocates: every access decision below runs under a global operator new
// that counts, and the count must not move.
//
// Replacing operator new affects this whole test binary; the counter only counts, so other
// tests are unaffected.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "relay/policy/policy.h"

namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

// GCC, seeing these inlined into std::string, warns that free() meets a pointer from operator
// new; both are ours and pair malloc with free.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
// The nothrow forms too (simdjson allocates with them): otherwise AddressSanitizer serves them
// itself and reports its allocation freed by our delete as a mismatch.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace tg::policy {
namespace {

constexpr std::string_view kPolicy = R"(
[[access]]
names = ["alice-*", "*-staging", "billing", "a?c-*", "*-mcp-*"]
allow = [
  'jwt.groups.contains("mcp-users") && jwt.scope.contains("tools")',
  'source.ip in cidr("10.0.0.0/8") || source.ip in cidr("2001:db8::/32")',
  'http.header["x-tenant"] in ["acme", "globex", "initech", "umbrella", "hooli", "wayne", "stark", "tyrell", "cyberdyne"]',
  'jwt.claims["tenant"] == "acme" && http.path.matches("/api/*/items")',
  'api_key.name == "ci-bot" && time.hour >= 9 && time.weekday in [1, 2, 3, 4, 5]',
]
deny = [
  'http.method == "DELETE"',
  'tunnel.class == "agent" && !(mcp.tool in ["search"])',
  'http.header["x-debug"].startsWith("1") || has(http.header["x-evil"])',
]

[[access]]
names = ["*"]
deny = ['tls.client_cert.san.contains("revoked.example.com")']
)";

TEST(PolicyAllocation, AccessDecisionsNeverAllocate) {
  auto loaded = parse_policy(kPolicy, "p.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const Policy& policy = *loaded;

  std::array<std::string_view, 2> groups = {"staff", "mcp-users"};
  std::array<std::string_view, 1> sans = {"bot.example.com"};
  std::array<KeyValue, 3> headers = {
      {{"Host", "alice-api"}, {"X-Tenant", "hooli"}, {"X-Debug", "0"}}};
  std::array<KeyValue, 1> claims = {{{"tenant", "acme"}}};
  AccessContext base;
  base.tunnel_class = ActorClass::kHuman;
  base.source_ip = *IpAddress::parse("192.0.2.1");
  base.client_cert_san = sans;
  base.http_method = "GET";
  base.http_path = "/api/v2/items";
  base.http_headers = KeyLookup::headers(headers);
  base.jwt_groups = groups;
  base.jwt_scope = StringList::space_separated("read tools");
  base.jwt_claims = KeyLookup::exact(claims);
  base.unix_time = 1704585600 + 86400 + 10 * 3600;

  std::array<AccessContext, 8> contexts;
  contexts.fill(base);
  contexts[0].tunnel_name = "alice-api";
  contexts[1].tunnel_name = "web-staging";
  contexts[1].jwt_groups = {};
  contexts[2].tunnel_name = "billing";
  contexts[2].http_method = "DELETE";
  contexts[3].tunnel_name = "abc-x";
  contexts[3].tunnel_class = ActorClass::kAgent;
  contexts[4].tunnel_name = "unrelated";
  contexts[5].tunnel_name = "x-mcp-y";
  contexts[5].jwt_groups = {};
  contexts[5].unix_time = kUnknownTime;
  contexts[6].tunnel_name = "alice-long-name-that-walks-the-trie";
  contexts[6].source_ip = *IpAddress::parse("2001:db8::1");
  contexts[7].tunnel_name = "";

  // Warm up, and check the contexts decide what they should.
  EXPECT_TRUE(policy.decide_access(contexts[0]).allowed);
  EXPECT_TRUE(policy.decide_access(contexts[1]).allowed);  // via x-tenant
  EXPECT_EQ(policy.decide_access(contexts[2]).outcome, AccessOutcome::kDenyRuleMatched);
  EXPECT_EQ(policy.decide_access(contexts[3]).outcome, AccessOutcome::kDenyRuleMatched);
  EXPECT_EQ(policy.decide_access(contexts[4]).outcome, AccessOutcome::kNoAllowMatched);
  EXPECT_TRUE(policy.decide_access(contexts[5]).allowed);
  EXPECT_TRUE(policy.decide_access(contexts[6]).allowed);
  EXPECT_FALSE(policy.decide_access(contexts[7]).allowed);

  std::size_t allowed = 0;
  std::size_t before = g_allocations.load();
  for (int round = 0; round < 1000; ++round) {
    for (const AccessContext& context : contexts) {
      allowed += policy.decide_access(context).allowed ? 1 : 0;
    }
  }
  std::size_t after = g_allocations.load();
  EXPECT_EQ(after - before, 0u);
  EXPECT_EQ(allowed, 4000u);

  // The counter does count: a control that allocates moves it.
  before = g_allocations.load();
  auto* control = new std::string(100, 'x');
  delete control;
  EXPECT_GT(g_allocations.load(), before);
}

}  // namespace
}  // namespace tg::policy
