// The relay's authorization answers: challenges, RFC 9728 metadata, refusal bodies.
#include "relay/proxy/oauth_answers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tg {
namespace {

TEST(BearerChallenge, NamesTheMetadataDocumentAndTheError) {
  EXPECT_EQ(bearer_challenge_field(
                {"https://n.example/.well-known/oauth-protected-resource", {}, {}, {}}),
            "www-authenticate: Bearer "
            "resource_metadata=\"https://n.example/.well-known/oauth-protected-resource\"\r\n");
  EXPECT_EQ(
      bearer_challenge_field({"https://n.example/m", "invalid_token", "the token expired", {}}),
      "www-authenticate: Bearer resource_metadata=\"https://n.example/m\", "
      "error=\"invalid_token\", error_description=\"the token expired\"\r\n");
}

TEST(BearerChallenge, ListsTheScopesANdFallsBackToARealm) {
  const std::vector<std::string_view> scopes{"notes:read", "notes:write"};
  EXPECT_EQ(bearer_challenge_field({{}, "insufficient_scope", {}, scopes}),
            "www-authenticate: Bearer error=\"insufficient_scope\", "
            "scope=\"notes:read notes:write\"\r\n");
  EXPECT_EQ(bearer_challenge_field({}), "www-authenticate: Bearer realm=\"tunnelgate\"\r\n");
}

TEST(BearerChallenge, NeverLetsAQuoteOrControlByteOut) {
  EXPECT_EQ(bearer_challenge_field({{}, {}, "a\"b\\c\r\nSet-Cookie: x", {}}),
            "www-authenticate: Bearer error_description=\"a\\\"b\\\\cSet-Cookie: x\"\r\n");
}

TEST(ProtectedResourceMetadata, DescribesTheTunnelAsAResource) {
  const std::vector<std::string> issuers{"https://idp.example", "https://login.example/t"};
  const std::vector<std::string_view> scopes{"mcp:tools"};
  EXPECT_EQ(protected_resource_metadata("https://notes.relay.example", issuers, scopes),
            "{\"resource\":\"https://notes.relay.example\",\"authorization_servers\":"
            "[\"https://idp.example\",\"https://login.example/t\"],"
            "\"bearer_methods_supported\":[\"header\"],\"scopes_supported\":[\"mcp:tools\"]}");
  EXPECT_EQ(protected_resource_metadata("https://n.example", {}, {}),
            "{\"resource\":\"https://n.example\",\"authorization_servers\":[],"
            "\"bearer_methods_supported\":[\"header\"]}");
}

TEST(RefusalBody, IsJsonNamingTheRequest) {
  EXPECT_EQ(refusal_body("forbidden", "denied by the relay's policy", "w0-17"),
            "{\"error\":\"forbidden\",\"message\":\"denied by the relay's policy\","
            "\"request_id\":\"w0-17\"}\n");
}

}  // namespace
}  // namespace tg
