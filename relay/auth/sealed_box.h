/// Sealed values: state the relay hands to a client and later takes back, unreadable and
/// unforgeable by anyone without the key (AES-256-GCM, a fresh random 96-bit nonce per seal).
///
/// Why: authorization codes, browser sessions, registrations and consents must be valid on
/// every worker and, later, on every node of a cluster. A value the client carries, sealed
/// under a key every worker holds, needs no shared table and no lock. What must be revocable
/// (refresh-token families) stays server-side; everything else can be sealed.
///
/// The text form is base64url(version | key id (4 bytes, big-endian) | nonce | ciphertext |
/// tag). The version, key id and the caller's `purpose` are authenticated as associated data,
/// so a value sealed as an authorization code never opens as a session cookie, and a value
/// under a retired key is refused before any decryption. Expiry is the payload's business
/// (the caller seals its own `exp` and checks it after opening).
///
/// A `SealKeyring` seals with its first key and opens with any of them, so keys rotate
/// without breaking values already handed out. Not thread-safe (wolfCrypt's GCM state):
/// each worker keeps its own copy. Opening a 200-byte value costs well under a microsecond.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"

namespace tg::auth {

inline constexpr std::size_t kSealKeyBytes = 32;
/// Sealed text longer than this is refused before it is decoded: a stranger's cookie or
/// code cannot make us allocate more.
inline constexpr std::size_t kMaxSealedChars = 8192;

struct SealKey {
  std::uint32_t id = 0;
  std::array<std::uint8_t, kSealKeyBytes> bytes{};

  /// A new random key; an error when the kernel gives no randomness.
  static Result<SealKey> generate(std::uint32_t id);
  /// `id:hex` (64 hex digits), the form a key takes in the state folder's keyring file.
  std::string to_text() const;
  static Result<SealKey> from_text(std::string_view text);
};

class SealKeyring {
 public:
  /// `keys.front()` seals; all of them open. An error when empty or when two share an id.
  static Result<SealKeyring> create(std::vector<SealKey> keys);

  SealKeyring(const SealKeyring& other);
  SealKeyring& operator=(const SealKeyring& other);
  SealKeyring(SealKeyring&&) noexcept;
  SealKeyring& operator=(SealKeyring&&) noexcept;
  ~SealKeyring();

  /// `plaintext` sealed for `purpose` (a short constant such as "code" or "session").
  Result<std::string> seal(std::string_view purpose, std::string_view plaintext);
  /// The plaintext of a value sealed for `purpose` under one of the ring's keys. Errors say
  /// why in words safe to log (never the plaintext).
  Result<std::string> open(std::string_view purpose, std::string_view sealed);

 private:
  struct Cipher;
  explicit SealKeyring(std::vector<SealKey> keys);
  std::vector<SealKey> keys_;
  std::vector<std::unique_ptr<Cipher>> ciphers_;
};

/// Reads the keyring file at `path` (one `id:hex` line per key, newest first), creating it
/// with one fresh key (mode 0600) when absent.
Result<std::vector<SealKey>> load_or_create_seal_keys(const std::string& path);

}  // namespace tg::auth
