// Evaluating compiled expressions: every attribute, every operator, and the meaning of absent
// and unusable values.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "relay/policy/compile.h"
#include "relay/policy/evaluate.h"

namespace tg::policy {
namespace {

constexpr std::int64_t kSunday2024Jan7 = 1704585600;  // 2024-01-07T00:00:00Z, a Sunday

template <typename Context>
Truth eval(std::string_view text, const Context& context) {
  Phase phase = std::is_same_v<Context, ExposeContext> ? kExposePhase : kAccessPhase;
  Program program;
  StringPool pool;
  CompileResult compiled = compile_expression(text, phase, program, pool);
  if (compiled.error) {
    ADD_FAILURE() << text << ": " << compiled.error->message;
    return Truth::kError;
  }
  return evaluate(program, compiled.root, context);
}

// A request with every attribute filled.
class PolicyEval : public ::testing::Test {
 protected:
  void SetUp() override {
    c.tunnel_name = "alice-api";
    c.tunnel_class = ActorClass::kAgent;
    c.tunnel_owner = "SHA256:owner";
    c.source_ip = *IpAddress::parse("10.1.2.3");
    c.tls_sni = "alice-api.relay.example.com";
    c.client_cert_fingerprint = "SHA256:cert";
    c.client_cert_subject = "CN=bot,O=Acme";
    c.client_cert_san = sans;
    c.http_method = "POST";
    c.http_path = "/api/v1/items";
    c.http_raw_target = "/api/v1/./%69tems?debug=1";
    c.http_host = "alice-api.relay.example.com";
    c.http_headers = KeyLookup::headers(headers);
    c.jwt_iss = "https://idp.example.com";
    c.jwt_sub = "user-1";
    c.jwt_email = "alice@example.com";
    c.jwt_aud = audiences;
    c.jwt_groups = groups;
    c.jwt_scope = StringList::space_separated("read  write admin:tools");
    c.jwt_claims = KeyLookup::exact(claims);
    c.api_key_name = "ci-bot";
    c.unix_time = kSunday2024Jan7 + 14 * 3600 + 59;  // Sunday 14:00:59
  }

  std::array<std::string_view, 2> sans = {"bot.example.com", "spiffe://acme/bot"};
  std::array<std::string_view, 1> audiences = {"https://alice-api.relay.example.com"};
  std::array<std::string_view, 2> groups = {"mcp-users", "staff"};
  std::array<KeyValue, 3> headers = {
      {{"Content-Type", "application/json"}, {"X-Tenant", "acme"}, {"Accept", "*/*"}}};
  std::array<KeyValue, 2> claims = {{{"tenant", "acme"}, {"level", "3"}}};
  AccessContext c;
};

TEST_F(PolicyEval, EveryAccessAttribute) {
  struct Case {
    std::string_view holds;
    std::string_view fails;
  };
  const Case cases[] = {
      {R"(tunnel.name == "alice-api")", R"(tunnel.name == "bob")"},
      {R"(tunnel.class == "agent")", R"(tunnel.class == "human")"},
      {R"(tunnel.owner == "SHA256:owner")", R"(tunnel.owner == "SHA256:other")"},
      {R"(source.ip in cidr("10.0.0.0/8"))", R"(source.ip in cidr("192.168.0.0/16"))"},
      {R"(tls.sni.endsWith(".relay.example.com"))", R"(tls.sni == "x")"},
      {R"(tls.client_cert.fingerprint == "SHA256:cert")", R"(tls.client_cert.fingerprint == "")"},
      {R"(tls.client_cert.subject.contains("O=Acme"))", R"(tls.client_cert.subject == "CN=bot")"},
      {R"(tls.client_cert.san.contains("spiffe://acme/bot"))",
       R"(tls.client_cert.san.contains("spiffe://acme"))"},
      {R"(http.method == "POST")", R"(http.method in ["GET", "HEAD"])"},
      {R"(http.raw_target.contains("debug=1"))", R"(http.raw_target == "/api/v1/items")"},
      {R"(http.path.startsWith("/api/"))", R"(http.path.startsWith("/admin"))"},
      {R"(http.host == "alice-api.relay.example.com")", R"(http.host == "example.com")"},
      {R"(http.header["x-tenant"] == "acme")", R"(http.header["x-tenant"] == "other")"},
      {R"(jwt.iss == "https://idp.example.com")", R"(jwt.iss == "https://evil")"},
      {R"(jwt.sub == "user-1")", R"(jwt.sub == "user-2")"},
      {R"(jwt.aud.contains("https://alice-api.relay.example.com"))", R"("x" in jwt.aud)"},
      {R"(jwt.email.endsWith("@example.com"))", R"(jwt.email.endsWith("@example.org"))"},
      {R"(jwt.groups.contains("mcp-users"))", R"(jwt.groups.contains("admins"))"},
      {R"("admin:tools" in jwt.scope && jwt.scope.contains("write"))",
       R"(jwt.scope.contains("read write"))"},
      {R"(jwt.claims["tenant"] == "acme" && jwt.claims["level"] == "3")",
       R"(jwt.claims["Tenant"] == "acme")"},
      {R"(api_key.name == "ci-bot")", R"(api_key.name == "other")"},
      {R"(time.hour == 14 && time.weekday == 0)", R"(time.hour == 15)"},
  };
  for (const Case& test : cases) {
    EXPECT_EQ(eval(test.holds, c), Truth::kTrue) << test.holds;
    EXPECT_EQ(eval(test.fails, c), Truth::kFalse) << test.fails;
  }
}

TEST_F(PolicyEval, McpAttributesAreAbsentUntilFilled) {
  for (std::string_view attribute : {"mcp.method", "mcp.tool", "mcp.resource", "mcp.prompt",
                                     "mcp.protocol_version", "mcp.session"}) {
    std::string text = std::string(attribute) + " == \"x\"";
    EXPECT_EQ(eval(text, c), Truth::kFalse) << text;
    EXPECT_EQ(eval("has(" + std::string(attribute) + ")", c), Truth::kFalse) << text;
  }
  c.mcp_method = "tools/call";
  c.mcp_tool = "search";
  c.mcp_resource = "file:///a";
  c.mcp_prompt = "greet";
  c.mcp_protocol_version = "2025-06-18";
  c.mcp_session = "s-1";
  EXPECT_EQ(eval(R"(mcp.method == "tools/call" && mcp.tool in ["search", "fetch"] &&
                    mcp.resource.startsWith("file://") && mcp.prompt == "greet" &&
                    mcp.protocol_version == "2025-06-18" && mcp.session == "s-1")",
                 c),
            Truth::kTrue);
}

TEST_F(PolicyEval, McpParamIsKeyedCaseInsensitively) {
  EXPECT_EQ(eval(R"(has(mcp.param["region"]))", c), Truth::kFalse);
  std::array<KeyValue, 1> params = {{{"region", "eu"}}};
  c.mcp_params = KeyLookup::exact(params);  // the relay hands lower-case names
  EXPECT_EQ(eval(R"(mcp.param["Region"] == "eu" && mcp.param["region"] == "eu")", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(mcp.param["region"] == "us")", c), Truth::kFalse);
  EXPECT_EQ(eval(R"(has(mcp.param["city"]))", c), Truth::kFalse);
}

TEST_F(PolicyEval, EveryExposeAttribute) {
  ExposeContext e;
  e.name = "alice-api";
  e.ssh_key = "SHA256:key";
  e.ssh_user = "alice";
  e.ssh_source_ip = *IpAddress::parse("2001:db8::7");
  e.unix_time = kSunday2024Jan7 + 86400 + 3600;  // Monday 01:00
  EXPECT_EQ(eval(R"(ssh.key in ["SHA256:key", "SHA256:other"])", e), Truth::kTrue);
  EXPECT_EQ(eval(R"(ssh.user == "alice")", e), Truth::kTrue);
  EXPECT_EQ(eval(R"(ssh.source.ip in cidr("2001:db8::/32"))", e), Truth::kTrue);
  EXPECT_EQ(eval(R"(ssh.source.ip in cidr("10.0.0.0/8"))", e), Truth::kFalse);
  EXPECT_EQ(eval(R"(tunnel.name.startsWith("alice-"))", e), Truth::kTrue);
  EXPECT_EQ(eval("time.weekday == 1 && time.hour == 1", e), Truth::kTrue);
  EXPECT_EQ(eval(R"(ssh.user == "bob")", e), Truth::kFalse);
}

TEST_F(PolicyEval, AbsentValuesMatchNothing) {
  AccessContext anonymous;
  anonymous.tunnel_name = "alice-api";
  anonymous.unix_time = kSunday2024Jan7;
  EXPECT_EQ(eval(R"(jwt.sub == "mallory")", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(jwt.sub != "mallory")", anonymous), Truth::kFalse);  // no match, no entry
  EXPECT_EQ(eval(R"(!(jwt.sub == "mallory"))", anonymous), Truth::kTrue);
  EXPECT_EQ(eval(R"(jwt.sub.startsWith(""))", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(jwt.sub in ["", "x"])", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(jwt.email.matches("*"))", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(jwt.groups.contains("staff"))", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(source.ip in cidr("0.0.0.0/0"))", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(source.ip != "10.0.0.1")", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(http.header["x-tenant"] == "acme")", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(jwt.claims["tenant"] != "acme")", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(tunnel.class == "human")", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(has(jwt.sub) || has(jwt.groups) || has(source.ip))", anonymous), Truth::kFalse);
  EXPECT_EQ(eval(R"(has(tunnel.name) && has(time.hour))", anonymous), Truth::kTrue);
  // Two absent values are not equal either.
  EXPECT_EQ(eval(R"(jwt.sub == jwt.email)", anonymous), Truth::kFalse);
}

TEST_F(PolicyEval, EmptyStringsAreAbsent) {
  std::array<KeyValue, 1> empty_header = {{{"X-Empty", ""}}};
  c.http_headers = KeyLookup::headers(empty_header);
  c.jwt_sub = "";
  EXPECT_EQ(eval(R"(jwt.sub == "")", c), Truth::kFalse);
  EXPECT_EQ(eval(R"(has(http.header["x-empty"]))", c), Truth::kFalse);
  EXPECT_EQ(eval(R"(http.header["x-empty"] == "")", c), Truth::kFalse);
}

TEST_F(PolicyEval, UnevaluableValuesAreErrorsThatSpreadLikeCel) {
  AccessContext timeless = c;
  timeless.unix_time = kUnknownTime;
  EXPECT_EQ(eval("time.hour == 3", timeless), Truth::kError);
  EXPECT_EQ(eval("!(time.hour == 3)", timeless), Truth::kError);
  EXPECT_EQ(eval("time.weekday in [0, 6]", timeless), Truth::kError);
  EXPECT_EQ(eval("false && time.hour == 3", timeless), Truth::kFalse);
  EXPECT_EQ(eval("time.hour == 3 && false", timeless), Truth::kFalse);
  EXPECT_EQ(eval("true || time.hour == 3", timeless), Truth::kTrue);
  EXPECT_EQ(eval("time.hour == 3 || true", timeless), Truth::kTrue);
  EXPECT_EQ(eval("time.hour == 3 || false", timeless), Truth::kError);
  EXPECT_EQ(eval("(time.hour == 3) == true", timeless), Truth::kError);
  EXPECT_EQ(eval("has(time.hour)", timeless), Truth::kFalse);

  // A header sent twice with different values cannot be trusted as either.
  std::array<KeyValue, 3> twice = {{{"X-Role", "user"}, {"x-role", "admin"}, {"Via", "a"}}};
  c.http_headers = KeyLookup::headers(twice);
  EXPECT_EQ(eval(R"(http.header["x-role"] == "admin")", c), Truth::kError);
  EXPECT_EQ(eval(R"(http.header["x-role"] != "admin")", c), Truth::kError);
  EXPECT_EQ(eval(R"(http.header["x-role"].startsWith("a"))", c), Truth::kError);
  EXPECT_EQ(eval(R"(http.header["x-role"] in ["admin"])", c), Truth::kError);
  EXPECT_EQ(eval(R"(http.header["x-role"].matches("*"))", c), Truth::kError);
  EXPECT_EQ(eval(R"(jwt.groups.contains(http.header["x-role"]))", c), Truth::kError);
  EXPECT_EQ(eval(R"(has(http.header["x-role"]))", c), Truth::kTrue);
  // The same value twice is one value.
  std::array<KeyValue, 2> repeated = {{{"X-Role", "user"}, {"X-ROLE", "user"}}};
  c.http_headers = KeyLookup::headers(repeated);
  EXPECT_EQ(eval(R"(http.header["x-role"] == "user")", c), Truth::kTrue);
}

TEST_F(PolicyEval, HeaderNamesIgnoreCaseClaimsDoNot) {
  EXPECT_EQ(eval(R"(http.header["Content-Type"] == "application/json")", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(http.header["CONTENT-TYPE"].startsWith("application/"))", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(http.header["accept"] == "*/*")", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(jwt.claims["TENANT"] == "acme")", c), Truth::kFalse);
}

// A caller's own lookup over its own structure, bound without a copy.
struct Token {
  std::string_view tenant;
  bool tenant_is_object = false;
};
Lookup find_claim(const Token& token, std::string_view key) noexcept {
  if (key != "tenant") return Lookup::absent();
  return token.tenant_is_object ? Lookup::unusable() : Lookup::found(token.tenant);
}

TEST_F(PolicyEval, BoundLookups) {
  Token token{"acme"};
  c.jwt_claims = KeyLookup::bind<&find_claim>(token);
  EXPECT_EQ(eval(R"(jwt.claims["tenant"] == "acme")", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(has(jwt.claims["other"]))", c), Truth::kFalse);
  token.tenant_is_object = true;
  EXPECT_EQ(eval(R"(jwt.claims["tenant"] == "acme")", c), Truth::kError);
}

TEST_F(PolicyEval, Operators) {
  EXPECT_EQ(eval("true", c), Truth::kTrue);
  EXPECT_EQ(eval("false", c), Truth::kFalse);
  EXPECT_EQ(eval("!false", c), Truth::kTrue);
  EXPECT_EQ(eval("true && false", c), Truth::kFalse);
  EXPECT_EQ(eval("false || true", c), Truth::kTrue);
  EXPECT_EQ(eval("true == true", c), Truth::kTrue);
  EXPECT_EQ(eval("true != false", c), Truth::kTrue);
  EXPECT_EQ(eval(R"((jwt.sub == "user-1") == (jwt.email == "x"))", c), Truth::kFalse);
  EXPECT_EQ(eval("time.hour < 15 && time.hour <= 14 && time.hour > 13 && time.hour >= 14", c),
            Truth::kTrue);
  EXPECT_EQ(eval("time.hour < 14 || time.hour > 14 || time.hour != 14", c), Truth::kFalse);
  EXPECT_EQ(eval("time.weekday in [0, 6] && !(time.weekday in [1, 2, 3, 4, 5])", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(jwt.sub != "user-2" && jwt.sub != jwt.email)", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(jwt.email == "alice@example.com" && "alice@example.com" == jwt.email)", c),
            Truth::kTrue);
  EXPECT_EQ(eval(R"(http.path.endsWith("/items") && http.path.contains("/v1/"))", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(http.path.matches("/api/*/items") && !http.path.matches("/api/?/items"))", c),
            Truth::kTrue);
  EXPECT_EQ(eval(R"(http.path.matches("/api/v[0-9]/*"))", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(tunnel.name.startsWith(tunnel.name) && http.host.contains(tunnel.name))", c),
            Truth::kTrue);
}

TEST_F(PolicyEval, MembershipInShortAndLongLists) {
  std::string long_list = "[";
  for (int i = 0; i < 50; ++i) long_list += "\"user-" + std::to_string(i * 7) + "\", ";
  long_list += "]";
  c.jwt_sub = "user-49";
  EXPECT_EQ(eval("jwt.sub in " + long_list, c), Truth::kTrue);
  c.jwt_sub = "user-50";
  EXPECT_EQ(eval("jwt.sub in " + long_list, c), Truth::kFalse);
  c.jwt_sub = "user-343";
  EXPECT_EQ(eval("jwt.sub in " + long_list, c), Truth::kTrue);
  EXPECT_EQ(eval(R"(jwt.sub in ["a", "user-343", "a"])", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(jwt.sub in [])", c), Truth::kFalse);
  EXPECT_EQ(eval(R"("staff" in jwt.groups && !("admins" in jwt.groups))", c), Truth::kTrue);
}

TEST_F(PolicyEval, AddressesV4AndV6) {
  EXPECT_EQ(eval(R"(source.ip == "10.1.2.3" && source.ip != "10.1.2.4")", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(source.ip in cidr("10.1.2.3") && source.ip in cidr("10.1.2.0/24"))", c),
            Truth::kTrue);
  EXPECT_EQ(eval(R"(source.ip in cidr("10.1.2.4/32") || source.ip in cidr("::/0"))", c),
            Truth::kFalse);
  EXPECT_EQ(eval(R"(source.ip in cidr("0.0.0.0/0"))", c), Truth::kTrue);
  c.source_ip = *IpAddress::parse("2001:db8:1::42");
  EXPECT_EQ(eval(R"(source.ip in cidr("2001:db8::/32") && source.ip == "2001:db8:1:0::42")", c),
            Truth::kTrue);
  EXPECT_EQ(eval(R"(source.ip in cidr("2001:db8:2::/48") || source.ip in cidr("0.0.0.0/0"))", c),
            Truth::kFalse);
  // What a dual-stack socket reports for an IPv4 peer matches IPv4 blocks.
  c.source_ip = *IpAddress::parse("::ffff:10.9.8.7");
  EXPECT_EQ(eval(R"(source.ip in cidr("10.0.0.0/8") && source.ip == "10.9.8.7")", c), Truth::kTrue);
  EXPECT_EQ(eval(R"(source.ip in cidr("::ffff:10.0.0.0/104"))", c), Truth::kTrue);
}

TEST(PolicyTime, UtcHourAndWeekday) {
  EXPECT_EQ(utc_hour(0), 0);
  EXPECT_EQ(utc_weekday(0), 4);  // 1970-01-01, a Thursday
  EXPECT_EQ(utc_weekday(kSunday2024Jan7), 0);
  EXPECT_EQ(utc_weekday(kSunday2024Jan7 + 6 * 86400 + 86399), 6);
  EXPECT_EQ(utc_hour(kSunday2024Jan7 + 86399), 23);
  EXPECT_EQ(utc_hour(-1), 23);
  EXPECT_EQ(utc_weekday(-1), 3);
}

}  // namespace
}  // namespace tg::policy
