// JWT verification with real keys: the tests generate RSA-2048, P-256 and Ed25519 keys with
// wolfCrypt, sign tokens, publish the public halves as a JWKS and verify.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "relay/identity/base64url.h"
#include "relay/identity/jwks_refresh_requests.h"
#include "relay/identity/jws_signer.h"
#include "relay/identity/jwt_verifier.h"
#include "relay/policy/policy.h"

namespace tg::identity {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kIssuer = "https://idp.test";
constexpr const char* kTunnel = "https://app.tunnel.test";

std::string claims(const std::string& extra = "", std::int64_t exp = kNow + 3600) {
  return std::string(R"({"iss":")") + kIssuer + R"(","aud":")" + kTunnel +
         R"(","sub":"alice","exp":)" + std::to_string(exp) + extra + "}";
}

policy::Identity identity_with(std::vector<std::string> audiences = {}) {
  policy::Identity identity;
  policy::JwtIssuer issuer;
  issuer.issuer = kIssuer;
  issuer.jwks = "memory";
  issuer.audiences = std::move(audiences);
  issuer.line = 3;
  identity.jwt.push_back(issuer);
  return identity;
}

JwtVerifier verifier_for(const std::string& jwks, std::vector<std::string> audiences = {},
                         JwtOptions options = {}) {
  Result<JwtVerifier> verifier = JwtVerifier::create(
      identity_with(std::move(audiences)),
      [&](const policy::JwtIssuer&) -> Result<std::string> { return jwks; }, options);
  EXPECT_TRUE(verifier.ok()) << verifier.error().message;
  return std::move(verifier).value();
}

// Replaces one dot-separated part of a token.
std::string with_part(const std::string& token, int index, const std::string& part) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  parts[static_cast<std::size_t>(index)] = part;
  return parts[0] + "." + parts[1] + "." + parts[2];
}

std::string part(const std::string& token, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
  return token.substr(start, token.find('.', start) - start);
}

class JwtVerify : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = generate(JwsAlgorithm::kRS256, "rsa-1");
    ec_ = generate(JwsAlgorithm::kES256, "ec-1");
    ed_ = generate(JwsAlgorithm::kEdDSA, "ed-1");
    ec2_ = generate(JwsAlgorithm::kES256, "ec-2");
    const SigningKey* keys[] = {rsa_, ec_, ed_};
    jwks_ = new std::string(jwks_json(keys));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete ed_;
    delete ec2_;
    delete jwks_;
  }
  static SigningKey* generate(JwsAlgorithm algorithm, const char* kid) {
    Result<SigningKey> key = SigningKey::generate(algorithm, kid);
    if (!key) ADD_FAILURE() << key.error().message;
    return new SigningKey(std::move(key).value());
  }
  static std::string sign(SigningKey& key, const std::string& payload) {
    Result<std::string> token = key.sign_jwt(payload);
    EXPECT_TRUE(token.ok());
    return *token;
  }
  static std::string sign(SigningKey& key, const std::string& header, const std::string& payload) {
    Result<std::string> token = key.sign_compact(header, payload);
    EXPECT_TRUE(token.ok());
    return *token;
  }
  // The error verifying `token` with the suite's JWKS, or "ok".
  static std::string outcome(const std::string& token, std::int64_t now = kNow,
                             std::string_view tunnel = kTunnel) {
    static const JwtVerifier verifier = verifier_for(*jwks_);
    Result<VerifiedToken> verified = verifier.verify(token, tunnel, now);
    return verified.ok() ? "ok" : verified.error().message;
  }

  static SigningKey* rsa_;
  static SigningKey* ec_;
  static SigningKey* ed_;
  static SigningKey* ec2_;
  static std::string* jwks_;
};

SigningKey* JwtVerify::rsa_ = nullptr;
SigningKey* JwtVerify::ec_ = nullptr;
SigningKey* JwtVerify::ed_ = nullptr;
SigningKey* JwtVerify::ec2_ = nullptr;
std::string* JwtVerify::jwks_ = nullptr;

TEST_F(JwtVerify, AcceptsEachAlgorithm) {
  for (SigningKey* key : {rsa_, ec_, ed_}) {
    const std::string token = sign(*key, claims());
    JwtVerifier verifier = verifier_for(*jwks_);
    Result<VerifiedToken> verified = verifier.verify(token, kTunnel, kNow);
    ASSERT_TRUE(verified.ok()) << to_string(key->algorithm()) << ": " << verified.error().message;
    EXPECT_EQ(verified->algorithm(), key->algorithm());
    EXPECT_EQ(verified->issuer(), kIssuer);
    EXPECT_EQ(verified->subject(), "alice");
    EXPECT_EQ(verified->expires_at(), kNow + 3600);
    ASSERT_EQ(verified->audiences().size(), 1u);
    EXPECT_EQ(verified->audiences()[0], kTunnel);
  }
}

TEST_F(JwtVerify, RefusesAlgNone) {
  const std::string header = encode_base64url(R"({"alg":"none","typ":"JWT"})");
  const std::string payload = encode_base64url(claims());
  EXPECT_EQ(outcome(header + "." + payload + "."), "alg none refused");
  EXPECT_EQ(outcome(header + "." + payload + ".c2ln"), "alg none refused");
  EXPECT_EQ(outcome(encode_base64url(R"({"alg":"NoNe"})") + "." + payload + "."),
            "alg none refused");
}

TEST_F(JwtVerify, RefusesSharedSecretAlgorithms) {
  // The classic confusion: an HMAC keyed with the public key's text.
  for (const char* alg : {"HS256", "HS384", "HS512", "hs256"}) {
    const std::string token =
        sign(*ec_, std::string(R"({"alg":")") + alg + R"(","kid":"ec-1"})", claims());
    EXPECT_EQ(outcome(token), "alg HS* refused") << alg;
  }
}

TEST_F(JwtVerify, RefusesOtherAlgorithms) {
  for (const char* alg : {"RS512", "PS256", "ES384", "ES256K", "Ed25519", "rs256", ""}) {
    const std::string token = sign(*ec_, std::string(R"({"alg":")") + alg + R"("})", claims());
    EXPECT_EQ(outcome(token), "alg not accepted") << alg;
  }
  EXPECT_EQ(outcome(sign(*ec_, R"({"kid":"ec-1"})", claims())), "malformed: header has no alg");
  EXPECT_EQ(outcome(sign(*ec_, R"({"alg":256})", claims())), "malformed: alg is not a string");
}

TEST_F(JwtVerify, RefusesAnAlgThatDoesNotFitTheKey) {
  // An ES256 header naming the RSA key's kid, signed by the EC key: the kid's key is RSA.
  EXPECT_EQ(outcome(sign(*ec_, R"({"alg":"ES256","kid":"rsa-1"})", claims())),
            "alg does not match the key");
  EXPECT_EQ(outcome(sign(*rsa_, R"({"alg":"RS256","kid":"ed-1"})", claims())),
            "alg does not match the key");
  EXPECT_EQ(outcome(sign(*ed_, R"({"alg":"EdDSA","kid":"ec-1"})", claims())),
            "alg does not match the key");
}

TEST_F(JwtVerify, RefusesAnUnknownKid) {
  EXPECT_EQ(outcome(sign(*ec2_, claims())), "unknown kid");
  EXPECT_EQ(outcome(sign(*ec_, R"({"alg":"ES256","kid":""})", claims())), "unknown kid");
}

TEST_F(JwtVerify, WithoutKidUsesTheOneKeyThatFits) {
  EXPECT_EQ(outcome(sign(*ec_, R"({"alg":"ES256"})", claims())), "ok");
  EXPECT_EQ(outcome(sign(*rsa_, R"({"alg":"RS256"})", claims())), "ok");
  // Another key that fits makes the choice ambiguous.
  const SigningKey* keys[] = {ec_, ec2_};
  JwtVerifier two = verifier_for(jwks_json(keys));
  Result<VerifiedToken> verified =
      two.verify(sign(*ec_, R"({"alg":"ES256"})", claims()), kTunnel, kNow);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().message, "kid required: several keys fit");
  EXPECT_TRUE(two.verify(sign(*ec2_, claims()), kTunnel, kNow).ok());
  EXPECT_EQ(outcome(sign(*ec_, R"({"alg":"ES256"})", claims())), "ok");
  const SigningKey* rsa_only[] = {rsa_};
  Result<VerifiedToken> none =
      verifier_for(jwks_json(rsa_only))
          .verify(sign(*ed_, R"({"alg":"EdDSA"})", claims()), kTunnel, kNow);
  EXPECT_EQ(none.error().message, "no key for this alg");
}

TEST_F(JwtVerify, RefusesATamperedPayload) {
  for (SigningKey* key : {rsa_, ec_, ed_}) {
    const std::string token = sign(*key, claims());
    const std::string forged =
        with_part(token, 1, encode_base64url(claims(R"(,"groups":["admin"])")));
    EXPECT_EQ(outcome(forged), "signature does not verify") << to_string(key->algorithm());
  }
}

TEST_F(JwtVerify, RefusesATamperedSignature) {
  for (SigningKey* key : {rsa_, ec_, ed_}) {
    const std::string token = sign(*key, claims());
    std::string signature = *decode_base64url(part(token, 2));
    for (std::size_t at : {std::size_t{0}, signature.size() / 2, signature.size() - 1}) {
      std::string flipped = signature;
      flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
      EXPECT_EQ(outcome(with_part(token, 2, encode_base64url(flipped))),
                "signature does not verify")
          << to_string(key->algorithm()) << " byte " << at;
    }
    EXPECT_EQ(outcome(with_part(token, 2, encode_base64url(signature.substr(1)))),
              "signature does not verify");
    EXPECT_EQ(outcome(with_part(token, 2, "")), "signature does not verify");
    // Another key's signature over the same input.
    EXPECT_EQ(outcome(with_part(token, 2, part(sign(*ec2_, claims()), 2))),
              "signature does not verify");
  }
}

TEST_F(JwtVerify, RefusesAnEs256SignatureInDerForm) {
  const std::string token = sign(*ec_, claims());
  const std::string raw = *decode_base64url(part(token, 2));
  // SEQUENCE { INTEGER r, INTEGER s } with both as positive 33-byte integers.
  std::string der = "\x30\x46\x02\x21";
  der += '\0';
  der += raw.substr(0, 32);
  der += "\x02\x21";
  der += '\0';
  der += raw.substr(32);
  EXPECT_EQ(outcome(with_part(token, 2, encode_base64url(der))), "signature does not verify");
  // R or S zero.
  std::string zero_r = raw;
  std::fill(zero_r.begin(), zero_r.begin() + 32, '\0');
  EXPECT_EQ(outcome(with_part(token, 2, encode_base64url(zero_r))), "signature does not verify");
}

TEST_F(JwtVerify, ChecksExpiryWithLeeway) {
  EXPECT_EQ(outcome(sign(*ed_, claims("", kNow - 61))), "expired");
  EXPECT_EQ(outcome(sign(*ed_, claims("", kNow - 60))), "expired");
  EXPECT_EQ(outcome(sign(*ed_, claims("", kNow - 59))), "ok");
  EXPECT_EQ(outcome(sign(*ed_, claims("", kNow + 1))), "ok");
  EXPECT_EQ(outcome(sign(*ed_, claims("", -5))), "expired");
  // Fractional NumericDates are allowed (RFC 7519 §2).
  EXPECT_EQ(outcome(sign(*ed_, claims("", 0))), "expired");
  const std::string fractional = std::string(R"({"iss":")") + kIssuer + R"(","aud":")" + kTunnel +
                                 R"(","exp":)" + std::to_string(kNow + 10) + ".5}";
  EXPECT_EQ(outcome(sign(*ed_, fractional)), "ok");
  const std::string huge =
      std::string(R"({"iss":")") + kIssuer + R"(","aud":")" + kTunnel + R"(","exp":1e300})";
  EXPECT_EQ(outcome(sign(*ed_, huge)), "ok");
  const std::string above_int64 = std::string(R"({"iss":")") + kIssuer + R"(","aud":")" + kTunnel +
                                  R"(","exp":18446744073709551615})";
  EXPECT_EQ(outcome(sign(*ed_, above_int64)), "ok");
}

TEST_F(JwtVerify, ReadsNumericDatesFromTheirText) {
  const auto with_exp = [](const std::string& exp, const std::string& extra = "") {
    return std::string(R"({"iss":")") + kIssuer + R"(","aud":")" + kTunnel + R"(","exp":)" + exp +
           extra + "}";
  };
  // A long mantissa with an exponent (simdjson 3.0's fallback reads it as 0).
  const std::string far = "1692222222222222222222222222222222225e3";
  EXPECT_EQ(outcome(sign(*ed_, with_exp(far))), "ok");
  EXPECT_EQ(outcome(sign(*ed_, with_exp(far, ",\"nbf\":" + far))), "not yet valid");
  EXPECT_EQ(outcome(sign(*ed_, with_exp(far, ",\"iat\":" + far))), "issued in the future");
  EXPECT_EQ(outcome(sign(*ed_, with_exp("123456789012345678901234567890"))), "ok");
  EXPECT_EQ(outcome(sign(*ed_, with_exp("-123456789012345678901234567890"))), "expired");
  EXPECT_EQ(outcome(sign(*ed_, with_exp(std::to_string(kNow + 100) + "e0"))), "ok");
  EXPECT_EQ(outcome(sign(*ed_, with_exp("1e400"))),
            "malformed: claim exp is not a usable NumericDate");
  EXPECT_EQ(outcome(sign(*ed_, with_exp("1e-400"))),
            "malformed: claim exp is not a usable NumericDate");
}

TEST_F(JwtVerify, AcceptsAnyJsonNumberInOtherClaims) {
  Result<VerifiedToken> verified = verifier_for(*jwks_).verify(
      sign(*ed_, claims(R"(,"id":123456789012345678901234,"deep":{"n":[-0.5e-7,1E+2]})")), kTunnel,
      kNow);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->claim("id").value, "123456789012345678901234");
  for (const char* bad : {"01", "1.", "-", ".5", "1e", "+1", "0x10", "1.5e+", "--1"}) {
    EXPECT_EQ(outcome(sign(*ed_, claims(std::string(R"(,"x":)") + bad))),
              "malformed: payload is not valid JSON")
        << bad;
    EXPECT_EQ(outcome(sign(*ed_, claims(std::string(R"(,"x":[)") + bad + "]"))),
              "malformed: payload is not valid JSON")
        << bad;
  }
}

TEST_F(JwtVerify, RequiresExp) {
  const std::string no_exp =
      std::string(R"({"iss":")") + kIssuer + R"(","aud":")" + kTunnel + R"("})";
  EXPECT_EQ(outcome(sign(*ed_, no_exp)), "exp missing");
  EXPECT_EQ(outcome(sign(*ed_, std::string(R"({"iss":")") + kIssuer + R"(","aud":")" + kTunnel +
                                   R"(","exp":null})")),
            "exp missing");
  EXPECT_EQ(outcome(sign(*ed_, std::string(R"({"iss":")") + kIssuer + R"(","exp":"1"})")),
            "malformed: claim exp is not a number");
}

TEST_F(JwtVerify, ChecksNotBeforeAndIssuedAtWithLeeway) {
  const auto at = [](const char* claim, std::int64_t when) {
    return claims(std::string(",\"") + claim + "\":" + std::to_string(when));
  };
  EXPECT_EQ(outcome(sign(*ec_, at("nbf", kNow + 120))), "not yet valid");
  EXPECT_EQ(outcome(sign(*ec_, at("nbf", kNow + 61))), "not yet valid");
  EXPECT_EQ(outcome(sign(*ec_, at("nbf", kNow + 60))), "ok");
  EXPECT_EQ(outcome(sign(*ec_, at("nbf", kNow - 600))), "ok");
  EXPECT_EQ(outcome(sign(*ec_, at("iat", kNow + 120))), "issued in the future");
  EXPECT_EQ(outcome(sign(*ec_, at("iat", kNow + 30))), "ok");
  EXPECT_EQ(outcome(sign(*ec_, at("iat", kNow - 86400))), "ok");
  // The same token, later: valid once its nbf has come.
  const std::string token = sign(*ec_, at("nbf", kNow + 600));
  EXPECT_EQ(outcome(token), "not yet valid");
  EXPECT_EQ(outcome(token, kNow + 600), "ok");
}

TEST_F(JwtVerify, LeewayIsConfigurable) {
  JwtVerifier strict = verifier_for(*jwks_, {}, JwtOptions{.leeway_seconds = 0});
  EXPECT_FALSE(strict.verify(sign(*ed_, claims("", kNow)), kTunnel, kNow).ok());
  EXPECT_TRUE(strict.verify(sign(*ed_, claims("", kNow + 1)), kTunnel, kNow).ok());
  EXPECT_EQ(strict.verify(sign(*ed_, claims(",\"nbf\":" + std::to_string(kNow + 1))), kTunnel, kNow)
                .error()
                .message,
            "not yet valid");
  JwtVerifier lenient = verifier_for(*jwks_, {}, JwtOptions{.leeway_seconds = 300});
  EXPECT_TRUE(lenient.verify(sign(*ed_, claims("", kNow - 299)), kTunnel, kNow).ok());
  EXPECT_EQ(lenient.last_valid_second(kNow), kNow + 299);
}

TEST_F(JwtVerify, ChecksTheIssuer) {
  const std::string other = R"({"iss":"https://evil.test","aud":")" + std::string(kTunnel) +
                            R"(","exp":)" + std::to_string(kNow + 60) + "}";
  EXPECT_EQ(outcome(sign(*ec_, other)), "unknown issuer");
  const std::string trailing_slash = R"({"iss":"https://idp.test/","aud":")" +
                                     std::string(kTunnel) + R"(","exp":)" +
                                     std::to_string(kNow + 60) + "}";
  EXPECT_EQ(outcome(sign(*ec_, trailing_slash)), "unknown issuer");
  EXPECT_EQ(outcome(sign(*ec_, R"({"aud":"x","exp":1})")), "no iss");
  EXPECT_EQ(outcome(sign(*ec_, R"({"iss":7})")), "malformed: claim iss is not a string");
}

TEST_F(JwtVerify, AcceptsTheTunnelUrlAsAudience) {
  EXPECT_EQ(outcome(sign(*ec_, claims())), "ok");
  EXPECT_EQ(outcome(sign(*ec_, claims()), kNow, "https://other.tunnel.test"), "wrong audience");
  EXPECT_EQ(outcome(sign(*ec_, claims()), kNow, ""), "wrong audience");
  EXPECT_EQ(outcome(sign(*ec_, claims()), kNow, "https://app.tunnel.test/"), "ok");
  const std::string array = std::string(R"({"iss":")") + kIssuer +
                            R"(","aud":["https://a.test",")" + kTunnel + R"("],"exp":)" +
                            std::to_string(kNow + 60) + "}";
  EXPECT_EQ(outcome(sign(*ec_, array)), "ok");
  EXPECT_EQ(outcome(sign(*ec_, array), kNow, "https://a.test"), "ok");
  EXPECT_EQ(outcome(sign(*ec_, array), kNow, "https://b.test"), "wrong audience");
  const std::string none =
      std::string(R"({"iss":")") + kIssuer + R"(","exp":)" + std::to_string(kNow + 60) + "}";
  EXPECT_EQ(outcome(sign(*ec_, none)), "aud missing");
  const std::string empty_array = std::string(R"({"iss":")") + kIssuer + R"(","aud":[],"exp":)" +
                                  std::to_string(kNow + 60) + "}";
  EXPECT_EQ(outcome(sign(*ec_, empty_array)), "aud missing");
  const std::string not_strings = std::string(R"({"iss":")") + kIssuer + R"(","aud":[1],"exp":)" +
                                  std::to_string(kNow + 60) + "}";
  EXPECT_EQ(outcome(sign(*ec_, not_strings)),
            "malformed: claim aud is not a string or an array of strings");
}

TEST_F(JwtVerify, ConfiguredAudiencesReplaceTheTunnelUrl) {
  JwtVerifier verifier = verifier_for(*jwks_, {"api://tunnels", "https://gw.test"});
  const auto with_aud = [](const std::string& aud) {
    return std::string(R"({"iss":")") + kIssuer + R"(","aud":)" + aud + R"(,"exp":)" +
           std::to_string(kNow + 60) + "}";
  };
  EXPECT_TRUE(verifier.verify(sign(*ec_, with_aud(R"("api://tunnels")")), kTunnel, kNow).ok());
  EXPECT_TRUE(
      verifier.verify(sign(*ec_, with_aud(R"(["x","https://gw.test"])")), kTunnel, kNow).ok());
  EXPECT_EQ(verifier.verify(sign(*ec_, claims()), kTunnel, kNow).error().message, "wrong audience");
}

TEST_F(JwtVerify, RefusesDuplicateMembers) {
  EXPECT_EQ(outcome(sign(*ec_, claims(R"(,"sub":"root")"))), "duplicate claim in payload");
  EXPECT_EQ(outcome(sign(*ec_, claims(R"(,"\u0073ub":"root")"))), "duplicate claim in payload");
  EXPECT_EQ(outcome(sign(*ec_, claims(",\"exp\":" + std::to_string(kNow + 99999)))),
            "duplicate claim in payload");
  EXPECT_EQ(outcome(sign(*ec_, R"({"alg":"ES256","kid":"ec-1","kid":"rsa-1"})", claims())),
            "duplicate member in header");
  EXPECT_EQ(outcome(sign(*ec_, R"({"alg":"ES256","kid":"ec-1","alg":"none"})", claims())),
            "duplicate member in header");
}

TEST_F(JwtVerify, RefusesOversizedTokens) {
  const std::string big = claims(R"(,"pad":")" + std::string(6200, 'x') + "\"");
  const std::string token = sign(*ed_, big);
  ASSERT_GT(token.size(), kMaxTokenBytes);
  EXPECT_EQ(outcome(token), "token larger than 8 KiB");
  const std::string fits = sign(*ed_, claims(R"(,"pad":")" + std::string(5900, 'x') + "\""));
  ASSERT_LE(fits.size(), kMaxTokenBytes);
  EXPECT_EQ(outcome(fits), "ok");
}

TEST_F(JwtVerify, RefusesMalformedTokens) {
  const std::string token = sign(*ec_, claims());
  const std::string h = part(token, 0), p = part(token, 1), s = part(token, 2);
  EXPECT_EQ(outcome(""), "malformed: not three base64url parts");
  EXPECT_EQ(outcome(h + "." + p), "malformed: not three base64url parts");
  EXPECT_EQ(outcome(h + "." + p + "." + s + "."), "malformed: not three base64url parts");
  EXPECT_EQ(outcome("." + p + "." + s), "malformed: not three base64url parts");
  EXPECT_EQ(outcome(h + ".." + s), "malformed: not three base64url parts");
  EXPECT_EQ(outcome(h + "=." + p + "." + s), "malformed: header is not base64url");
  EXPECT_EQ(outcome(h + "." + p + "=." + s), "malformed: payload is not base64url");
  EXPECT_EQ(outcome(h + "." + p + "." + s + "="), "malformed: signature is not base64url");
  EXPECT_EQ(outcome(h + "." + p + "." + s.substr(1)), "malformed: signature is not base64url");
  EXPECT_EQ(outcome("eyJ+." + p + "." + s), "malformed: header is not base64url");
  EXPECT_EQ(outcome(h + "." + p + "." + std::string(700, 'A')),
            "malformed: signature is not base64url");
  EXPECT_EQ(outcome(encode_base64url("[1]") + "." + p + "." + s),
            "malformed: header is not a JSON object");
  EXPECT_EQ(outcome(encode_base64url("{\"alg\":\"ES256\"") + "." + p + "." + s),
            "malformed: header is not a JSON object");
  EXPECT_EQ(outcome(encode_base64url(R"({"alg":"ES256","kid":"ec-1"} x)") + "." + p + "." + s),
            "malformed: header is not a JSON object");
  EXPECT_EQ(outcome(encode_base64url(R"({"alg":"ES256","kid":"ec-1"}{})") + "." + p + "." + s),
            "malformed: text after the header object");
  EXPECT_EQ(outcome(sign(*ec_, "\"just a string\"")), "malformed: payload is not a JSON object");
  EXPECT_EQ(outcome(sign(*ec_, claims() + "{}")), "malformed: text after the payload object");
  EXPECT_EQ(outcome(sign(*ec_, claims(R"(,"x":[1,])"))), "malformed: payload is not valid JSON");
  EXPECT_EQ(outcome(sign(*ec_, claims(R"(,"x":"\ud800")"))),
            "malformed: payload is not valid JSON");
  EXPECT_EQ(outcome(sign(*ec_, claims(",\"x\":\"\xff\""))),
            "malformed: payload is not a JSON object");
  std::string deep = "1";
  for (int i = 0; i < 40; ++i) deep = "[" + deep + "]";
  EXPECT_EQ(outcome(sign(*ec_, claims(",\"x\":" + deep))), "malformed: payload is not valid JSON");
}

TEST_F(JwtVerify, RefusesCriticalHeaderExtensions) {
  EXPECT_EQ(outcome(sign(*ec_, R"({"alg":"ES256","kid":"ec-1","crit":["exp"],"exp":1})", claims())),
            "crit header not supported");
}

TEST_F(JwtVerify, IgnoresKeysOfferedInTheHeader) {
  // jwk/jku/x5u in the header must not be used: this token is signed by a key the JWKS lacks.
  const std::string header = R"({"alg":"ES256","kid":"ec-1","jwk":)" + ec2_->public_jwk() +
                             R"(,"jku":"https://evil.test/jwks.json"})";
  EXPECT_EQ(outcome(sign(*ec2_, header, claims())), "signature does not verify");
}

TEST_F(JwtVerify, ExposesIdentityClaims) {
  const std::string payload =
      claims(R"(,"email":"alice@example.com","groups":["ops","mcp-users"],"scope":"read write",)"
             R"("tenant":"acme","level":3,"admin":false,"nested":{"a":1},"list":[1,2],"gone":null,)"
             R"("empty":"","esc\u0061ped":"caf\u00e9")");
  Result<VerifiedToken> verified = verifier_for(*jwks_).verify(sign(*rsa_, payload), kTunnel, kNow);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  policy::AccessContext context;
  verified->fill(context);
  EXPECT_EQ(context.jwt_iss, kIssuer);
  EXPECT_EQ(context.jwt_sub, "alice");
  EXPECT_EQ(context.jwt_email, "alice@example.com");
  EXPECT_TRUE(context.jwt_aud.contains(kTunnel));
  EXPECT_TRUE(context.jwt_groups.contains("ops"));
  EXPECT_TRUE(context.jwt_groups.contains("mcp-users"));
  EXPECT_FALSE(context.jwt_groups.contains("admin"));
  EXPECT_TRUE(context.jwt_scope.contains("read"));
  EXPECT_TRUE(context.jwt_scope.contains("write"));
  EXPECT_FALSE(context.jwt_scope.contains("read write"));
  using State = policy::Lookup::State;
  EXPECT_EQ(context.jwt_claims("tenant").value, "acme");
  EXPECT_EQ(context.jwt_claims("level").value, "3");
  EXPECT_EQ(context.jwt_claims("admin").value, "false");
  EXPECT_EQ(context.jwt_claims("exp").value, std::to_string(kNow + 3600));
  EXPECT_EQ(context.jwt_claims("sub").value, "alice");
  EXPECT_EQ(context.jwt_claims("escaped").value, "caf\xc3\xa9");
  EXPECT_EQ(context.jwt_claims("nested").state, State::kUnusable);
  EXPECT_EQ(context.jwt_claims("list").state, State::kUnusable);
  EXPECT_EQ(context.jwt_claims("groups").state, State::kUnusable);
  EXPECT_EQ(context.jwt_claims("gone").state, State::kAbsent);
  EXPECT_EQ(context.jwt_claims("empty").state, State::kAbsent);
  EXPECT_EQ(context.jwt_claims("missing").state, State::kAbsent);
}

TEST_F(JwtVerify, ReadsScopeAsAnArrayAndASingleGroup) {
  Result<VerifiedToken> verified = verifier_for(*jwks_).verify(
      sign(*ed_, claims(R"(,"scope":["tools:call","read"],"groups":"ops")")), kTunnel, kNow);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  policy::AccessContext context;
  verified->fill(context);
  EXPECT_TRUE(context.jwt_scope.contains("tools:call"));
  EXPECT_TRUE(context.jwt_scope.contains("read"));
  EXPECT_TRUE(context.jwt_groups.contains("ops"));
  EXPECT_EQ(outcome(sign(*ed_, claims(R"(,"groups":{"ops":true})"))),
            "malformed: claim groups is not a string or an array of strings");
  EXPECT_EQ(outcome(sign(*ed_, claims(R"(,"email":["a@b"])"))),
            "malformed: claim email is not a string");
}

TEST_F(JwtVerify, ATokenCopyOwnsItsClaims) {
  VerifiedToken copy;
  {
    Result<VerifiedToken> verified = verifier_for(*jwks_).verify(
        sign(*ed_, claims(R"(,"groups":["ops"],"scope":"a b","team":"red")")), kTunnel, kNow);
    ASSERT_TRUE(verified.ok());
    copy = *verified;
    VerifiedToken moved = std::move(verified).value();
    EXPECT_EQ(moved.subject(), "alice");
  }
  policy::AccessContext context;
  copy.fill(context);
  EXPECT_EQ(context.jwt_sub, "alice");
  EXPECT_TRUE(context.jwt_groups.contains("ops"));
  EXPECT_TRUE(context.jwt_scope.contains("b"));
  EXPECT_EQ(context.jwt_claims("team").value, "red");
}

TEST_F(JwtVerify, FeedsTheAccessDecision) {
  Result<policy::Policy> policy = policy::parse_policy(R"(
[[access]]
names = ["app"]
allow = ['jwt.groups.contains("ops") && jwt.claims["tenant"] == "acme"']
deny  = ['jwt.scope.contains("banned")']
)",
                                                       "policy.toml");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  JwtVerifier verifier = verifier_for(*jwks_);
  const auto decide = [&](const std::string& extra) {
    Result<VerifiedToken> token = verifier.verify(sign(*ec_, claims(extra)), kTunnel, kNow);
    EXPECT_TRUE(token.ok());
    policy::AccessContext context;
    context.tunnel_name = "app";
    token->fill(context);
    return policy->decide_access(context).allowed;
  };
  EXPECT_TRUE(decide(R"(,"groups":["ops"],"tenant":"acme")"));
  EXPECT_FALSE(decide(R"(,"groups":["dev"],"tenant":"acme")"));
  EXPECT_FALSE(decide(R"(,"groups":["ops"],"tenant":"acme","scope":"read banned")"));
  EXPECT_FALSE(decide(R"(,"groups":["ops"],"tenant":{"name":"acme"})"));
}

TEST_F(JwtVerify, CreationFailsWithTheIssuerNamed) {
  const auto fail_with = [](JwksLoader loader) {
    Result<JwtVerifier> verifier = JwtVerifier::create(identity_with(), loader);
    return verifier.ok() ? std::string("ok") : verifier.error().message;
  };
  EXPECT_EQ(fail_with([](const policy::JwtIssuer&) -> Result<std::string> {
              return make_error("timed out");
            }),
            "issuer \"https://idp.test\" (line 3): timed out");
  EXPECT_EQ(
      fail_with([](const policy::JwtIssuer&) -> Result<std::string> { return std::string("{}"); }),
      "issuer \"https://idp.test\" (line 3): jwks: no \"keys\" array");
  EXPECT_EQ(fail_with(nullptr), "issuer \"https://idp.test\" (line 3): no JWKS loader");

  policy::Identity url = identity_with();
  url.jwt[0].jwks = "https://idp.test/jwks.json";
  url.jwt[0].jwks_is_url = true;
  EXPECT_EQ(JwtVerifier::create(url).error().message,
            "issuer \"https://idp.test\" (line 3): jwks https://idp.test/jwks.json is a URL: it "
            "must be fetched by the caller");
  policy::Identity missing = identity_with();
  missing.jwt[0].jwks = "/nonexistent/jwks.json";
  EXPECT_NE(JwtVerifier::create(missing).error().message.find("cannot read /nonexistent"),
            std::string::npos);
}

TEST_F(JwtVerify, ReadsJwksFilesAndCarriesNotes) {
  const std::string path = ::testing::TempDir() + "identity_jwt_test_jwks.json";
  {
    std::FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr);
    const std::string text = R"({"keys":[{"kty":"oct","k":"AA"},)" + ed_->public_jwk() + "]}";
    std::fwrite(text.data(), 1, text.size(), file);
    std::fclose(file);
  }
  policy::Identity identity = identity_with();
  identity.jwt[0].jwks = path;
  Result<JwtVerifier> verifier = JwtVerifier::create(identity);
  ASSERT_TRUE(verifier.ok()) << verifier.error().message;
  ASSERT_EQ(verifier->notes().size(), 1u);
  EXPECT_EQ(verifier->notes()[0].substr(0, 40), "issuer \"https://idp.test\" (line 3): jwks");
  EXPECT_TRUE(verifier->verify(sign(*ed_, claims()), kTunnel, kNow).ok());
  std::remove(path.c_str());
}

TEST_F(JwtVerify, WithoutIssuersEveryTokenIsRefused) {
  Result<JwtVerifier> verifier = JwtVerifier::create(policy::Identity{});
  ASSERT_TRUE(verifier.ok());
  EXPECT_EQ(verifier->verify(sign(*ed_, claims()), kTunnel, kNow).error().message,
            "no JWT issuer is configured");
}

TEST_F(JwtVerify, PicksTheKeySetOfTheTokensIssuer) {
  policy::Identity identity = identity_with();
  policy::JwtIssuer second;
  second.issuer = "https://second.test";
  second.jwks = "second";
  identity.jwt.push_back(second);
  const SigningKey* first_keys[] = {ec_};
  const SigningKey* second_keys[] = {ec2_};
  Result<JwtVerifier> verifier =
      JwtVerifier::create(identity, [&](const policy::JwtIssuer& issuer) -> Result<std::string> {
        return issuer.jwks == "second" ? jwks_json(second_keys) : jwks_json(first_keys);
      });
  ASSERT_TRUE(verifier.ok());
  const std::string from_second = R"({"iss":"https://second.test","aud":")" + std::string(kTunnel) +
                                  R"(","exp":)" + std::to_string(kNow + 60) + "}";
  EXPECT_TRUE(verifier->verify(sign(*ec2_, from_second), kTunnel, kNow).ok());
  EXPECT_TRUE(verifier->verify(sign(*ec_, claims()), kTunnel, kNow).ok());
  // The second issuer's key does not vouch for the first issuer.
  EXPECT_EQ(verifier->verify(sign(*ec2_, claims()), kTunnel, kNow).error().message, "unknown kid");
  EXPECT_EQ(verifier->verify(sign(*ec_, from_second), kTunnel, kNow).error().message,
            "unknown kid");
}

TEST_F(JwtVerify, AnUnknownKidFromAUrlIssuerAsksForAnEarlyFetch) {
  // Two issuers: one whose JWKS is fetched from a URL, one read from a file.
  policy::Identity identity = identity_with();
  identity.jwt[0].jwks = "https://idp.test/jwks.json";
  identity.jwt[0].jwks_is_url = true;
  identity.jwt[0].jwks_ca = "/idp-ca.pem";
  policy::JwtIssuer from_file;
  from_file.issuer = "https://file.test";
  from_file.jwks = "/etc/keys.json";
  identity.jwt.push_back(from_file);
  const SigningKey* keys[] = {ec_};
  JwksRefreshRequests requests;
  JwtOptions options;
  options.refresh_requests = &requests;
  Result<JwtVerifier> verifier = JwtVerifier::create(
      identity, [&](const policy::JwtIssuer&) -> Result<std::string> { return jwks_json(keys); },
      options);
  ASSERT_TRUE(verifier.ok());
  const std::uint64_t bit = jwks_document_bit("https://idp.test/jwks.json", "/idp-ca.pem");

  // A known kid, a kid whose key does not fit the alg, or no kid at all: nothing asked.
  EXPECT_TRUE(verifier->verify(sign(*ec_, claims()), kTunnel, kNow).ok());
  EXPECT_EQ(
      verifier->verify(sign(*rsa_, R"({"alg":"RS256","kid":"ec-1"})", claims()), kTunnel, kNow)
          .error()
          .message,
      "alg does not match the key");
  EXPECT_EQ(requests.wanted(), 0u);
  // The file issuer's unknown kid: a file is reloaded by the operator, never fetched.
  const std::string from_file_claims = R"({"iss":"https://file.test","aud":")" +
                                       std::string(kTunnel) + R"(","exp":)" +
                                       std::to_string(kNow + 60) + "}";
  EXPECT_EQ(verifier->verify(sign(*ec2_, from_file_claims), kTunnel, kNow).error().message,
            "unknown kid");
  EXPECT_EQ(requests.wanted(), 0u);
  // The URL issuer's unknown kid: refused, and its document is asked for.
  EXPECT_EQ(verifier->verify(sign(*ec2_, claims()), kTunnel, kNow).error().message, "unknown kid");
  EXPECT_EQ(requests.wanted(), bit);
  requests.take(bit);
  EXPECT_EQ(requests.wanted(), 0u);
  // Without refresh_requests, nothing to ask.
  EXPECT_EQ(outcome(sign(*ec2_, claims())), "unknown kid");
}

TEST(JwksRefreshRequests, AnAskWakesTheWaiterEvenWhenItComesFirst) {
  JwksRefreshRequests requests;
  const std::uint64_t a = jwks_document_bit("https://a/keys", "/ca.pem");
  EXPECT_NE(a, 0u);
  EXPECT_EQ(a & (a - 1), 0u);  // one bit
  auto waited_ms = [&requests](int timeout_ms) {
    const auto start = std::chrono::steady_clock::now();
    requests.wait(timeout_ms);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
  };
  // Asked before the wait began: the wake-up is kept, not lost.
  requests.ask(a);
  EXPECT_LT(waited_ms(10'000), 5'000);
  EXPECT_EQ(requests.wanted(), a);
  // Asking again for a bit already asked for wakes no one (a flood costs one wake-up).
  requests.ask(a);
  EXPECT_GE(waited_ms(50), 40);
  // From another thread, during the wait.
  requests.take(a);
  std::thread asker([&requests, a] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    requests.ask(a);
  });
  EXPECT_LT(waited_ms(10'000), 5'000);
  asker.join();
  EXPECT_EQ(requests.wanted(), a);
  requests.wake();  // stop, policy load: wakes without asking for anything
  EXPECT_LT(waited_ms(10'000), 5'000);
}

TEST(JwtSigner, WritesPublicJwksTheParserReads) {
  Result<SigningKey> key = SigningKey::generate(JwsAlgorithm::kES256, "we\"ird");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(json_quote("a\"b\\c\n"), R"("a\"b\\c\u000a")");
  const SigningKey* keys[] = {&*key};
  Result<Jwks> jwks = parse_jwks(jwks_json(keys));
  ASSERT_TRUE(jwks.ok()) << jwks.error().message;
  EXPECT_EQ(jwks->keys[0].kid, "we\"ird");
  EXPECT_FALSE(SigningKey::generate(JwsAlgorithm::kRS256, "x", 1024).ok());
}

}  // namespace
}  // namespace tg::identity
