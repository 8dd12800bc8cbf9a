// The three verifications through wolfCrypt. Each imports the raw key into a stack object,
// verifies, and frees it; see jws_signature.h for why the import is per call.
#include "relay/identity/jws_signature.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/rsa.h>
// clang-format on

#include <cstring>

namespace tg::identity {
namespace {

// DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2, note 1): what PKCS#1 v1.5 signs is this
// followed by the 32-byte hash.
constexpr std::uint8_t kSha256DigestInfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x01, 0x05, 0x00, 0x04, 0x20};
constexpr std::size_t kDigestInfoSize = sizeof(kSha256DigestInfo) + WC_SHA256_DIGEST_SIZE;

const byte* bytes_of(std::string_view text) {
  return reinterpret_cast<const byte*>(text.data());
}

bool sha256(std::string_view input, byte (&digest)[WC_SHA256_DIGEST_SIZE]) {
  return wc_Sha256Hash(bytes_of(input), static_cast<word32>(input.size()), digest) == 0;
}

// Owns an initialised wolfCrypt key for one scope.
struct RsaPublic {
  RsaKey key{};
  bool ready = false;
  explicit RsaPublic(const Jwk& jwk) {
    if (wc_InitRsaKey(&key, nullptr) != 0) return;
    ready = true;
    if (wc_RsaPublicKeyDecodeRaw(jwk.modulus.data(), static_cast<word32>(jwk.modulus.size()),
                                 jwk.exponent.data(), static_cast<word32>(jwk.exponent.size()),
                                 &key) != 0) {
      wc_FreeRsaKey(&key);
      ready = false;
    }
  }
  ~RsaPublic() {
    if (ready) wc_FreeRsaKey(&key);
  }
  RsaPublic(const RsaPublic&) = delete;
  RsaPublic& operator=(const RsaPublic&) = delete;
};

struct EccPublic {
  ecc_key key{};
  bool initialised = false, ready = false;
  explicit EccPublic(const Jwk& jwk) {
    if (wc_ecc_init(&key) != 0) return;
    initialised = true;
    ready = wc_ecc_import_unsigned(&key, jwk.point.data(), jwk.point.data() + 32, nullptr,
                                   ECC_SECP256R1) == 0;
  }
  ~EccPublic() {
    if (initialised) wc_ecc_free(&key);
  }
  EccPublic(const EccPublic&) = delete;
  EccPublic& operator=(const EccPublic&) = delete;
};

struct Ed25519Public {
  ed25519_key key{};
  bool initialised = false, ready = false;
  explicit Ed25519Public(const Jwk& jwk) {
    if (wc_ed25519_init(&key) != 0) return;
    initialised = true;
    ready = wc_ed25519_import_public(jwk.point.data(), ED25519_PUB_KEY_SIZE, &key) == 0;
  }
  ~Ed25519Public() {
    if (initialised) wc_ed25519_free(&key);
  }
  Ed25519Public(const Ed25519Public&) = delete;
  Ed25519Public& operator=(const Ed25519Public&) = delete;
};

bool verify_rs256(const Jwk& jwk, std::string_view input, std::span<const std::uint8_t> sig) {
  // A PKCS#1 signature is exactly as long as the modulus.
  if (sig.size() != jwk.modulus.size() || sig.size() > kMaxRsaBits / 8) return false;
  RsaPublic rsa(jwk);
  if (!rsa.ready) return false;
  byte block[kMaxRsaBits / 8];
  std::memcpy(block, sig.data(), sig.size());
  byte* recovered = nullptr;
  // Checks the 00 01 FF…FF 00 padding and returns what follows it.
  const int size =
      wc_RsaSSL_VerifyInline(block, static_cast<word32>(sig.size()), &recovered, &rsa.key);
  if (size != static_cast<int>(kDigestInfoSize) || recovered == nullptr) return false;
  byte digest[WC_SHA256_DIGEST_SIZE];
  if (!sha256(input, digest)) return false;
  return std::memcmp(recovered, kSha256DigestInfo, sizeof(kSha256DigestInfo)) == 0 &&
         std::memcmp(recovered + sizeof(kSha256DigestInfo), digest, sizeof(digest)) == 0;
}

bool verify_es256(const Jwk& jwk, std::string_view input, std::span<const std::uint8_t> sig) {
  if (sig.size() != 64) return false;
  byte der[80];
  word32 der_size = sizeof(der);
  // R||S to the DER SEQUENCE wolfCrypt verifies; a zero R or S is refused here.
  if (wc_ecc_rs_raw_to_sig(sig.data(), 32, sig.data() + 32, 32, der, &der_size) != 0) {
    return false;
  }
  byte digest[WC_SHA256_DIGEST_SIZE];
  if (!sha256(input, digest)) return false;
  EccPublic ecc(jwk);
  if (!ecc.ready) return false;
  int valid = 0;
  return wc_ecc_verify_hash(der, der_size, digest, sizeof(digest), &valid, &ecc.key) == 0 &&
         valid == 1;
}

bool verify_eddsa(const Jwk& jwk, std::string_view input, std::span<const std::uint8_t> sig) {
  if (sig.size() != ED25519_SIG_SIZE) return false;
  Ed25519Public ed(jwk);
  if (!ed.ready) return false;
  int valid = 0;
  return wc_ed25519_verify_msg(sig.data(), static_cast<word32>(sig.size()), bytes_of(input),
                               static_cast<word32>(input.size()), &valid, &ed.key) == 0 &&
         valid == 1;
}

}  // namespace

bool verify_jws_signature(const Jwk& key, std::string_view signing_input,
                          std::span<const std::uint8_t> signature) noexcept {
  switch (key.type) {
    case KeyType::kRsa:
      return verify_rs256(key, signing_input, signature);
    case KeyType::kEcP256:
      return verify_es256(key, signing_input, signature);
    case KeyType::kEd25519:
      return verify_eddsa(key, signing_input, signature);
  }
  return false;
}

Status check_public_key(const Jwk& key) {
  switch (key.type) {
    case KeyType::kRsa: {
      RsaPublic rsa(key);
      if (!rsa.ready) return make_error("wolfCrypt refuses the RSA key");
      if (wc_RsaEncryptSize(&rsa.key) != static_cast<int>(key.modulus.size())) {
        return make_error("wolfCrypt reads the RSA modulus with another size");
      }
      return Ok{};
    }
    case KeyType::kEcP256: {
      EccPublic ecc(key);
      if (!ecc.ready || wc_ecc_check_key(&ecc.key) != 0) {
        return make_error("the point is not on P-256");
      }
      return Ok{};
    }
    case KeyType::kEd25519: {
      Ed25519Public ed(key);
      if (!ed.ready) return make_error("wolfCrypt refuses the Ed25519 key");
      return Ok{};
    }
  }
  return make_error("unknown key type");
}

}  // namespace tg::identity
