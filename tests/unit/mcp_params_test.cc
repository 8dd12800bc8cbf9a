#include "relay/proxy/mcp_params.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "relay/mcp/params.h"

namespace tg::mcp {
namespace {

using Outcome = ParamScan::Outcome;

std::string call(std::string_view arguments) {
  return R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"locate","arguments":)" +
         std::string(arguments) + "}}";
}

std::vector<ParamDeclaration> declared(std::string_view schema) {
  ParamScan scan = scan_param_schema(schema);
  EXPECT_EQ(scan.outcome, Outcome::kDeclared) << schema;
  return scan.declarations;
}

TEST(McpParamScan, FindsDeclarationsThroughPropertiesAtAnyDepth) {
  const auto d = declared(R"({"type":"object","properties":{
      "region":{"type":"string","x-mcp-header":"Region"},
      "where":{"type":"object","properties":{"zone":{"type":"integer","x-mcp-header":"Zone"}}},
      "dry":{"type":"boolean","x-mcp-header":"Dry-Run"}}})");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].header, "Region");
  EXPECT_EQ(d[0].path, std::vector<std::string>{"region"});
  EXPECT_EQ(d[1].path, (std::vector<std::string>{"where", "zone"}));
  EXPECT_EQ(d[1].type, ParamType::kInteger);
  EXPECT_EQ(d[2].type, ParamType::kBoolean);
  // A number-typed declaration makes the tool invalid for clients, but servers check it.
  EXPECT_EQ(declared(R"({"properties":{"n":{"type":"number","x-mcp-header":"N"}}})")[0].type,
            ParamType::kNumber);
  // The key spelt with an escape is the same key.
  EXPECT_EQ(declared(R"({"properties":{"r":{"type":"string","x\u002dmcp-header":"R"}}})").size(),
            1u);
}

TEST(McpParamScan, AnInvalidSchemaDeclaresNothingAsTheServerChecksNothing) {
  for (const char* schema : {
           R"({"type":"object"})",
           R"({"x-mcp-header":"Root","type":"string"})",
           R"({"properties":{"a":{"type":"array","items":{"type":"string","x-mcp-header":"A"}}}})",
           R"({"properties":{"a":{"anyOf":[{"type":"string","x-mcp-header":"A"}]}}})",
           R"({"$defs":{"a":{"type":"string","x-mcp-header":"A"}}})",
           R"({"properties":{"a":{"type":"object","x-mcp-header":"A"}}})",
           R"({"properties":{"a":{"x-mcp-header":"A"}}})",
           R"({"properties":{"a":{"type":"string","x-mcp-header":"A B"}}})",
           R"({"properties":{"a":{"type":"string","x-mcp-header":""}}})",
           R"({"properties":{"a":{"type":"string","x-mcp-header":7}}})",
           R"({"properties":{"a":{"type":"string","x-mcp-header":"A"},
                             "b":{"type":"string","x-mcp-header":"a"}}})",
       }) {
    EXPECT_EQ(scan_param_schema(std::string_view(schema)).outcome, Outcome::kNone) << schema;
  }
}

TEST(McpParamScan, WhatCannotBeReadIsUnknown) {
  EXPECT_EQ(scan_param_schema(std::string_view(R"({"properties":)")).outcome, Outcome::kUnreadable);
  EXPECT_EQ(
      scan_param_schema(
          std::string_view(
              R"({"properties":{"a":{"type":"string","x-mcp-header":"A","x-mcp-header":"B"}}})"))
          .outcome,
      Outcome::kUnreadable);
  std::string many = R"({"properties":{)";
  for (std::size_t i = 0; i <= kMaxParamDeclarations; ++i) {
    if (i > 0) many += ',';
    many += "\"p" + std::to_string(i) + R"(":{"type":"string","x-mcp-header":"P)" +
            std::to_string(i) + "\"}";
  }
  many += "}}";
  EXPECT_EQ(scan_param_schema(many).outcome, Outcome::kUnreadable);
}

class McpParamCheck : public ::testing::Test {
 protected:
  ParamCheck check(std::string_view arguments, std::vector<ParamHeader> headers,
                   bool require = true) {
    body_ = call(arguments);
    return check_param_headers(declarations_, body_, "5", headers, require);
  }

  std::vector<ParamDeclaration> declarations_ = declared(R"({"properties":{
      "region":{"type":"string","x-mcp-header":"Region"},
      "count":{"type":"integer","x-mcp-header":"Count"},
      "dry":{"type":"boolean","x-mcp-header":"Dry"},
      "where":{"properties":{"zone":{"type":"string","x-mcp-header":"Zone"}}}}})");
  std::string body_;
};

TEST_F(McpParamCheck, MatchingHeadersPassAndGiveTheValues) {
  const ParamCheck c = check(R"({"region":"eu","count":42,"dry":true,"where":{"zone":"b"}})",
                             {{"region", "eu"}, {"COUNT", "42.0"}, {"Dry", "true"}, {"Zone", "b"}});
  ASSERT_TRUE(c.error.ok()) << c.error.message;
  ASSERT_EQ(c.values.size(), 4u);
  EXPECT_EQ(c.values[0].header, "region");
  EXPECT_EQ(c.values[0].value, "eu");
  EXPECT_TRUE(c.values[0].header_checked);
  EXPECT_EQ(c.values[1].value, "42");  // integers compared as numbers: 42.0 is 42
  EXPECT_EQ(c.values[2].value, "true");
  EXPECT_EQ(c.values[3].value, "b");
}

TEST_F(McpParamCheck, Base64WrappedValuesDecode) {
  // "zürich" in UTF-8.
  EXPECT_TRUE(
      check(R"({"region":"z\u00fcrich"})", {{"Region", "=?base64?esO8cmljaA==?="}}).error.ok());
  EXPECT_EQ(check(R"({"region":"zürich"})", {{"Region", "=?base64?esO8cmljaA=?="}}).error.code,
            kHeaderMismatch);
  // Canonical only (unused bits zero), and UTF-8.
  EXPECT_EQ(check(R"({"region":"a"})", {{"Region", "=?base64?YR==?="}}).error.code,
            kHeaderMismatch);
  EXPECT_EQ(check(R"({"region":"\u00ff"})", {{"Region", "=?base64?/w==?="}}).error.code,
            kHeaderMismatch);
}

TEST_F(McpParamCheck, MismatchMissingAndRepeatsAreRefusedWithTheId) {
  ParamCheck c = check(R"({"region":"us"})", {{"Region", "eu"}});
  EXPECT_EQ(c.error.code, kHeaderMismatch);
  EXPECT_EQ(c.error.id_raw, "5");
  EXPECT_EQ(c.error.counter, "mcp_param_mismatch");
  EXPECT_EQ(check(R"({"region":"eu"})", {}).error.code, kHeaderMismatch);
  EXPECT_EQ(check(R"({"region":"eu"})", {{"Region", "eu"}, {"region", "eu"}}).error.code,
            kHeaderMismatch);
  EXPECT_EQ(check(R"({"count":7})", {{"Count", "7.5"}}).error.code, kHeaderMismatch);
  EXPECT_EQ(check(R"({"dry":false})", {{"Dry", "False"}}).error.code, kHeaderMismatch);
  EXPECT_EQ(check(R"({"where":{"zone":"a"}})", {{"Zone", "b"}}).error.code, kHeaderMismatch);
}

TEST_F(McpParamCheck, OlderClientsSendNoHeadersButWhatTheySendIsChecked) {
  const ParamCheck c = check(R"({"region":"eu"})", {}, false);
  ASSERT_TRUE(c.error.ok());
  ASSERT_EQ(c.values.size(), 1u);
  EXPECT_FALSE(c.values[0].header_checked);
  EXPECT_EQ(c.values[0].value, "eu");  // the policy still sees the argument
  EXPECT_EQ(check(R"({"region":"eu"})", {{"Region", "us"}}, false).error.code, kHeaderMismatch);
}

TEST_F(McpParamCheck, NoValueNoHeaderExpected) {
  // Absent, null, or not a primitive: the server ignores the header, so it is not confirmed.
  for (const char* arguments : {R"({})", R"({"region":null})", R"({"region":["eu"]})",
                                R"({"count":1e400})", R"({"count":9007199254740993})"}) {
    const ParamCheck c = check(arguments, {{"Region", "eu"}, {"Count", "1"}});
    EXPECT_TRUE(c.error.ok()) << arguments;
    EXPECT_TRUE(c.values.empty()) << arguments;
  }
  EXPECT_TRUE(check_param_headers({}, std::string_view("{}"), "", {}, true).error.ok());
}

TEST(McpParamText, NumbersPrintAsJavaScriptDoes) {
  EXPECT_EQ(js_number_text(0), "0");
  EXPECT_EQ(js_number_text(-0.0), "0");
  EXPECT_EQ(js_number_text(42), "42");
  EXPECT_EQ(js_number_text(-7.5), "-7.5");
  EXPECT_EQ(js_number_text(0.1), "0.1");
  EXPECT_EQ(js_number_text(1e-7), "1e-7");
  EXPECT_EQ(js_number_text(1.5e-6), "0.0000015");
  EXPECT_EQ(js_number_text(1e21), "1e+21");
  EXPECT_EQ(js_number_text(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(js_number_text(2.5e25), "2.5e+25");
}

}  // namespace
}  // namespace tg::mcp

namespace tg {
namespace {

TEST(McpParamTable, HoldsWhatTheLastListSaidPerTunnel) {
  McpParamTable table(2);
  EXPECT_EQ(table.find("notes", "locate"), nullptr);  // unknown
  mcp::ParamScan scan;
  scan.outcome = mcp::ParamScan::Outcome::kDeclared;
  scan.declarations.push_back({"Region", {"region"}, mcp::ParamType::kString});
  table.learn("notes", "locate", scan);
  ASSERT_NE(table.find("notes", "locate"), nullptr);
  EXPECT_EQ(table.find("notes", "locate")->size(), 1u);
  EXPECT_EQ(table.find("other", "locate"), nullptr);
  table.learn("notes", "locate", mcp::ParamScan{});  // listed again without declarations
  ASSERT_NE(table.find("notes", "locate"), nullptr);
  EXPECT_TRUE(table.find("notes", "locate")->empty());
  mcp::ParamScan unreadable;
  unreadable.outcome = mcp::ParamScan::Outcome::kUnreadable;
  table.learn("notes", "locate", unreadable);  // forgotten: unknown again
  EXPECT_EQ(table.find("notes", "locate"), nullptr);
}

TEST(McpParamTable, BoundedAndDroppedWithTheTunnel) {
  McpParamTable table(2);
  table.learn("notes", "a", {});
  table.learn("notes", "b", {});
  table.learn("docs", "c", {});  // evicts the least recently listed
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.evicted(), 1u);
  EXPECT_EQ(table.find("notes", "a"), nullptr);
  table.drop_tunnel("notes");
  EXPECT_EQ(table.find("notes", "b"), nullptr);
  EXPECT_NE(table.find("docs", "c"), nullptr);
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace tg
