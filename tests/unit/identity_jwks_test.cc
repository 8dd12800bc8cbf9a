#include <gtest/gtest.h>

#include <string>

#include "relay/identity/base64url.h"
#include "relay/identity/jwks.h"
#include "relay/identity/jws_signer.h"

namespace tg::identity {
namespace {

// Public JWKs generated once for the suite (an RSA key takes a while to make).
class Jwks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new std::string(make(JwsAlgorithm::kRS256, "rsa-1"));
    ec_ = new std::string(make(JwsAlgorithm::kES256, "ec-1"));
    ed_ = new std::string(make(JwsAlgorithm::kEdDSA, "ed-1"));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete ed_;
  }
  static std::string make(JwsAlgorithm algorithm, std::string kid) {
    Result<SigningKey> key = SigningKey::generate(algorithm, std::move(kid));
    EXPECT_TRUE(key.ok()) << key.error().message;
    return key->public_jwk();
  }
  static std::string set(std::initializer_list<std::string> keys) {
    std::string json = "{\"keys\":[";
    bool first = true;
    for (const std::string& key : keys) {
      json += (first ? "" : ",") + key;
      first = false;
    }
    return json + "]}";
  }
  // A syntactically fine RSA JWK whose modulus has `bits` bits.
  static std::string rsa_of_bits(int bits) {
    std::string n(static_cast<std::size_t>((bits + 7) / 8), '\xa5');
    n[0] = static_cast<char>(0x80 >> ((8 - bits % 8) % 8));
    n.back() = '\xa7';  // odd, like a real modulus
    return R"({"kty":"RSA","kid":"short","n":")" + encode_base64url(n) + R"(","e":"AQAB"})";
  }

  static std::string* rsa_;
  static std::string* ec_;
  static std::string* ed_;
};

std::string* Jwks::rsa_ = nullptr;
std::string* Jwks::ec_ = nullptr;
std::string* Jwks::ed_ = nullptr;

TEST_F(Jwks, ReadsEachAcceptedKeyType) {
  Result<identity::Jwks> jwks = parse_jwks(set({*rsa_, *ec_, *ed_}));
  ASSERT_TRUE(jwks.ok()) << jwks.error().message;
  ASSERT_EQ(jwks->keys.size(), 3u);
  EXPECT_TRUE(jwks->notes.empty());
  EXPECT_EQ(jwks->keys[0].type, KeyType::kRsa);
  EXPECT_EQ(jwks->keys[0].kid, "rsa-1");
  EXPECT_EQ(jwks->keys[0].bits, 2048);
  EXPECT_EQ(jwks->keys[0].exponent, (std::vector<std::uint8_t>{1, 0, 1}));
  EXPECT_TRUE(jwks->keys[0].declares_alg);
  EXPECT_EQ(jwks->keys[1].type, KeyType::kEcP256);
  EXPECT_EQ(jwks->keys[1].kid, "ec-1");
  EXPECT_EQ(jwks->keys[2].type, KeyType::kEd25519);
  EXPECT_EQ(jwks->keys[2].algorithm(), JwsAlgorithm::kEdDSA);
}

TEST_F(Jwks, KeepsKeysWithoutKidAlgOrUse) {
  // RFC 8037 A.2's public key.
  Result<identity::Jwks> jwks =
      parse_jwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519",)"
                 R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})");
  ASSERT_TRUE(jwks.ok()) << jwks.error().message;
  EXPECT_EQ(jwks->keys[0].kid, "");
  EXPECT_FALSE(jwks->keys[0].declares_alg);
}

TEST_F(Jwks, LeavesOutUnusableKeysWithANote) {
  const std::string oct = R"({"kty":"oct","kid":"hmac","k":"c2VjcmV0"})";
  const std::string p384 = R"({"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"})";
  const std::string x25519 = R"({"kty":"OKP","crv":"X25519","kid":"dh","x":"AA"})";
  const std::string unknown = R"({"kty":"LWE","kid":"future"})";
  std::string encryption = *ec_;
  encryption.replace(encryption.find("\"use\":\"sig\""), 11, "\"use\":\"enc\"");
  Result<identity::Jwks> jwks =
      parse_jwks(set({oct, p384, x25519, unknown, encryption, rsa_of_bits(1024), *ed_}));
  ASSERT_TRUE(jwks.ok()) << jwks.error().message;
  ASSERT_EQ(jwks->keys.size(), 1u);
  EXPECT_EQ(jwks->keys[0].kid, "ed-1");
  ASSERT_EQ(jwks->notes.size(), 6u);
  EXPECT_EQ(jwks->notes[0],
            "jwks: key 0 (kid \"hmac\") left out: is a symmetric key (kty \"oct\"), never "
            "accepted");
  EXPECT_EQ(jwks->notes[1],
            "jwks: key 1 (kid \"p384\") left out: is on curve \"P-384\" (only P-256 is accepted)");
  EXPECT_NE(jwks->notes[2].find("only Ed25519"), std::string::npos);
  EXPECT_NE(jwks->notes[3].find("kty \"LWE\""), std::string::npos);
  EXPECT_NE(jwks->notes[4].find("use \"enc\""), std::string::npos);
  EXPECT_EQ(jwks->notes[5],
            "jwks: key 5 (kid \"short\") left out: is an RSA key of 1024 bits (2048 at least)");
}

TEST_F(Jwks, RefusesRsaUnder2048Bits) {
  Result<identity::Jwks> jwks = parse_jwks(set({rsa_of_bits(2047)}));
  ASSERT_FALSE(jwks.ok());
  EXPECT_EQ(jwks.error().message,
            "jwks: no usable key; key 0 (kid \"short\") left out: is an RSA key of 2047 bits "
            "(2048 at least)");
  EXPECT_TRUE(parse_jwks(set({rsa_of_bits(2048)})).ok());
  EXPECT_TRUE(parse_jwks(set({rsa_of_bits(4096)})).ok());
  EXPECT_FALSE(parse_jwks(set({rsa_of_bits(4097)})).ok());
}

TEST_F(Jwks, LeadingZeroBytesDoNotCountAsModulusBits) {
  std::string n(257, '\xa5');
  n[0] = '\0';
  n[1] = '\x01';  // 2041 significant bits
  Result<identity::Jwks> jwks =
      parse_jwks(R"({"keys":[{"kty":"RSA","n":")" + encode_base64url(n) + R"(","e":"AQAB"}]})");
  ASSERT_FALSE(jwks.ok());
  EXPECT_NE(jwks.error().message.find("2041 bits"), std::string::npos);
}

TEST_F(Jwks, RefusesUnusableRsaExponents) {
  const std::string n = encode_base64url(std::string(256, '\xc1'));
  for (const char* e : {"AQ", "AA", "AQAA", ""}) {
    Result<identity::Jwks> jwks =
        parse_jwks(R"({"keys":[{"kty":"RSA","n":")" + n + R"(","e":")" + e + R"("}]})");
    EXPECT_FALSE(jwks.ok()) << e;
  }
}

TEST_F(Jwks, LeavesOutAKeyWhoseAlgItsTypeCannotVerify) {
  std::string rsa_as_es256 = *rsa_;
  rsa_as_es256.replace(rsa_as_es256.find("\"alg\":\"RS256\""), 13, "\"alg\":\"ES256\"");
  std::string rsa_as_ps256 = *rsa_;
  rsa_as_ps256.replace(rsa_as_ps256.find("\"alg\":\"RS256\""), 13, "\"alg\":\"PS256\"");
  Result<identity::Jwks> jwks = parse_jwks(set({rsa_as_es256, rsa_as_ps256, *ec_}));
  ASSERT_TRUE(jwks.ok());
  ASSERT_EQ(jwks->keys.size(), 1u);
  ASSERT_EQ(jwks->notes.size(), 2u);
  EXPECT_EQ(jwks->notes[0],
            "jwks: key 0 (kid \"rsa-1\") left out: declares alg \"ES256\", but RSA keys verify "
            "only RS256");
}

TEST_F(Jwks, HonoursKeyOps) {
  std::string verify = *ec_;
  verify.insert(1, R"("key_ops":["verify"],)");
  std::string sign_only = *ed_;
  sign_only.insert(1, R"("key_ops":["sign"],)");
  Result<identity::Jwks> jwks = parse_jwks(set({verify, sign_only}));
  ASSERT_TRUE(jwks.ok());
  EXPECT_EQ(jwks->keys.size(), 1u);
  EXPECT_NE(jwks->notes[0].find("key_ops without \"verify\""), std::string::npos);
}

TEST_F(Jwks, RefusesAnEcPointOffTheCurve) {
  const std::string one = encode_base64url(std::string(32, '\x01'));
  Result<identity::Jwks> jwks = parse_jwks(R"({"keys":[{"kty":"EC","crv":"P-256","x":")" + one +
                                           R"(","y":")" + one + R"("}]})");
  ASSERT_FALSE(jwks.ok());
  EXPECT_NE(jwks.error().message.find("not on P-256"), std::string::npos);
}

TEST_F(Jwks, RefusesShortCurveCoordinates) {
  const std::string short_x = encode_base64url(std::string(31, '\x01'));
  EXPECT_FALSE(
      parse_jwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":")" + short_x + R"("}]})").ok());
}

TEST_F(Jwks, KeepsTheFirstOfTwoKeysWithTheSameKidAndType) {
  std::string second = make(JwsAlgorithm::kES256, "ec-1");
  Result<identity::Jwks> jwks = parse_jwks(set({*ec_, second}));
  ASSERT_TRUE(jwks.ok());
  ASSERT_EQ(jwks->keys.size(), 1u);
  EXPECT_NE(jwks->notes[0].find("same kid and type"), std::string::npos);
}

TEST_F(Jwks, ReadsPrivateKeysOnlyForTheirPublicHalf) {
  std::string with_private = *ed_;
  with_private.insert(1, R"("d":"c2VjcmV0",)");
  Result<identity::Jwks> jwks = parse_jwks(set({with_private}));
  ASSERT_TRUE(jwks.ok());
  EXPECT_EQ(jwks->keys.size(), 1u);
  ASSERT_EQ(jwks->notes.size(), 1u);
  EXPECT_EQ(jwks->notes[0],
            "jwks: key 0 (kid \"ed-1\") holds private key material: a JWKS should publish only "
            "public keys (only the public part is used)");
}

TEST_F(Jwks, RefusesDocumentsThatAreNotKeySets) {
  EXPECT_EQ(parse_jwks("").error().message, "jwks: not a JSON object");
  EXPECT_EQ(parse_jwks("[]").error().message, "jwks: not a JSON object");
  EXPECT_EQ(parse_jwks("{}").error().message, "jwks: no \"keys\" array");
  EXPECT_EQ(parse_jwks(R"({"keys":{}})").error().message, "jwks: \"keys\" is not an array");
  EXPECT_EQ(parse_jwks(R"({"keys":[]})").error().message, "jwks: no usable key");
  EXPECT_EQ(parse_jwks(R"({"keys":[1]})").error().message, "jwks: key 0 is not a JSON object");
  EXPECT_EQ(parse_jwks(set({*ed_}) + " {}").error().message,
            "jwks: not valid JSON (text after the object)");
  EXPECT_EQ(parse_jwks(R"({"keys":[],"keys":[]})").error().message,
            "jwks: a member is named twice");
  EXPECT_FALSE(parse_jwks(R"({"keys":[{"kty":"RSA","kty":"EC"}]})").ok());
  EXPECT_FALSE(parse_jwks(R"({"keys":[{"kty":7}]})").ok());
  EXPECT_FALSE(parse_jwks(R"({"keys":[{"kty":"RSA","x5c":[1,]}]})").ok());
  EXPECT_FALSE(parse_jwks(std::string(kMaxJwksBytes + 1, ' ')).ok());
}

TEST_F(Jwks, QuotesKidsSafelyInNotes) {
  Result<identity::Jwks> jwks = parse_jwks(set({R"({"kty":"oct","kid":"a\"b\nc\u00e9"})", *ed_}));
  ASSERT_TRUE(jwks.ok());
  EXPECT_EQ(jwks->notes[0].rfind("jwks: key 0 (kid \"a?b?c??\") left out", 0), 0u);
}

}  // namespace
}  // namespace tg::identity
