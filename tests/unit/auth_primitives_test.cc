// The authorization server's primitives: sealed values, PKCE, redirect URIs, form fields.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "relay/auth/auth.h"
#include "relay/identity/base64url.h"

namespace tg::auth {
namespace {

SealKeyring ring_of(std::vector<SealKey> keys) {
  auto ring = SealKeyring::create(std::move(keys));
  EXPECT_TRUE(ring) << ring.error().message;
  return std::move(ring).value();
}

SealKey key(std::uint32_t id) {
  auto made = SealKey::generate(id);
  EXPECT_TRUE(made);
  return *made;
}

TEST(SealedBox, OpensWhatItSealedForThatPurposeOnly) {
  SealKeyring ring = ring_of({key(7)});
  auto sealed = ring.seal("code", R"({"sub":"ada","exp":100})");
  ASSERT_TRUE(sealed);
  auto opened = ring.open("code", *sealed);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, R"({"sub":"ada","exp":100})");
  auto as_cookie = ring.open("session", *sealed);
  ASSERT_FALSE(as_cookie);
  EXPECT_EQ(as_cookie.error().message, "sealed value forged, altered or of another purpose");
}

TEST(SealedBox, TwoSealsOfOneValueDifferAndHideIt) {
  SealKeyring ring = ring_of({key(1)});
  auto a = ring.seal("code", "secret-subject");
  auto b = ring.seal("code", "secret-subject");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // fresh nonce each time
  auto bytes = identity::decode_base64url(*a);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->find("secret-subject"), std::string::npos);
}

TEST(SealedBox, RefusesEveryAlteredByte) {
  SealKeyring ring = ring_of({key(1)});
  auto sealed = ring.seal("session", "hello world");
  ASSERT_TRUE(sealed);
  std::string bytes = *identity::decode_base64url(*sealed);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string altered = bytes;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    EXPECT_FALSE(ring.open("session", identity::encode_base64url(std::string_view(altered))))
        << "byte " << i;
  }
  // Truncated, extended, empty, not base64url, too long.
  EXPECT_FALSE(
      ring.open("session", identity::encode_base64url(std::string_view(bytes).substr(0, 20))));
  EXPECT_FALSE(ring.open("session", identity::encode_base64url(bytes + "x")));
  EXPECT_FALSE(ring.open("session", ""));
  EXPECT_FALSE(ring.open("session", *sealed + "="));
  EXPECT_EQ(ring.open("session", std::string(kMaxSealedChars + 1, 'A')).error().message,
            "sealed value too long");
}

TEST(SealedBox, RotationKeepsOldValuesOpenUntilTheKeyIsDropped) {
  const SealKey old_key = key(1), new_key = key(2);
  SealKeyring before = ring_of({old_key});
  auto old_value = before.seal("code", "from before");
  ASSERT_TRUE(old_value);
  SealKeyring rotated = ring_of({new_key, old_key});
  EXPECT_EQ(*rotated.open("code", *old_value), "from before");
  auto new_value = rotated.seal("code", "after");
  ASSERT_TRUE(new_value);
  EXPECT_FALSE(before.open("code", *new_value));  // sealed under key 2, unknown to `before`
  SealKeyring retired = ring_of({new_key});
  EXPECT_EQ(retired.open("code", *old_value).error().message,
            "sealed under a key the relay no longer holds");
}

TEST(SealedBox, AnotherKeyWithTheSameIdCannotOpen) {
  SealKeyring mine = ring_of({key(1)}), theirs = ring_of({key(1)});
  auto sealed = theirs.seal("code", "x");
  ASSERT_TRUE(sealed);
  EXPECT_FALSE(mine.open("code", *sealed));
}

TEST(SealedBox, CopiesAreIndependentAndEquivalent) {
  SealKeyring ring = ring_of({key(3)});
  SealKeyring copy = ring;
  auto sealed = ring.seal("code", "shared across workers");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(*copy.open("code", *sealed), "shared across workers");
}

TEST(SealedBox, KeyringRefusesNoKeysAndDuplicateIds) {
  EXPECT_FALSE(SealKeyring::create({}));
  EXPECT_FALSE(SealKeyring::create({key(4), key(4)}));
}

TEST(SealedBox, KeyTextRoundTripsAndRefusesMalformed) {
  const SealKey original = key(42);
  auto back = SealKey::from_text(original.to_text());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, 42u);
  EXPECT_EQ(back->bytes, original.bytes);
  EXPECT_FALSE(SealKey::from_text("42"));
  EXPECT_FALSE(SealKey::from_text(":" + std::string(64, 'a')));
  EXPECT_FALSE(SealKey::from_text("x:" + std::string(64, 'a')));
  EXPECT_FALSE(SealKey::from_text("1:" + std::string(63, 'a')));
  EXPECT_FALSE(SealKey::from_text("1:" + std::string(64, 'G')));
  EXPECT_FALSE(SealKey::from_text("99999999999:" + std::string(64, 'a')));
}

TEST(SealedBox, KeyringFileIsCreatedPrivateAndReadBack) {
  const std::string dir = testing::TempDir() + "/seal_keys_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/seal-keys";
  auto created = load_or_create_seal_keys(path);
  ASSERT_TRUE(created) << created.error().message;
  ASSERT_EQ(created->size(), 1u);
  const auto perms = std::filesystem::status(path).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  auto again = load_or_create_seal_keys(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->front().bytes, created->front().bytes);
  std::ofstream(path, std::ios::app) << "not a key\n";
  auto broken = load_or_create_seal_keys(path);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find(path + ":2: "), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Pkce, MatchesTheRfc7636Example) {
  // RFC 7636 Appendix B.
  const std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const std::string challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  EXPECT_EQ(s256_challenge(verifier), challenge);
  EXPECT_TRUE(s256_matches(verifier, challenge));
}

TEST(Pkce, RefusesWrongOrMalformedVerifiersAndChallenges) {
  const std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const std::string challenge = s256_challenge(verifier);
  std::string other = verifier;
  other[0] = 'e';
  EXPECT_FALSE(s256_matches(other, challenge));
  EXPECT_FALSE(s256_matches(verifier, verifier));  // "plain" is not accepted
  EXPECT_FALSE(s256_matches("", s256_challenge("")));
  const std::string short_verifier(42, 'a');
  EXPECT_FALSE(s256_matches(short_verifier, s256_challenge(short_verifier)));
  const std::string long_verifier(129, 'a');
  EXPECT_FALSE(s256_matches(long_verifier, s256_challenge(long_verifier)));
  const std::string spaced = std::string(42, 'a') + " ";
  EXPECT_FALSE(s256_matches(spaced, s256_challenge(spaced)));
  EXPECT_TRUE(is_code_verifier(std::string(43, '~')));
  EXPECT_TRUE(is_code_verifier(std::string(128, '.')));
  EXPECT_FALSE(is_s256_challenge(challenge + "A"));
  EXPECT_FALSE(is_s256_challenge(challenge.substr(0, 42) + "+"));
  EXPECT_FALSE(is_s256_challenge(challenge.substr(0, 42) + "B"));  // non-zero trailing bits
}

TEST(RedirectUri, AcceptsWhatOAuth21Allows) {
  EXPECT_EQ(*check_redirect_uri("https://app.example.com/callback?x=1"), RedirectUriKind::kHttps);
  EXPECT_EQ(*check_redirect_uri("https://app.example.com:8443/cb"), RedirectUriKind::kHttps);
  EXPECT_EQ(*check_redirect_uri("http://127.0.0.1:33418/callback"), RedirectUriKind::kLoopbackHttp);
  EXPECT_EQ(*check_redirect_uri("http://localhost:6274/oauth/callback"),
            RedirectUriKind::kLoopbackHttp);
  EXPECT_EQ(*check_redirect_uri("http://[::1]/cb"), RedirectUriKind::kLoopbackHttp);
  EXPECT_EQ(*check_redirect_uri("com.example.app:/oauth2redirect"),
            RedirectUriKind::kPrivateUseScheme);
}

TEST(RedirectUri, RefusesWhatCouldLeakACode) {
  for (const char* uri : {
           "",
           "http://app.example.com/cb",        // plain http off loopback
           "http://127.0.0.1.evil.com/cb",     // looks like loopback
           "https://app.example.com/cb#frag",  // fragment
           "https://user@app.example.com/cb",  // userinfo
           "https://good.com@evil.com/cb",
           "javascript:alert(1)",  // no dot: not a private-use scheme
           "data:text/html,x",
           "file:///etc/passwd",
           "https:///cb",  // no host
           "https://app.example.com:0/cb",
           "https://app.example.com:65536/cb",
           "https://app.example.com:08/cb",
           "https://app example.com/cb",
           "https://app.example.com/c b",
           "https://app.example.com/\x01",
           "HTTPS://app.example.com/cb",  // schemes are compared as registered: lower case only
           "https://[::1/cb",
           "relative/path",
       }) {
    EXPECT_FALSE(check_redirect_uri(uri)) << uri;
  }
  EXPECT_FALSE(check_redirect_uri("https://a.example/" + std::string(kMaxRedirectUriBytes, 'a')));
}

TEST(RedirectUri, MatchesExactlyExceptALoopbackPort) {
  EXPECT_TRUE(redirect_uri_matches("https://app.example.com/cb", "https://app.example.com/cb"));
  EXPECT_FALSE(redirect_uri_matches("https://app.example.com/cb", "https://app.example.com/cb/"));
  EXPECT_FALSE(
      redirect_uri_matches("https://app.example.com/cb", "https://app.example.com:443/cb"));
  EXPECT_FALSE(redirect_uri_matches("https://app.example.com/cb", "https://APP.example.com/cb"));
  EXPECT_FALSE(redirect_uri_matches("https://app.example.com/cb", "https://app.example.com/cb?x"));
  EXPECT_TRUE(redirect_uri_matches("http://127.0.0.1/callback", "http://127.0.0.1:51004/callback"));
  EXPECT_TRUE(redirect_uri_matches("http://localhost:3000/cb", "http://localhost:3001/cb"));
  EXPECT_FALSE(redirect_uri_matches("http://localhost:3000/cb", "http://127.0.0.1:3000/cb"));
  EXPECT_FALSE(redirect_uri_matches("http://127.0.0.1:3000/cb", "http://127.0.0.1:3000/other"));
  EXPECT_FALSE(redirect_uri_matches("http://127.0.0.1:3000/cb", "https://127.0.0.1:3000/cb"));
  EXPECT_FALSE(redirect_uri_matches("http://127.0.0.1:3000/cb", "http://127.0.0.1:3000/cb#x"));
  EXPECT_FALSE(redirect_uri_matches("http://127.0.0.1:3000/cb", "http://127.0.0.1:3000@evil/cb"));
  // The port exception is for loopback only.
  EXPECT_FALSE(
      redirect_uri_matches("https://app.example.com:8443/cb", "https://app.example.com:9443/cb"));
}

TEST(FormFields, DecodesLikeBrowsersSend) {
  auto form = FormFields::parse(
      "grant_type=authorization_code&code=a%2Bb&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb"
      "&scope=mcp+tools&&empty=&bare");
  ASSERT_TRUE(form) << form.error().message;
  EXPECT_EQ(form->get("grant_type"), "authorization_code");
  EXPECT_EQ(form->get("code"), "a+b");
  EXPECT_EQ(form->get("redirect_uri"), "http://127.0.0.1:9/cb");
  EXPECT_EQ(form->get("scope"), "mcp tools");
  ASSERT_NE(form->find("empty"), nullptr);
  EXPECT_EQ(*form->find("empty"), "");
  ASSERT_NE(form->find("bare"), nullptr);
  EXPECT_EQ(form->find("missing"), nullptr);
  EXPECT_EQ(form->fields().size(), 6u);
  EXPECT_TRUE(FormFields::parse("")->fields().empty());
}

TEST(FormFields, RefusesRepeatsMalformedEscapesAndNul) {
  EXPECT_EQ(FormFields::parse("redirect_uri=a&redirect_uri=b").error().message,
            "field \"redirect_uri\" appears more than once");
  EXPECT_FALSE(FormFields::parse("a=1&%61=2"));  // the same name, spelled differently
  EXPECT_FALSE(FormFields::parse("a=%"));
  EXPECT_FALSE(FormFields::parse("a=%4"));
  EXPECT_FALSE(FormFields::parse("a=%4g"));
  EXPECT_FALSE(FormFields::parse("a%=1"));
  EXPECT_FALSE(FormFields::parse("a=%00"));
  EXPECT_EQ(FormFields::parse(std::string("a=b\0c", 5)).error().message,
            "field \"a\": NUL is not allowed");
  EXPECT_FALSE(FormFields::parse(std::string("a\0=b", 5)));
  std::string many;
  for (std::size_t i = 0; i <= kMaxFormFields; ++i) many += "f" + std::to_string(i) + "=1&";
  EXPECT_FALSE(FormFields::parse(many));
}

TEST(FormFields, EncodingReadsBackTheSame) {
  const std::string value = "http://127.0.0.1:9/cb?a=b&c=d e+f%~";
  EXPECT_EQ(form_encode("a b&c"), "a%20b%26c");
  auto form = FormFields::parse("v=" + form_encode(value));
  ASSERT_TRUE(form);
  EXPECT_EQ(form->get("v"), value);
}

}  // namespace
}  // namespace tg::auth
