// Key generation, JOSE signatures and public JWKs with wolfCrypt.
#include "relay/identity/jws_signer.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
// clang-format on

#include <cstring>
#include <vector>

#include "relay/identity/base64url.h"

namespace tg::identity {
namespace {

// DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2, note 1).
constexpr std::uint8_t kSha256DigestInfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x01, 0x05, 0x00, 0x04, 0x20};

Error crypt_error(std::string_view what, int rc) {
  return make_error(std::string(what) + ": " + wc_GetErrorString(rc));
}

std::string b64(const std::vector<std::uint8_t>& bytes) {
  return encode_base64url(std::span<const std::uint8_t>(bytes));
}

}  // namespace

struct SigningKey::State {
  JwsAlgorithm algorithm = JwsAlgorithm::kRS256;
  std::string kid;
  WC_RNG rng{};
  RsaKey rsa{};
  ecc_key ecc{};
  ed25519_key ed{};
  bool rng_ready = false, key_ready = false;
  std::vector<std::uint8_t> public_a, public_b;  // RSA n, e; EC x, y; Ed25519 x

  ~State() {
    if (key_ready) {
      switch (algorithm) {
        case JwsAlgorithm::kRS256:
          wc_FreeRsaKey(&rsa);
          break;
        case JwsAlgorithm::kES256:
          wc_ecc_free(&ecc);
          break;
        case JwsAlgorithm::kEdDSA:
          wc_ed25519_free(&ed);
          break;
      }
    }
    if (rng_ready) wc_FreeRng(&rng);
  }
};

SigningKey::SigningKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

JwsAlgorithm SigningKey::algorithm() const {
  return state_->algorithm;
}

const std::string& SigningKey::kid() const {
  return state_->kid;
}

Result<SigningKey> SigningKey::generate(JwsAlgorithm algorithm, std::string kid, int rsa_bits) {
  auto state = std::make_unique<State>();
  state->algorithm = algorithm;
  state->kid = std::move(kid);
  if (int rc = wc_InitRng(&state->rng); rc != 0) return crypt_error("random generator", rc);
  state->rng_ready = true;
  switch (algorithm) {
    case JwsAlgorithm::kRS256: {
      if (rsa_bits < 2048 || rsa_bits > 4096) return make_error("RSA keys are 2048-4096 bits");
      if (int rc = wc_InitRsaKey(&state->rsa, nullptr); rc != 0) return crypt_error("RSA", rc);
      state->key_ready = true;
      if (int rc = wc_MakeRsaKey(&state->rsa, rsa_bits, WC_RSA_EXPONENT, &state->rng); rc != 0) {
        return crypt_error("RSA key generation", rc);
      }
      std::vector<std::uint8_t> n(static_cast<std::size_t>(rsa_bits / 8)), e(8);
      word32 n_size = static_cast<word32>(n.size()), e_size = static_cast<word32>(e.size());
      if (int rc = wc_RsaFlattenPublicKey(&state->rsa, e.data(), &e_size, n.data(), &n_size);
          rc != 0) {
        return crypt_error("RSA export", rc);
      }
      n.resize(n_size);
      e.resize(e_size);
      state->public_a = std::move(n);
      state->public_b = std::move(e);
      break;
    }
    case JwsAlgorithm::kES256: {
      if (int rc = wc_ecc_init(&state->ecc); rc != 0) return crypt_error("ECC", rc);
      state->key_ready = true;
      if (int rc = wc_ecc_make_key_ex(&state->rng, 32, &state->ecc, ECC_SECP256R1); rc != 0) {
        return crypt_error("P-256 key generation", rc);
      }
      wc_ecc_set_rng(&state->ecc, &state->rng);
      std::vector<std::uint8_t> x(32), y(32);
      word32 x_size = 32, y_size = 32;
      if (int rc = wc_ecc_export_public_raw(&state->ecc, x.data(), &x_size, y.data(), &y_size);
          rc != 0 || x_size != 32 || y_size != 32) {
        return crypt_error("P-256 export", rc);
      }
      state->public_a = std::move(x);
      state->public_b = std::move(y);
      break;
    }
    case JwsAlgorithm::kEdDSA: {
      if (int rc = wc_ed25519_init(&state->ed); rc != 0) return crypt_error("Ed25519", rc);
      state->key_ready = true;
      if (int rc = wc_ed25519_make_key(&state->rng, ED25519_KEY_SIZE, &state->ed); rc != 0) {
        return crypt_error("Ed25519 key generation", rc);
      }
      std::vector<std::uint8_t> x(ED25519_PUB_KEY_SIZE);
      word32 x_size = ED25519_PUB_KEY_SIZE;
      if (int rc = wc_ed25519_export_public(&state->ed, x.data(), &x_size); rc != 0) {
        return crypt_error("Ed25519 export", rc);
      }
      state->public_a = std::move(x);
      break;
    }
  }
  return SigningKey(std::move(state));
}

Result<std::string> SigningKey::sign(std::string_view message) {
  State& s = *state_;
  const auto* input = reinterpret_cast<const byte*>(message.data());
  const auto input_size = static_cast<word32>(message.size());
  std::uint8_t digest[WC_SHA256_DIGEST_SIZE];
  if (s.algorithm != JwsAlgorithm::kEdDSA) {
    if (int rc = wc_Sha256Hash(input, input_size, digest); rc != 0) {
      return crypt_error("SHA-256", rc);
    }
  }
  switch (s.algorithm) {
    case JwsAlgorithm::kRS256: {
      std::uint8_t digest_info[sizeof(kSha256DigestInfo) + sizeof(digest)];
      std::memcpy(digest_info, kSha256DigestInfo, sizeof(kSha256DigestInfo));
      std::memcpy(digest_info + sizeof(kSha256DigestInfo), digest, sizeof(digest));
      std::string signature(s.public_a.size(), '\0');
      const int size = wc_RsaSSL_Sign(digest_info, sizeof(digest_info),
                                      reinterpret_cast<byte*>(signature.data()),
                                      static_cast<word32>(signature.size()), &s.rsa, &s.rng);
      if (size < 0) return crypt_error("RS256 signature", size);
      signature.resize(static_cast<std::size_t>(size));
      return signature;
    }
    case JwsAlgorithm::kES256: {
      byte der[80];
      word32 der_size = sizeof(der);
      if (int rc = wc_ecc_sign_hash(digest, sizeof(digest), der, &der_size, &s.rng, &s.ecc);
          rc != 0) {
        return crypt_error("ES256 signature", rc);
      }
      // DER SEQUENCE{r, s} to JOSE's fixed-width R||S.
      byte r[32], s_part[32];
      word32 r_size = sizeof(r), s_size = sizeof(s_part);
      if (int rc = wc_ecc_sig_to_rs(der, der_size, r, &r_size, s_part, &s_size); rc != 0) {
        return crypt_error("ES256 signature", rc);
      }
      std::string signature(64, '\0');
      std::memcpy(signature.data() + 32 - r_size, r, r_size);
      std::memcpy(signature.data() + 64 - s_size, s_part, s_size);
      return signature;
    }
    case JwsAlgorithm::kEdDSA: {
      std::string signature(ED25519_SIG_SIZE, '\0');
      word32 size = ED25519_SIG_SIZE;
      if (int rc = wc_ed25519_sign_msg(input, input_size, reinterpret_cast<byte*>(signature.data()),
                                       &size, &s.ed);
          rc != 0) {
        return crypt_error("EdDSA signature", rc);
      }
      return signature;
    }
  }
  return make_error("unknown algorithm");
}

Result<std::string> SigningKey::sign_compact(std::string_view header_json,
                                             std::string_view payload_json) {
  std::string token = encode_base64url(header_json);
  token += '.';
  token += encode_base64url(payload_json);
  Result<std::string> signature = sign(token);
  if (!signature) return signature.error();
  token += '.';
  token += encode_base64url(*signature);
  return token;
}

Result<std::string> SigningKey::sign_jwt(std::string_view payload_json) {
  std::string header = "{\"alg\":\"" + std::string(to_string(state_->algorithm)) + "\"";
  header += ",\"typ\":\"JWT\"";
  if (!state_->kid.empty()) header += ",\"kid\":" + json_quote(state_->kid);
  header += "}";
  return sign_compact(header, payload_json);
}

std::string SigningKey::public_jwk() const {
  const State& s = *state_;
  std::string jwk = "{";
  switch (s.algorithm) {
    case JwsAlgorithm::kRS256:
      jwk += "\"kty\":\"RSA\",\"n\":\"" + b64(s.public_a) + "\",\"e\":\"" + b64(s.public_b) + "\"";
      break;
    case JwsAlgorithm::kES256:
      jwk += "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + b64(s.public_a) + "\",\"y\":\"" +
             b64(s.public_b) + "\"";
      break;
    case JwsAlgorithm::kEdDSA:
      jwk += "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + b64(s.public_a) + "\"";
      break;
  }
  if (!s.kid.empty()) jwk += ",\"kid\":" + json_quote(s.kid);
  jwk += ",\"alg\":\"" + std::string(to_string(s.algorithm)) + "\",\"use\":\"sig\"}";
  return jwk;
}

std::string jwks_json(std::span<const SigningKey* const> keys) {
  std::string json = "{\"keys\":[";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) json += ',';
    json += keys[i]->public_jwk();
  }
  return json + "]}";
}

std::string json_quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace tg::identity
