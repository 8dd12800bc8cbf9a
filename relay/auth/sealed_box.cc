// AES-256-GCM sealed values with wolfCrypt; the key ids and the purpose are associated data.
#include "relay/auth/sealed_box.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
// clang-format on

#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "relay/identity/base64url.h"

namespace tg::auth {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 1 + 4;  // version, key id
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kOverheadBytes = kHeaderBytes + kNonceBytes + kTagBytes;

bool fill_random(std::uint8_t* out, std::size_t size) {
  while (size > 0) {
    const ssize_t got = getrandom(out, size, 0);
    if (got <= 0) return false;
    out += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

void put_u32(std::uint8_t* out, std::uint32_t value) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

std::uint32_t get_u32(const std::uint8_t* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) |
         std::uint32_t{in[3]};
}

// The associated data: the header bytes, then the purpose.
std::string associated_data(const std::uint8_t* header, std::string_view purpose) {
  std::string aad(reinterpret_cast<const char*>(header), kHeaderBytes);
  aad.append(purpose);
  return aad;
}

const byte* bytes_of(std::string_view text) {
  return reinterpret_cast<const byte*>(text.data());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

struct SealKeyring::Cipher {
  Aes aes{};
  bool ready = false;
  explicit Cipher(const SealKey& key) {
    if (wc_AesInit(&aes, nullptr, INVALID_DEVID) != 0) return;
    ready = wc_AesGcmSetKey(&aes, key.bytes.data(), static_cast<word32>(key.bytes.size())) == 0;
  }
  ~Cipher() { wc_AesFree(&aes); }
  Cipher(const Cipher&) = delete;
  Cipher& operator=(const Cipher&) = delete;
};

Result<SealKey> SealKey::generate(std::uint32_t id) {
  SealKey key;
  key.id = id;
  if (!fill_random(key.bytes.data(), key.bytes.size())) return make_error("getrandom failed");
  return key;
}

std::string SealKey::to_text() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text = std::to_string(id) + ":";
  for (std::uint8_t byte : bytes) {
    text.push_back(kHex[byte >> 4]);
    text.push_back(kHex[byte & 15]);
  }
  return text;
}

Result<SealKey> SealKey::from_text(std::string_view text) {
  const std::size_t colon = text.find(':');
  SealKey key;
  if (colon == std::string_view::npos || colon == 0) {
    return make_error("a seal key is written id:hex");
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + colon, key.id);
  if (ec != std::errc() || end != text.data() + colon) {
    return make_error("a seal key's id is a decimal number below 2^32");
  }
  const std::string_view hex = text.substr(colon + 1);
  if (hex.size() != 2 * kSealKeyBytes) {
    return make_error("a seal key is 64 lower-case hex digits after its id");
  }
  for (std::size_t i = 0; i < kSealKeyBytes; ++i) {
    const int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return make_error("a seal key is 64 lower-case hex digits after its id");
    }
    key.bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return key;
}

Result<SealKeyring> SealKeyring::create(std::vector<SealKey> keys) {
  if (keys.empty()) return make_error("a seal keyring needs at least one key");
  std::set<std::uint32_t> ids;
  for (const SealKey& key : keys) {
    if (!ids.insert(key.id).second) {
      return make_error("two seal keys share the id " + std::to_string(key.id));
    }
  }
  SealKeyring ring(std::move(keys));
  for (const auto& cipher : ring.ciphers_) {
    if (!cipher->ready) return make_error("wolfCrypt refused an AES-256-GCM key");
  }
  return ring;
}

SealKeyring::SealKeyring(std::vector<SealKey> keys) : keys_(std::move(keys)) {
  ciphers_.reserve(keys_.size());
  for (const SealKey& key : keys_) ciphers_.push_back(std::make_unique<Cipher>(key));
}

SealKeyring::SealKeyring(const SealKeyring& other) : SealKeyring(other.keys_) {}
SealKeyring& SealKeyring::operator=(const SealKeyring& other) {
  if (this != &other) *this = SealKeyring(other.keys_);
  return *this;
}
SealKeyring::SealKeyring(SealKeyring&&) noexcept = default;
SealKeyring& SealKeyring::operator=(SealKeyring&&) noexcept = default;
SealKeyring::~SealKeyring() = default;

Result<std::string> SealKeyring::seal(std::string_view purpose, std::string_view plaintext) {
  if (kOverheadBytes + plaintext.size() > kMaxSealedChars / 4 * 3) {
    return make_error("the value is too large to seal");
  }
  std::string box(kOverheadBytes + plaintext.size(), '\0');
  auto* out = reinterpret_cast<std::uint8_t*>(box.data());
  out[0] = kVersion;
  put_u32(out + 1, keys_.front().id);
  std::uint8_t* nonce = out + kHeaderBytes;
  if (!fill_random(nonce, kNonceBytes)) return make_error("getrandom failed");
  std::uint8_t* ciphertext = nonce + kNonceBytes;
  std::uint8_t* tag = ciphertext + plaintext.size();
  const std::string aad = associated_data(out, purpose);
  const int rc = wc_AesGcmEncrypt(&ciphers_.front()->aes, ciphertext, bytes_of(plaintext),
                                  static_cast<word32>(plaintext.size()), nonce, kNonceBytes, tag,
                                  kTagBytes, bytes_of(aad), static_cast<word32>(aad.size()));
  if (rc != 0) return make_error(std::string("AES-GCM sealing failed: ") + wc_GetErrorString(rc));
  return identity::encode_base64url(std::string_view(box));
}

Result<std::string> SealKeyring::open(std::string_view purpose, std::string_view sealed) {
  if (sealed.size() > kMaxSealedChars) return make_error("sealed value too long");
  std::optional<std::string> box = identity::decode_base64url(sealed);
  if (!box) return make_error("sealed value is not base64url");
  if (box->size() < kOverheadBytes) return make_error("sealed value too short");
  const auto* in = reinterpret_cast<const std::uint8_t*>(box->data());
  if (in[0] != kVersion) return make_error("sealed value of an unknown version");
  const std::uint32_t key_id = get_u32(in + 1);
  const auto found = std::find_if(keys_.begin(), keys_.end(),
                                  [&](const SealKey& key) { return key.id == key_id; });
  if (found == keys_.end()) return make_error("sealed under a key the relay no longer holds");
  Cipher& cipher = *ciphers_[static_cast<std::size_t>(found - keys_.begin())];
  const std::uint8_t* nonce = in + kHeaderBytes;
  const std::uint8_t* ciphertext = nonce + kNonceBytes;
  const std::size_t text_size = box->size() - kOverheadBytes;
  const std::uint8_t* tag = ciphertext + text_size;
  const std::string aad = associated_data(in, purpose);
  std::string plaintext(text_size, '\0');
  const int rc = wc_AesGcmDecrypt(&cipher.aes, reinterpret_cast<byte*>(plaintext.data()),
                                  ciphertext, static_cast<word32>(text_size), nonce, kNonceBytes,
                                  tag, kTagBytes, bytes_of(aad), static_cast<word32>(aad.size()));
  if (rc == AES_GCM_AUTH_E) return make_error("sealed value forged, altered or of another purpose");
  if (rc != 0) return make_error(std::string("AES-GCM opening failed: ") + wc_GetErrorString(rc));
  return plaintext;
}

Result<std::vector<SealKey>> load_or_create_seal_keys(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    auto key = SealKey::generate(1);
    if (!key) return key.error();
    // Created 0600 from the start: the key never exists with wider permissions.
    const mode_t old_mask = umask(077);
    std::ofstream out(path, std::ios::trunc);
    out << key->to_text() << '\n';
    out.close();
    umask(old_mask);
    if (!out) return make_error(path + ": cannot write the seal keyring");
    return std::vector<SealKey>{*key};
  }
  std::ifstream in(path);
  if (!in) return make_error(path + ": cannot read the seal keyring");
  std::vector<SealKey> keys;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    auto key = SealKey::from_text(line);
    if (!key) {
      return make_error(path + ":" + std::to_string(line_number) + ": " + key.error().message);
    }
    keys.push_back(*key);
  }
  if (keys.empty()) return make_error(path + ": the seal keyring holds no key");
  return keys;
}

}  // namespace tg::auth
