// Type checking: every class of mistake a policy author makes, with the offset it points at.
#include <gtest/gtest.h>

#include <string>

#include "relay/policy/compile.h"

namespace tg::policy {
namespace {

// "offset: message", or "(no error)".
std::string error(std::string_view text, Phase phase = kAccessPhase) {
  Program program;
  StringPool pool;
  CompileResult result = compile_expression(text, phase, program, pool);
  if (!result.error) return "(no error)";
  return std::to_string(result.error->offset) + ": " + result.error->message;
}

TEST(PolicyCheck, AcceptsWellTypedExpressions) {
  for (std::string_view text : {
           R"(jwt.sub == "a" && jwt.email != "b")",
           R"(jwt.groups.contains("g") || "g" in jwt.groups)",
           R"(source.ip in cidr("10.0.0.0/8") || source.ip in cidr("2001:db8::/32"))",
           R"(source.ip == "10.0.0.1" && "::1" != source.ip)",
           R"(http.header["X-Forwarded-User"].startsWith("svc-"))",
           R"(http.path.matches("/api/*/items") && http.host.endsWith(".example.com"))",
           R"(time.hour >= 9 && time.hour < 17 && time.weekday in [1, 2, 3, 4, 5])",
           R"(tunnel.class in ["agent", "workload"] && tunnel.name.contains("-"))",
           R"((jwt.sub == "a") == false)",
           R"(has(jwt.sub) && has(http.header["x"]) && has(jwt.groups) && has(time.hour))",
           R"(mcp.method == "tools/call" && mcp.tool in ["search"])",
           R"(true)",
       }) {
    EXPECT_EQ(error(text), "(no error)") << text;
  }
  EXPECT_EQ(error(R"(ssh.key in ["SHA256:a"] || ssh.user == "alice")", kExposePhase), "(no error)");
  EXPECT_EQ(error(R"(ssh.source.ip in cidr("192.168.0.0/16") && tunnel.name != "x")", kExposePhase),
            "(no error)");
}

TEST(PolicyCheck, UnknownAttributes) {
  EXPECT_EQ(error(R"(tunnel.name == "a" && ssh.kye == "x")", kExposePhase),
            "22: unknown attribute ssh.kye; did you mean ssh.key?");
  EXPECT_EQ(error(R"(jwt.grups.contains("a"))"),
            "0: unknown attribute jwt.grups; did you mean jwt.groups?");
  EXPECT_EQ(error(R"(tls.client_cert == "a")"),
            "0: unknown attribute tls.client_cert; did you mean tls.client_cert.fingerprint, "
            "tls.client_cert.subject or tls.client_cert.san?");
  EXPECT_EQ(error(R"(nothing.like.this == "a")"), "0: unknown attribute nothing.like.this");
}

TEST(PolicyCheck, AttributesOfTheOtherDecision) {
  EXPECT_EQ(error(R"(http.method == "GET")", kExposePhase),
            "0: http.method is known only in [[access]] rules");
  EXPECT_EQ(error(R"(ssh.user == "alice")", kAccessPhase),
            "0: ssh.user is known only in [[expose]] rules");
  EXPECT_EQ(error(R"(tunnel.class == "agent")", kExposePhase),
            "0: tunnel.class is known only in [[access]] rules");
}

TEST(PolicyCheck, TypeMismatches) {
  EXPECT_EQ(error("jwt.sub == 1"), "8: == cannot compare a string with an int");
  EXPECT_EQ(error(R"(time.hour != "9")"), "10: != cannot compare an int with a string");
  EXPECT_EQ(error(R"(jwt.sub < "b")"), "8: < compares numbers (int), not a string");
  EXPECT_EQ(error("jwt.sub"), "0: the expression must be a condition (bool), but it is a string");
  EXPECT_EQ(error("time.hour"), "0: the expression must be a condition (bool), but it is an int");
  EXPECT_EQ(error(R"(!jwt.sub == "x")"),
            "0: ! applies to a condition (bool), not to a string; to negate a comparison, write "
            "!(a == b) or a != b");
  EXPECT_EQ(error(R"(jwt.sub && true)"),
            "8: && joins conditions (bool), but its left side is a string");
  EXPECT_EQ(error(R"(true || time.hour)"),
            "5: || joins conditions (bool), but its right side is an int");
  EXPECT_EQ(error(R"(jwt.groups == ["a"])"),
            "11: == cannot compare lists; use in, or contains() on a list");
  EXPECT_EQ(error(R"(source.ip == cidr("10.0.0.0/8"))"),
            "10: test an address against cidr(…) with in, not ==");
  EXPECT_EQ(error(R"(source.ip == jwt.sub)"),
            "13: an address compares only with a literal address such as \"10.0.0.1\"");
  EXPECT_EQ(error(R"(source.ip == "10.0.0.300")"), "13: \"10.0.0.300\" is not an IP address");
}

TEST(PolicyCheck, Membership) {
  EXPECT_EQ(error(R"(jwt.sub in "abc")"),
            "8: in tests membership of a list; to search inside a string, use contains()");
  EXPECT_EQ(error(R"(source.ip in ["10.0.0.1"])"),
            "10: to test an address, write … in cidr(\"10.0.0.0/8\")");
  EXPECT_EQ(error(R"(jwt.sub in ["a", 1])"), "17: a list holds strings or numbers, not both");
  EXPECT_EQ(error(R"(jwt.sub in [jwt.email])"),
            "12: list elements must be literal strings or numbers");
  EXPECT_EQ(error(R"(time.hour in ["9"])"), "10: in cannot test an int against a list<string>");
  EXPECT_EQ(error(R"(jwt.aud in jwt.groups)"),
            "8: in tests one value against a list, not a list against a list");
}

TEST(PolicyCheck, MethodsAndArity) {
  EXPECT_EQ(error(R"(jwt.sub.startsWith("a", "b"))"), "8: startsWith() takes 1 argument, not 2");
  EXPECT_EQ(error(R"(jwt.sub.endsWith())"), "8: endsWith() takes 1 argument, not 0");
  EXPECT_EQ(error(R"(jwt.sub.startsWith(1))"),
            "19: the argument of startsWith() must be a string, not an int");
  EXPECT_EQ(error(R"(jwt.groups.startsWith("a"))"),
            "11: startsWith() applies to a string, not to a list<string>");
  EXPECT_EQ(error(R"(time.hour.contains("a"))"),
            "10: contains() applies to a string or a list of strings, not to an int");
  EXPECT_EQ(error(R"(jwt.sub.startswith("a"))"),
            "8: unknown method startswith(); did you mean startsWith?");
  EXPECT_EQ(error(R"(jwt.sub.size() == 1)"),
            "8: unknown method size(); methods are startsWith, endsWith, contains, matches");
  EXPECT_EQ(error(R"(cidr("10.0.0.0/8", "::/0") == 1)"), "0: cidr() takes 1 argument, not 2");
  EXPECT_EQ(error(R"(has())"), "0: has() takes 1 argument, not 0");
  EXPECT_EQ(error(R"(lower(jwt.sub) == "a")"),
            "0: unknown function lower(); the functions are cidr() and has()");
  EXPECT_EQ(error(R"(startsWith(jwt.sub))"),
            "0: unknown function startsWith(); it is a method: write value.startsWith(…)");
  EXPECT_EQ(error(R"(has("x"))"),
            "4: has() takes an attribute, such as has(jwt.sub) or has(http.header[\"x\"])");
}

TEST(PolicyCheck, BadGlobs) {
  EXPECT_EQ(error(R"(http.path.matches("/a/[b"))"),
            "18: bad glob \"/a/[b\": the [ at position 4 is never closed with ]");
  EXPECT_EQ(error(R"(http.path.matches("/a\\"))"), "18: bad glob \"/a\\\": it ends with a lone \\");
  EXPECT_EQ(error(R"(http.path.matches("[z-a]"))"),
            "18: bad glob \"[z-a]\": the range z-a runs backwards");
  EXPECT_EQ(error(R"(http.path.matches("^/api/.*$"))"),
            "18: matches() takes a glob (*, ?, [a-z]), not a regular expression: \"^/api/.*$\"");
  EXPECT_EQ(error(R"(http.path.matches(jwt.sub))"),
            "18: matches() takes a literal glob, compiled at load");
}

TEST(PolicyCheck, BadCidrs) {
  EXPECT_EQ(error(R"(source.ip in cidr("10.0.0.0/33"))"),
            "18: bad CIDR: the prefix length after \"/\" must be a number from 0 to 32");
  EXPECT_EQ(error(R"(source.ip in cidr("2001:db8::/129"))"),
            "18: bad CIDR: the prefix length after \"/\" must be a number from 0 to 128");
  EXPECT_EQ(error(R"(source.ip in cidr("10.1.2.3/8"))"),
            "18: bad CIDR: \"10.1.2.3/8\" has address bits set past the /8 prefix; did you "
            "mean \"10.0.0.0/8\"?");
  EXPECT_EQ(error(R"(source.ip in cidr("intranet"))"),
            "18: bad CIDR: \"intranet\" is not an IP address");
  EXPECT_EQ(error(R"(source.ip in cidr(jwt.sub))"),
            "18: cidr() takes a literal string such as \"10.0.0.0/8\"");
}

TEST(PolicyCheck, KeyedAttributes) {
  EXPECT_EQ(error(R"(http.header == "x")"),
            "0: http.header needs a name in brackets, such as http.header[\"x-request-id\"]");
  EXPECT_EQ(error(R"(jwt.claims.contains("x"))"),
            "0: jwt.claims needs a name in brackets, such as jwt.claims[\"tenant\"]");
  EXPECT_EQ(
      error(R"(http.method["x"] == "a")"),
      "11: http.method cannot be indexed; only http.header, jwt.claims and mcp.param take [\"…\"]");
  EXPECT_EQ(error(R"(http.header[jwt.sub] == "a")"),
            "12: the name in http.header[…] must be a literal string");
  EXPECT_EQ(error(R"(http.header[""] == "a")"), "12: the name in http.header[…] is empty");
  EXPECT_EQ(error(R"(http.header["x y"] == "a")"), "12: \"x y\" is not a header name");
  EXPECT_EQ(error(R"(jwt.claims["x y"] == "a")"), "(no error)");
}

TEST(PolicyCheck, LiteralsThatCanNeverMatch) {
  EXPECT_EQ(error(R"(tunnel.class == "robot")"),
            "16: \"robot\" is not a class (human, workload, agent)");
  EXPECT_EQ(error(R"(tunnel.class in ["agent", "bot"])"),
            "26: \"bot\" is not a class (human, workload, agent)");
  EXPECT_EQ(error(R"("delete" == http.method)"),
            "0: HTTP methods are case-sensitive and sent in upper case: \"delete\" never matches");
  EXPECT_EQ(error("time.hour == 24"), "13: time.hour runs from 0 to 23 (UTC)");
  EXPECT_EQ(error("time.weekday in [1, 7]"), "20: time.weekday runs from 0 to 6 (0 is Sunday)");
}

}  // namespace
}  // namespace tg::policy
