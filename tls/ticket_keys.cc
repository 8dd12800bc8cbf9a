#include "tls/ticket_keys.h"

#include <string.h>  // explicit_bzero

#include <chrono>
#include <cstring>

#include "tls/wolfssl_includes.h"
// After options.h (wolfssl_includes.h): the AEAD and the HMAC.
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/hmac.h>

namespace tg::tls {
namespace {

constexpr std::uint8_t kRatchetLabel[] = "tunnelgate ticket key ratchet";
constexpr std::uint8_t kTagLabel[] = "tunnelgate ticket process tag";
constexpr std::size_t kAeadIvBytes = CHACHA20_POLY1305_AEAD_IV_SIZE;  // 12 of the 16 IV bytes
constexpr std::size_t kAeadTagBytes = CHACHA20_POLY1305_AEAD_AUTHTAG_SIZE;

bool hmac_sha256(const TicketKey& key, const std::uint8_t* data, std::size_t size,
                 std::uint8_t* out) {
  Hmac hmac;
  if (wc_HmacInit(&hmac, nullptr, INVALID_DEVID) != 0) return false;
  const bool ok = wc_HmacSetKey(&hmac, WC_SHA256, key.data(), kTicketKeyBytes) == 0 &&
                  wc_HmacUpdate(&hmac, data, static_cast<word32>(size)) == 0 &&
                  wc_HmacFinal(&hmac, out) == 0;
  wc_HmacFree(&hmac);
  return ok;
}

void put_u64(std::uint8_t* out, std::uint64_t value) {
  for (int i = 7; i >= 0; --i, value >>= 8) out[i] = static_cast<std::uint8_t>(value);
}

std::uint64_t get_u64(const std::uint8_t* in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | in[i];
  return value;
}

// What the tag authenticates besides the ciphertext: the key name, the IV and the length, so
// none of them can be swapped between tickets.
std::array<std::uint8_t, TicketKeys::kNameBytes + TicketKeys::kIvBytes + 2> aad_of(
    const std::uint8_t* key_name, const std::uint8_t* iv, std::size_t length) {
  std::array<std::uint8_t, TicketKeys::kNameBytes + TicketKeys::kIvBytes + 2> aad{};
  std::memcpy(aad.data(), key_name, TicketKeys::kNameBytes);
  std::memcpy(aad.data() + TicketKeys::kNameBytes, iv, TicketKeys::kIvBytes);
  aad[aad.size() - 2] = static_cast<std::uint8_t>(length >> 8);
  aad[aad.size() - 1] = static_cast<std::uint8_t>(length);
  return aad;
}

void wipe(TicketKey& key) {
  explicit_bzero(key.data(), key.size());  // never optimised away, unlike a memset
}

}  // namespace

struct TicketKeys::Random {
  WC_RNG rng{};
  bool ok = false;
  Random() { ok = wc_InitRng(&rng) == 0; }
  ~Random() {
    if (ok) wc_FreeRng(&rng);
  }
};

bool TicketKeyStart::generate(std::uint64_t now_epoch_s) {
  WC_RNG rng{};
  if (wc_InitRng(&rng) != 0) return false;
  const bool ok = wc_RNG_GenerateBlock(&rng, key.data(), kTicketKeyBytes) == 0;
  wc_FreeRng(&rng);
  period = now_epoch_s / TicketKeys::kPeriodSeconds;
  return ok;
}

void TicketKeyStart::wipe() {
  tg::tls::wipe(key);
}

TicketKeys::TicketKeys(const TicketKeyStart& start)
    : period_(start.period), current_(start.key), random_(std::make_unique<Random>()) {
  std::uint8_t digest[WC_SHA256_DIGEST_SIZE];
  // The same for every worker of this process, and unlike any other process's.
  if (hmac_sha256(start.key, kTagLabel, sizeof kTagLabel, digest)) {
    std::memcpy(process_tag_.data(), digest, process_tag_.size());
  }
}

TicketKeys::~TicketKeys() {
  wipe(current_);
  wipe(previous_);
}

void TicketKeys::advance_to(std::uint64_t period) {
  while (period_ < period) {
    TicketKey next{};
    if (!hmac_sha256(current_, kRatchetLabel, sizeof kRatchetLabel, next.data())) return;
    previous_ = current_;
    has_previous_ = true;
    current_ = next;
    wipe(next);
    ++period_;
    if (period_ < period) has_previous_ = false;  // skipped a whole period: that key is stale
  }
}

const TicketKey* TicketKeys::key_for(std::uint64_t period) const {
  if (period == period_) return &current_;
  if (has_previous_ && period + 1 == period_) return &previous_;
  return nullptr;
}

bool TicketKeys::seal(std::uint64_t now_epoch_s, std::uint8_t* key_name, std::uint8_t* iv,
                      std::uint8_t* mac, std::uint8_t* ticket, std::size_t length) {
  advance_to(now_epoch_s / kPeriodSeconds);
  if (!random_->ok || length > 0xFFFF) return false;
  put_u64(key_name, period_);
  std::memcpy(key_name + 8, process_tag_.data(), process_tag_.size());
  if (wc_RNG_GenerateBlock(&random_->rng, iv, kIvBytes) != 0) return false;
  const auto aad = aad_of(key_name, iv, length);
  std::memset(mac, 0, kMacBytes);
  return wc_ChaCha20Poly1305_Encrypt(current_.data(), iv, aad.data(),
                                     static_cast<word32>(aad.size()), ticket,
                                     static_cast<word32>(length), ticket, mac) == 0;
}

TicketKeys::Opened TicketKeys::open(std::uint64_t now_epoch_s, const std::uint8_t* key_name,
                                    const std::uint8_t* iv, const std::uint8_t* mac,
                                    std::uint8_t* ticket, std::size_t length) {
  advance_to(now_epoch_s / kPeriodSeconds);
  if (length > 0xFFFF || std::memcmp(key_name + 8, process_tag_.data(), process_tag_.size()) != 0) {
    return Opened::kReject;
  }
  const std::uint64_t period = get_u64(key_name);
  const TicketKey* key = key_for(period);
  if (key == nullptr) return Opened::kReject;
  const auto aad = aad_of(key_name, iv, length);
  if (wc_ChaCha20Poly1305_Decrypt(key->data(), iv, aad.data(), static_cast<word32>(aad.size()),
                                  ticket, static_cast<word32>(length), mac, ticket) != 0) {
    return Opened::kReject;
  }
  return key == &current_ ? Opened::kOk : Opened::kRenew;
}

int TicketKeys::callback(WOLFSSL*, unsigned char* key_name, unsigned char* iv, unsigned char* mac,
                         int encrypt, unsigned char* ticket, int in_length, int* out_length,
                         void* keys_ptr) {
  static_assert(kAeadIvBytes <= kIvBytes && kAeadTagBytes <= kMacBytes);
  static_assert(kNameBytes == WOLFSSL_TICKET_NAME_SZ && kIvBytes == WOLFSSL_TICKET_IV_SZ &&
                kMacBytes == WOLFSSL_TICKET_MAC_SZ);
  auto& keys = *static_cast<TicketKeys*>(keys_ptr);
  if (in_length < 0) return WOLFSSL_TICKET_RET_FATAL;
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  const auto length = static_cast<std::size_t>(in_length);
  *out_length = in_length;
  if (encrypt != 0) {
    return keys.seal(now, key_name, iv, mac, ticket, length) ? WOLFSSL_TICKET_RET_OK
                                                             : WOLFSSL_TICKET_RET_FATAL;
  }
  switch (keys.open(now, key_name, iv, mac, ticket, length)) {
    case Opened::kOk:
      return WOLFSSL_TICKET_RET_OK;
    case Opened::kRenew:
      return WOLFSSL_TICKET_RET_CREATE;
    case Opened::kReject:
      break;
  }
  return WOLFSSL_TICKET_RET_REJECT;  // a full handshake, not an error
}

}  // namespace tg::tls
