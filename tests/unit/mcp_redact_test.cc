#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "relay/mcp/redact.h"

namespace tg::mcp {
namespace {

std::string arguments(std::string_view message, std::vector<std::string> keys,
                      std::size_t max = 4096) {
  std::string out;
  if (!append_audit_arguments(message, keys, max, out)) return "(none)";
  return out;
}

TEST(McpRedact, ReplacesConfiguredKeysAtAnyDepthCaseInsensitively) {
  const std::string message =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"login",)"
      R"( "arguments" : { "user" : "alice", "Password": "hunter2",)"
      R"( "nested": [ {"token": {"a": 1}}, 3, "s" ], "n": -1.5e3, "ok": true }}})";
  EXPECT_EQ(arguments(message, {"password", "TOKEN"}),
            R"({"user":"alice","Password":"[redacted]","nested":[{"token":"[redacted]"},3,"s"],)"
            R"("n":-1.5e3,"ok":true})");
  EXPECT_EQ(arguments(message, {}),
            R"({"user":"alice","Password":"hunter2","nested":[{"token":{"a":1}},3,"s"],)"
            R"("n":-1.5e3,"ok":true})");
}

TEST(McpRedact, KeysAreComparedAfterUnescaping) {
  const std::string message =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x",)"
      R"("arguments":{"pass\u0077ord":"s3cret","q\"uote":"a,}]b"}}})";
  EXPECT_EQ(arguments(message, {"password"}),
            R"({"pass\u0077ord":"[redacted]","q\"uote":"a,}]b"})");
}

TEST(McpRedact, NoArgumentsAndOversizedArguments) {
  EXPECT_EQ(
      arguments(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}})", {}),
      "(none)");
  EXPECT_EQ(arguments(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", {}), "(none)");
  EXPECT_EQ(arguments(R"({"id":1,"params":{"arguments":{"text":"0123456789"}}})", {}, 10),
            R"("[omitted: 21 bytes]")");
}

}  // namespace
}  // namespace tg::mcp
