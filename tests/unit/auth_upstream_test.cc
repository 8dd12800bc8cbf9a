// relay/auth/upstream: the discovery and token-response parsers, the authorization URL and
// token request, and id_token verification with keys made by relay/identity's SigningKey.
#include <gtest/gtest.h>

#include "relay/auth/upstream/provider_metadata.h"
#include "relay/auth/upstream/token_response.h"
#include "relay/auth/upstream/upstream_client.h"
#include "relay/auth/upstream/upstream_identity.h"
#include "relay/identity/jws_signer.h"

namespace tg::auth::upstream {
namespace {

constexpr std::string_view kIssuer = "https://idp.example.com/realms/corp";

std::string discovery(std::string_view extra = "", std::string_view issuer = kIssuer) {
  return std::string(R"({"issuer":")") + std::string(issuer) +
         R"(","authorization_endpoint":"https://idp.example.com/auth",)"
         R"("token_endpoint":"https://idp.example.com/token","jwks_uri":"https://idp.example.com/jwks",)"
         R"("response_types_supported":["code","id_token"],"claims_supported":["sub",{"x":[1]}])" +
         std::string(extra) + "}";
}

std::string metadata_error(std::string_view json) {
  auto parsed = parse_provider_metadata(json, kIssuer);
  return parsed.ok() ? "(no error)" : parsed.error().message;
}

TEST(ProviderMetadata, ReadsTheEndpointsAndTheClientAuthentication) {
  auto metadata = parse_provider_metadata(discovery(), kIssuer);
  ASSERT_TRUE(metadata.ok()) << metadata.error().message;
  EXPECT_EQ(metadata->authorization_endpoint, "https://idp.example.com/auth");
  EXPECT_EQ(metadata->token_endpoint, "https://idp.example.com/token");
  EXPECT_EQ(metadata->jwks_uri, "https://idp.example.com/jwks");
  EXPECT_EQ(metadata->token_auth, ClientAuthMethod::kClientSecretBasic);
  metadata = parse_provider_metadata(
      discovery(
          R"(,"token_endpoint_auth_methods_supported":["private_key_jwt","client_secret_post"])"),
      kIssuer);
  ASSERT_TRUE(metadata.ok());
  EXPECT_EQ(metadata->token_auth, ClientAuthMethod::kClientSecretPost);
  EXPECT_EQ(discovery_url("https://idp/"), "https://idp/.well-known/openid-configuration");
}

TEST(ProviderMetadata, RefusesWhatCannotBeUsed) {
  EXPECT_EQ(metadata_error(discovery("", "https://evil.example")),
            "discovery: issuer \"https://evil.example\" is not the configured "
            "\"https://idp.example.com/realms/corp\"");
  EXPECT_EQ(metadata_error(discovery("", std::string(kIssuer) + "/")),
            "discovery: issuer \"https://idp.example.com/realms/corp/\" is not the configured "
            "\"https://idp.example.com/realms/corp\"");
  EXPECT_EQ(metadata_error(R"({"issuer":"https://idp.example.com/realms/corp"})"),
            "discovery: no \"authorization_endpoint\"");
  EXPECT_EQ(
      metadata_error(
          R"({"issuer":"https://idp.example.com/realms/corp","authorization_endpoint":"http://idp/auth","token_endpoint":"https://i/t","jwks_uri":"https://i/j"})"),
      "discovery: \"authorization_endpoint\" is not a usable https:// URL: http://idp/auth: "
      "invalid URL: not an https:// URL");
  EXPECT_EQ(metadata_error(discovery(R"(,"code_challenge_methods_supported":["plain"])")),
            "discovery: the provider does not support PKCE S256");
  EXPECT_EQ(
      metadata_error(discovery(R"(,"token_endpoint_auth_methods_supported":["private_key_jwt"])")),
      "discovery: the token endpoint accepts neither client_secret_basic nor "
      "client_secret_post");
  EXPECT_EQ(metadata_error(discovery(R"(,"issuer":"https://idp.example.com/realms/corp")")),
            "discovery: a member is named twice");
  EXPECT_EQ(metadata_error(discovery(R"(,"jwks_uri":5)")),
            "discovery: \"jwks_uri\" is not a string");
  EXPECT_EQ(metadata_error("[1]"), "discovery: not a JSON object");
  EXPECT_EQ(metadata_error(discovery() + "x"), "discovery: not a JSON object");
}

TEST(TokenResponse, ReadsTheIdTokenAndQuotesOAuthErrors) {
  auto response = parse_token_response(
      200, R"({"access_token":"a","token_type":"bearer","id_token":"x.y.z","expires_in":600})");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->id_token, "x.y.z");
  EXPECT_EQ(parse_token_response(400, R"({"error":"invalid_client","error_description":"no\nway"})")
                .error()
                .message,
            "token endpoint: invalid_client (no?way)");
  EXPECT_EQ(parse_token_response(502, "<html>").error().message, "token endpoint: HTTP 502");
  EXPECT_EQ(
      parse_token_response(200, R"({"access_token":"a","token_type":"Bearer"})").error().message,
      "token endpoint: no id_token");
  EXPECT_EQ(parse_token_response(200, R"({"id_token":"a","token_type":"mac"})").error().message,
            "token endpoint: token_type is not Bearer");
}

SigninProvider test_provider() {
  SigninProvider provider;
  provider.id = "corp";
  provider.issuer = kIssuer;
  provider.client_id = "tunnelgate";
  provider.client_secret = "s3cret/+";
  return provider;
}

TEST(AuthorizationRequest, CarriesEveryParameterEncoded) {
  ProviderMetadata metadata;
  metadata.authorization_endpoint = "https://idp.example.com/auth?tenant=a";
  const std::string url = build_authorization_url(
      metadata, test_provider(), {"https://auth.tg.test/callback", "st", "no", "chal"});
  EXPECT_EQ(url,
            "https://idp.example.com/auth?tenant=a&response_type=code&client_id=tunnelgate"
            "&redirect_uri=https%3A%2F%2Fauth.tg.test%2Fcallback&scope=openid%20email%20profile"
            "&state=st&nonce=no&code_challenge=chal&code_challenge_method=S256");
}

TEST(TokenRequest, AuthenticatesTheClientAsDiscoverySays) {
  TokenRequest basic = build_token_request(test_provider(), ClientAuthMethod::kClientSecretBasic,
                                           "c0de", "verif", "https://a/cb");
  EXPECT_EQ(basic.body,
            "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fa%2Fcb"
            "&code_verifier=verif");
  // base64("tunnelgate:s3cret%2F%2B"): RFC 6749 §2.3.1 form-encodes both before base64.
  EXPECT_EQ(basic.authorization, "Basic dHVubmVsZ2F0ZTpzM2NyZXQlMkYlMkI=");
  TokenRequest post = build_token_request(test_provider(), ClientAuthMethod::kClientSecretPost,
                                          "c0de", "verif", "https://a/cb");
  EXPECT_EQ(post.authorization, "");
  EXPECT_TRUE(post.body.ends_with("&client_id=tunnelgate&client_secret=s3cret%2F%2B"));
}

class IdTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = identity::SigningKey::generate(identity::JwsAlgorithm::kES256, "k1");
    ASSERT_TRUE(key.ok());
    key_.emplace(std::move(*key));
    const identity::SigningKey* keys[] = {&*key_};
    jwks_ = identity::jwks_json(keys);
  }
  std::string token(std::string_view claims) {
    const std::string payload = R"({"iss":")" + std::string(kIssuer) + R"(","sub":"u1","iat":)" +
                                std::to_string(kNow - 10) + R"(,"exp":)" +
                                std::to_string(kNow + 300) + std::string(claims) + "}";
    return *key_->sign_jwt(payload);
  }
  std::string error(std::string_view claims, const SigninProvider& provider = test_provider()) {
    auto person = verify_id_token(token(claims), jwks_, provider, "n0nce", kNow);
    return person.ok() ? "(no error)" : person.error().message;
  }

  static constexpr std::int64_t kNow = 1'800'000'000;
  std::optional<identity::SigningKey> key_;
  std::string jwks_;
};

constexpr std::string_view kGood =
    R"(,"aud":"tunnelgate","nonce":"n0nce","email":"Alice@Example.com","email_verified":true,"groups":["eng","admins"],"name":"Alice")";

TEST_F(IdTokenTest, MapsTheClaimsOfAVerifiedToken) {
  auto person = verify_id_token(token(kGood), jwks_, test_provider(), "n0nce", kNow);
  ASSERT_TRUE(person.ok()) << person.error().message;
  EXPECT_EQ(person->sub, "u1");
  EXPECT_EQ(person->email, "Alice@Example.com");
  EXPECT_TRUE(person->email_verified);
  EXPECT_EQ(person->groups, (std::vector<std::string>{"eng", "admins"}));
  EXPECT_EQ(person->name, "Alice");
  EXPECT_EQ(person->idp, "corp");
}

TEST_F(IdTokenTest, RefusesTokensThatAreNotForThisSignIn) {
  EXPECT_EQ(error(R"(,"aud":"another","nonce":"n0nce","email":"a@b")"), "id_token: wrong audience");
  EXPECT_EQ(error(R"(,"aud":["tunnelgate","x"],"nonce":"n0nce","email":"a@b")"),
            "id_token: several audiences and no azp");
  EXPECT_EQ(error(R"(,"aud":["tunnelgate","x"],"azp":"x","nonce":"n0nce","email":"a@b")"),
            "id_token: azp is another client");
  EXPECT_EQ(
      (error(R"(,"aud":["tunnelgate","x"],"azp":"tunnelgate","nonce":"n0nce","email":"a@b")")),
      "(no error)");
  EXPECT_EQ(error(R"(,"aud":"tunnelgate","nonce":"other","email":"a@b")"),
            "id_token: nonce does not match");
  EXPECT_EQ(error(R"(,"aud":"tunnelgate","email":"a@b")"), "id_token: no nonce");
  auto stale = verify_id_token(token(kGood), jwks_, test_provider(), "n0nce", kNow + 400);
  EXPECT_EQ(stale.error().message, "id_token: expired");
  SigninProvider elsewhere = test_provider();
  elsewhere.issuer = "https://other.example";
  EXPECT_EQ(error(kGood, elsewhere), "id_token: unknown issuer");
  std::string tampered = token(kGood);
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_id_token(tampered, jwks_, test_provider(), "n0nce", kNow).error().message,
            "id_token: signature does not verify");
}

TEST_F(IdTokenTest, RefusesEmailsThePolicyOfTheProviderExcludes) {
  EXPECT_EQ(error(R"(,"aud":"tunnelgate","nonce":"n0nce")"),
            "id_token: no email claim \"email\" (is the email scope asked for?)");
  EXPECT_EQ(error(R"(,"aud":"tunnelgate","nonce":"n0nce","email":"a@b","email_verified":false)"),
            "id_token: the provider says the email is not verified");
  EXPECT_EQ(error(R"(,"aud":"tunnelgate","nonce":"n0nce","email":"a@b","email_verified":"false")"),
            "id_token: the provider says the email is not verified");
  SigninProvider restricted = test_provider();
  restricted.allowed_email_domains = {"example.com"};
  EXPECT_EQ(error(R"(,"aud":"tunnelgate","nonce":"n0nce","email":"carol@other.test")", restricted),
            "id_token: the email's domain is not allowed for provider \"corp\"");
  EXPECT_EQ(
      error(R"(,"aud":"tunnelgate","nonce":"n0nce","email":"x@evil.com@EXAMPLE.com")", restricted),
      "(no error)");
  EXPECT_EQ(error(R"(,"aud":"tunnelgate","nonce":"n0nce","email":"x@sub.example.com")", restricted),
            "id_token: the email's domain is not allowed for provider \"corp\"");
  EXPECT_EQ(error(R"(,"aud":"tunnelgate","nonce":"n0nce","email":"a@b","groups":"eng")"),
            "id_token: groups: \"groups\" is not an array");
  SigninProvider roles = test_provider();
  roles.email_claim = "upn";
  roles.groups_claim = "roles";
  auto person =
      verify_id_token(token(R"(,"aud":"tunnelgate","nonce":"n0nce","upn":"u@corp","roles":["r"])"),
                      jwks_, roles, "n0nce", kNow);
  ASSERT_TRUE(person.ok()) << person.error().message;
  EXPECT_EQ(person->email, "u@corp");
  EXPECT_FALSE(person->email_verified);
  EXPECT_EQ(person->groups, std::vector<std::string>{"r"});
}

}  // namespace
}  // namespace tg::auth::upstream
