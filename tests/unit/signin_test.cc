// The sign-in endpoints' pure pieces: cookies, sealed grant encodings, client registrations,
// and the server-side state (one-time ids, refresh-token families).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "relay/auth/auth.h"
#include "relay/auth/auth_state.h"
#include "relay/auth/client_metadata_fetch.h"
#include "relay/auth/pages.h"

namespace tg::auth {
namespace {

TEST(Cookies, ReadsOneCookieAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; __Host-tg_session=xyz; b=2", kTunnelSessionCookie), "xyz");
  EXPECT_EQ(cookie_value("__Host-tg_session=\"q\"", kTunnelSessionCookie), "q");
  EXPECT_EQ(cookie_value("a=1;b=2", kTunnelSessionCookie), "");
  EXPECT_EQ(cookie_value("x__Host-tg_session=1", kTunnelSessionCookie), "");
}

TEST(Cookies, TrustsNeitherCopyOfARepeatedCookie) {
  bool repeated = false;
  EXPECT_EQ(
      cookie_value("__Host-tg_session=a; __Host-tg_session=b", kTunnelSessionCookie, &repeated),
      "");
  EXPECT_TRUE(repeated);
}

TEST(Cookies, RemovesOnlyTheRelaysCookieAndKeepsTheOrder) {
  EXPECT_EQ(without_cookie("a=1; __Host-tg_session=x; b=2;c", kTunnelSessionCookie), "a=1; b=2; c");
  EXPECT_EQ(without_cookie("__Host-tg_session=x", kTunnelSessionCookie), "");
  EXPECT_EQ(without_cookie(" a=1 ;;  b=2 ", kTunnelSessionCookie), "a=1; b=2");
}

TEST(Cookies, SetCookieIsHostOnlySecureHttpOnlyLax) {
  EXPECT_EQ(set_cookie_field(kTunnelSessionCookie, "v", 60),
            "set-cookie: __Host-tg_session=v; Path=/; Secure; HttpOnly; SameSite=Lax; "
            "Max-Age=60\r\n");
  EXPECT_NE(set_cookie_field(kAuthSessionCookie, "", -5).find("Max-Age=0"), std::string::npos);
}

Person ada() {
  return Person{"dev:ada@example.com", "ada@example.com", "Ada", "dev", {"eng", "a&b=c"}};
}

TEST(Grants, RoundTripEveryKind) {
  CodeGrant code{"id1", "tgc1.x", "http://127.0.0.1/cb", "challenge", "https://n.example", "a b",
                 ada(), 99};
  auto decoded = decode_code(encode(code));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->redirect_uri, code.redirect_uri);
  EXPECT_EQ(decoded->person.groups, ada().groups);
  EXPECT_EQ(decoded->expires, 99);

  RefreshGrant refresh{"fam", 3, "c", "https://n.example", "s", ada(), 1000};
  auto r = decode_refresh(encode(refresh));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->generation, 3u);
  EXPECT_EQ(r->family, "fam");

  Handoff handoff{"h", "n.example", "/p?q=1", ada(), 5};
  auto h = decode_handoff(encode(handoff));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->path, "/p?q=1");

  Registration registration{"Client & co", {"http://127.0.0.1/a", "https://x.example/b"}, 7};
  auto g = decode_registration(encode(registration));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->redirect_uris, registration.redirect_uris);
  EXPECT_EQ(g->name, "Client & co");
}

TEST(Grants, RefuseWhatIsMissingOrMalformed) {
  EXPECT_FALSE(decode_code("c=x&x=1"));  // no id
  EXPECT_FALSE(decode_code("j=a&x=soon"));
  EXPECT_FALSE(decode_refresh("f=a&n=-1&x=5"));
  EXPECT_FALSE(decode_registration("n=a&t=1"));      // no redirect URI
  EXPECT_FALSE(decode_auth_session("j=a&j=b&x=1"));  // a repeated field
}

TEST(ClientRegistration, AcceptsAPublicCodeFlowClient) {
  auto parsed = parse_registration_request(
      R"({"redirect_uris":["http://127.0.0.1:3000/cb"],"client_name":"IDE",)"
      R"("grant_types":["authorization_code","refresh_token"],"response_types":["code"],)"
      R"("token_endpoint_auth_method":"none","logo_uri":"https://x/l.png"})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->client_name, "IDE");
  ASSERT_EQ(parsed->redirect_uris.size(), 1u);
}

TEST(ClientRegistration, RefusesWhatItWouldNotEnforce) {
  EXPECT_FALSE(parse_registration_request(R"({"client_name":"x"})"));
  EXPECT_FALSE(parse_registration_request(R"({"redirect_uris":[]})"));
  auto http = parse_registration_request(R"({"redirect_uris":["http://evil.example/cb"]})");
  ASSERT_FALSE(http);
  EXPECT_TRUE(http.error().message.starts_with("redirect_uris"));
  EXPECT_FALSE(parse_registration_request(
      R"({"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"})"));
  EXPECT_FALSE(parse_registration_request(
      R"({"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]})"));
  EXPECT_FALSE(parse_registration_request(
      R"({"redirect_uris":["https://a.example/cb"],"redirect_uris":["https://b.example/cb"]})"));
  EXPECT_FALSE(parse_registration_request(R"({"redirect_uris":["https://a.example/cb"]} x)"));
  EXPECT_FALSE(parse_registration_request(R"({"redirect_uris":["https://a.example/cb"],)"
                                          R"("client_id":"mine"})"));
  std::string many = R"({"redirect_uris":[)";
  for (int i = 0; i < 9; ++i) {
    many += std::string(i ? "," : "") + "\"https://a.example/" + std::to_string(i) + "\"";
  }
  EXPECT_FALSE(parse_registration_request(many + "]}"));
}

TEST(ClientRegistration, AMetadataDocumentNamesItsOwnUrl) {
  const std::string doc =
      R"({"client_id":"https://app.example/client.json","redirect_uris":["https://app.example/cb"]})";
  EXPECT_TRUE(parse_client_metadata_document(doc, "https://app.example/client.json"));
  EXPECT_FALSE(parse_client_metadata_document(doc, "https://other.example/client.json"));
}

TEST(ClientMetadataFetch, InternalAddressesAreRefusedUnlessAllowed) {
  for (const char* text :
       {"127.0.0.1", "10.1.2.3", "192.168.1.1", "172.20.0.1", "169.254.169.254", "100.64.0.1",
        "::1", "fe80::1", "fd00::1", "0.0.0.0", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_internal_address(*policy::IpAddress::parse(text))) << text;
  }
  for (const char* text : {"93.184.216.34", "2606:4700::1111", "8.8.8.8"}) {
    EXPECT_FALSE(is_internal_address(*policy::IpAddress::parse(text))) << text;
  }
}

TEST(Pages, EscapeWhatTheyShow) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  ConsentPage page;
  page.client_name = "<script>";
  page.resource = "https://n.example";
  EXPECT_EQ(consent_page(page).find("<script>"), std::string::npos);
}

TEST(AuthState, OneTimeIdsWorkOnce) {
  AuthState state("", 10);
  EXPECT_TRUE(state.use_once("a", 100, 50));
  EXPECT_FALSE(state.use_once("a", 100, 60));
  EXPECT_FALSE(state.use_once("b", 40, 50));   // already expired
  EXPECT_TRUE(state.use_once("a", 200, 150));  // the first use has expired with its code
}

TEST(AuthState, ReusingARefreshTokenRevokesTheFamily) {
  AuthState state("", 10);
  ASSERT_TRUE(state.open_family("f", 1000));
  EXPECT_EQ(state.rotate("f", 0, 10), AuthState::Rotation::kRotated);
  EXPECT_EQ(state.rotate("f", 1, 11), AuthState::Rotation::kRotated);
  EXPECT_EQ(state.rotate("f", 1, 12), AuthState::Rotation::kReused);
  EXPECT_EQ(state.rotate("f", 2, 13), AuthState::Rotation::kUnknown);
  ASSERT_TRUE(state.open_family("g", 20));
  EXPECT_EQ(state.rotate("g", 0, 21), AuthState::Rotation::kUnknown);  // expired
}

TEST(AuthState, FamiliesSurviveARestart) {
  const auto dir = std::filesystem::temp_directory_path() / "tg-auth-state-test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "families").string();
  std::filesystem::remove(path);
  {
    AuthState state(path, 10);
    ASSERT_TRUE(state.load(0));
    ASSERT_TRUE(state.open_family("keep", 1000));
    ASSERT_TRUE(state.open_family("gone", 1000));
    ASSERT_TRUE(state.open_family("old", 50));
    EXPECT_EQ(state.rotate("keep", 0, 1), AuthState::Rotation::kRotated);
    EXPECT_TRUE(state.revoke_family("gone"));
  }
  AuthState again(path, 10);
  ASSERT_TRUE(again.load(100));
  EXPECT_EQ(again.live_families(), 1u);
  EXPECT_EQ(again.rotate("keep", 0, 101), AuthState::Rotation::kReused);  // generation 1 is current
  std::filesystem::remove_all(dir);
}

TEST(AuthState, RegistrationsAreRateLimitedPerMinute) {
  AuthState state("", 2);
  EXPECT_TRUE(state.allow_registration(60));
  EXPECT_TRUE(state.allow_registration(61));
  EXPECT_FALSE(state.allow_registration(62));
  EXPECT_TRUE(state.allow_registration(120));
}

}  // namespace
}  // namespace tg::auth
