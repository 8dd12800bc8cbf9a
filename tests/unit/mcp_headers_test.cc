#include <gtest/gtest.h>

#include <string>

#include "relay/mcp/mcp.h"

namespace tg::mcp {
namespace {

// The results are views into `body`: literals and the constants below outlive them.
Inspection inspect(std::string_view body) {
  return inspect_request(body, "");
}

const std::string kCall =
    R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather"}})";

TEST(McpHeaders, AbsentHeadersAreNotChecked) {
  EXPECT_TRUE(check_mcp_headers(inspect(kCall), "", "").ok());
}

TEST(McpHeaders, MatchingHeadersPass) {
  EXPECT_TRUE(check_mcp_headers(inspect(kCall), "tools/call", "get_weather").ok());
  EXPECT_TRUE(check_mcp_headers(inspect(kCall), "tools/call", "").ok());
  EXPECT_TRUE(check_mcp_headers(inspect(kCall), "", "get_weather").ok());
  const Inspection read =
      inspect(R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///a"}})");
  EXPECT_TRUE(check_mcp_headers(read, "resources/read", "file:///a").ok());
  const Inspection note = inspect(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_TRUE(check_mcp_headers(note, "notifications/initialized", "").ok());
}

TEST(McpHeaders, MismatchesAreRefusedWithTheSepCode) {
  const Inspection call = inspect(kCall);
  for (auto [method, name] :
       {std::pair{"tools/list", ""}, std::pair{"tools/call", "other"},
        std::pair{"Tools/Call", "get_weather"}, std::pair{"tools/call", "get_weather "},
        std::pair{"tools/call", "GET_WEATHER"}}) {
    const RpcError error = check_mcp_headers(call, method, name);
    EXPECT_EQ(error.code, kHeaderMismatch) << method << " " << name;
    EXPECT_EQ(error.code, -32020);
    EXPECT_EQ(error.counter, "mcp_header_mismatch");
    EXPECT_EQ(error.id_raw, "1");
  }
  // A method off the table: the name header is not compared here (the exchange lets it pass
  // only when the policy's decision does not depend on it).
  const Inspection list = inspect(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  EXPECT_TRUE(check_mcp_headers(list, "tools/list", "x").ok());
  // A response has no method.
  const Inspection response = inspect(R"({"jsonrpc":"2.0","id":1,"result":{}})");
  EXPECT_EQ(check_mcp_headers(response, "tools/call", "").code, kHeaderMismatch);
  EXPECT_EQ(make_error_body(check_mcp_headers(call, "tools/list", "")),
            R"({"jsonrpc":"2.0","id":1,"error":{"code":-32020,"message":"Header mismatch: )"
            R"(Mcp-Method does not match the body's method"}})");
}

TEST(McpHeaders, BatchesCannotMatchHeaders) {
  const std::string body = "[" + kCall + "]";
  const Inspection batch = inspect(body);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(check_mcp_headers(batch, "tools/call", "").code, kHeaderMismatch);
  EXPECT_TRUE(check_mcp_headers(batch, "", "").ok());
}

TEST(McpHeaders, DecodesTheBase64Form) {
  // SEP-2243's own examples.
  const Inspection greeting = inspect(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"Hello, \u4e16\u754c"}})");
  ASSERT_TRUE(greeting.ok());
  EXPECT_TRUE(check_mcp_headers(greeting, "tools/call", "=?base64?SGVsbG8sIOS4lueVjA==?=").ok());
  const Inspection padded_name =
      inspect(R"({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":" padded "}})");
  EXPECT_TRUE(check_mcp_headers(padded_name, "prompts/get", "=?base64?IHBhZGRlZCA=?=").ok());
  const Inspection literal = inspect(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"=?base64?literal?="}})");
  EXPECT_TRUE(check_mcp_headers(literal, "tools/call", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=").ok());
  const Inspection newline = inspect(
      R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"line1\nline2"}})");
  EXPECT_TRUE(check_mcp_headers(newline, "", "=?base64?bGluZTEKbGluZTI=?=").ok());

  const Inspection call = inspect(kCall);
  EXPECT_TRUE(check_mcp_headers(call, "=?base64?dG9vbHMvY2FsbA==?=", "").ok());
  EXPECT_TRUE(check_mcp_headers(call, "", "=?base64?Z2V0X3dlYXRoZXI=?=").ok());
  for (std::string_view bad : {"=?base64?Z2V0X3dlYXRoZXI?=",   // padding missing
                               "=?base64?Z2V0X3dlYXRoZXJ=?=",  // stray bits set
                               "=?base64?Z2V0X3dlYXRoZX*=?=",  // not the alphabet
                               "=?base64?Z2V0X3dlYXRoZQ==?=",  // decodes to a prefix
                               "=?base64?Z2V0X3dlYXRoZXJz?=",  // decodes to more
                               "=?base64?\?="}) {  // "\?" keeps "??=" from being read as a trigraph
    EXPECT_EQ(check_mcp_headers(call, "", bad).code, kHeaderMismatch) << bad;
  }
}

TEST(McpHeaders, TheTableSaysWhichMemberEachMethodsNameCarries) {
  EXPECT_EQ(mcp_name_source("tools/call"), NameSource::kName);
  EXPECT_EQ(mcp_name_source("prompts/get"), NameSource::kName);
  EXPECT_EQ(mcp_name_source("resources/read"), NameSource::kUri);
  EXPECT_EQ(mcp_name_source("tasks/get"), NameSource::kTaskId);
  EXPECT_EQ(mcp_name_source("tasks/update"), NameSource::kTaskId);
  EXPECT_EQ(mcp_name_source("tasks/cancel"), NameSource::kTaskId);
  for (std::string_view off : {"tools/list", "resources/subscribe", "subscriptions/listen",
                               "server/discover", "tasks/result", "Tools/Call", ""}) {
    EXPECT_EQ(mcp_name_source(off), NameSource::kNone) << off;
  }
}

// Issue 17: the Tasks extension's requests carry params.taskId in Mcp-Name; the relay
// compared the header with params.name or params.uri only and refused them.
TEST(McpHeaders, TaskMethodsCompareTheTaskId) {
  for (std::string_view method : {"tasks/get", "tasks/update", "tasks/cancel"}) {
    const std::string body = R"({"jsonrpc":"2.0","id":3,"method":")" + std::string(method) +
                             R"(","params":{"taskId":"786512e2-9e0d"}})";
    const Inspection task = inspect(body);
    ASSERT_TRUE(task.ok()) << body;
    EXPECT_TRUE(check_mcp_headers(task, method, "786512e2-9e0d").ok()) << method;
    EXPECT_TRUE(check_mcp_headers(task, method, "=?base64?Nzg2NTEyZTItOWUwZA==?=").ok());
    const RpcError other = check_mcp_headers(task, method, "another-task");
    EXPECT_EQ(other.code, kHeaderMismatch) << method;
    EXPECT_EQ(other.id_raw, "3");
  }
  // A task id does not stand in for a name, nor a name for a task id.
  const Inspection named = inspect(
      R"({"jsonrpc":"2.0","id":4,"method":"tasks/get","params":{"taskId":"t1","name":"n"}})");
  EXPECT_EQ(check_mcp_headers(named, "tasks/get", "n").code, kHeaderMismatch);
  const Inspection call = inspect(
      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"n","taskId":"t1"}})");
  EXPECT_EQ(check_mcp_headers(call, "tools/call", "t1").code, kHeaderMismatch);
  // resources/read carries its uri even beside a name.
  const Inspection read = inspect(
      R"({"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"name":"n","uri":"u"}})");
  EXPECT_TRUE(check_mcp_headers(read, "resources/read", "u").ok());
  EXPECT_EQ(check_mcp_headers(read, "resources/read", "n").code, kHeaderMismatch);
}

}  // namespace
}  // namespace tg::mcp
