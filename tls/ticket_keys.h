/// TLS session tickets that open on every worker, survive a reload, and rotate every hour.
///
/// A ticket lets a returning client skip the certificate and key exchange of a full
/// handshake. The kernel spreads a client's reconnects over the workers, and a reload gives
/// every worker a new TLS context, so the keys cannot belong to one context (wolfSSL's
/// default). They are not shared mutable state either: every worker holds its own copy of
/// one key schedule, a one-way ratchet from a random key made once per process at start-up
/// (`TicketKeyStart`, wiped once the workers have copied it). The key of period p+1 is
/// HMAC-SHA256(key of p), so each worker finds the current key by itself, with no lock and no
/// message, and a key taken from memory later does not open tickets of earlier periods.
///
/// A period is an hour of wall-clock time. A ticket opens in the period it was sealed in and
/// the next one (and is then renewed), so it lives one to two hours. Keys exist only in
/// memory: a restart makes every ticket a full handshake again, nothing worse. Tickets are
/// sealed with ChaCha20-Poly1305; the key name carries the period and a tag of the process,
/// so a ticket of another process or period is refused before any decryption.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

struct WOLFSSL;

namespace tg::tls {

inline constexpr std::size_t kTicketKeyBytes = 32;
using TicketKey = std::array<std::uint8_t, kTicketKeyBytes>;

/// Where every worker's schedule starts: made once per process.
struct TicketKeyStart {
  std::uint64_t period = 0;
  TicketKey key{};
  /// A random key for the period of `now_epoch_s`; false when no randomness is available.
  bool generate(std::uint64_t now_epoch_s);
  void wipe();
};

class TicketKeys {
 public:
  static constexpr std::uint64_t kPeriodSeconds = 3600;
  static constexpr std::size_t kNameBytes = 16, kIvBytes = 16, kMacBytes = 32;

  explicit TicketKeys(const TicketKeyStart& start);
  ~TicketKeys();
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  /// Encrypts `ticket` in place and fills the key name, IV and tag; false on failure.
  bool seal(std::uint64_t now_epoch_s, std::uint8_t* key_name, std::uint8_t* iv, std::uint8_t* mac,
            std::uint8_t* ticket, std::size_t length);

  enum class Opened { kOk, kRenew, kReject };
  /// Decrypts `ticket` in place: kOk (current key), kRenew (previous period's key: use it and
  /// issue a new ticket), kReject (unknown key, too old, or forged).
  Opened open(std::uint64_t now_epoch_s, const std::uint8_t* key_name, const std::uint8_t* iv,
              const std::uint8_t* mac, std::uint8_t* ticket, std::size_t length);

  /// wolfSSL's ticket callback (wolfSSL_CTX_set_TicketEncCb); its context is a TicketKeys*.
  static int callback(WOLFSSL* ssl, unsigned char* key_name, unsigned char* iv, unsigned char* mac,
                      int encrypt, unsigned char* ticket, int in_length, int* out_length,
                      void* keys);

 private:
  struct Random;
  /// Moves the ratchet forward to `period` (never back), forgetting keys older than the
  /// previous period's.
  void advance_to(std::uint64_t period);
  const TicketKey* key_for(std::uint64_t period) const;

  std::uint64_t period_;
  TicketKey current_;
  TicketKey previous_{};
  bool has_previous_ = false;
  std::array<std::uint8_t, 8> process_tag_{};
  std::unique_ptr<Random> random_;
};

}  // namespace tg::tls
