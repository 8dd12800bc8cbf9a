#include "relay/names.h"

// wolfSSL's headers read their configuration from options.h; it must come before any of them.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace tg {
namespace {

constexpr std::size_t kMaxLabel = 63;
// 32 symbols, 5 bits each; the first 24 are letters, so a name can start with one.
constexpr std::string_view kAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
constexpr std::size_t kLetters = 24;
constexpr std::size_t kStableNameLength = 12;
// Enough of a quoted name to recognise it, not enough to flood a terminal.
constexpr std::size_t kMaxQuoted = 64;

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// The name as the publisher typed it, made safe to print: it may hold escape sequences.
std::string quote_for_terminal(std::string_view name) {
  std::string out = "\"";
  for (std::size_t i = 0; i < name.size() && i < kMaxQuoted; ++i) {
    auto b = static_cast<unsigned char>(name[i]);
    out += b >= 0x20 && b < 0x7f ? name[i] : '?';
  }
  out += name.size() > kMaxQuoted ? "...\"" : "\"";
  return out;
}

std::array<unsigned char, WC_SHA256_DIGEST_SIZE> hmac_sha256(std::string_view key,
                                                             std::string_view message) {
  std::array<unsigned char, WC_SHA256_DIGEST_SIZE> digest{};
  Hmac hmac;
  int rc = wc_HmacInit(&hmac, nullptr, INVALID_DEVID);
  if (rc == 0) {
    rc = wc_HmacSetKey(&hmac, WC_SHA256, reinterpret_cast<const byte*>(key.data()),
                       static_cast<word32>(key.size()));
    if (rc == 0) {
      rc = wc_HmacUpdate(&hmac, reinterpret_cast<const byte*>(message.data()),
                         static_cast<word32>(message.size()));
    }
    if (rc == 0) rc = wc_HmacFinal(&hmac, digest.data());
    wc_HmacFree(&hmac);
  }
  // HMAC over memory we own fails only if wolfSSL was built without SHA-256. Going on would
  // hand every key the same name, so stop loudly instead.
  if (rc != 0) {
    std::fprintf(stderr, "tunnelgate: HMAC-SHA256 failed (wolfCrypt error %d)\n", rc);
    std::abort();
  }
  return digest;
}

}  // namespace

std::optional<std::string> validate_name(std::string_view name) {
  bool valid =
      !name.empty() && name.size() <= kMaxLabel && name.front() != '-' && name.back() != '-';
  for (std::size_t i = 0; valid && i < name.size(); ++i) valid = is_label_char(name[i]);
  if (valid) return std::nullopt;
  return quote_for_terminal(name) +
         " is not a valid name: use 1 to 63 characters from a-z, 0-9 and '-', not starting or "
         "ending with '-'";
}

// 12 symbols: the first a letter chosen by digest bytes 0-1 (mod 24; the bias of 2^16 mod 24
// is negligible), then 11 of 5 bits each from the top of bytes 2-9: about 59.6 bits in all.
std::string stable_name(std::string_view key_fingerprint, std::string_view secret, unsigned index) {
  auto digest = hmac_sha256(secret, key_fingerprint);
  std::string name;
  name.reserve(kStableNameLength + 12);
  name += kAlphabet[((std::size_t{digest[0]} << 8) | digest[1]) % kLetters];
  std::uint64_t bits = 0;
  for (std::size_t i = 2; i < 10; ++i) bits = (bits << 8) | digest[i];
  for (std::size_t i = 1; i < kStableNameLength; ++i) {
    name += kAlphabet[(bits >> 59) & 31];
    bits <<= 5;
  }
  if (index > 0) name += "-" + std::to_string(std::uint64_t{index} + 1);
  return name;
}

std::string normalize_host(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::string out(host);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::optional<std::string_view> name_under_domain(std::string_view host, std::string_view domain) {
  // A host name never holds ':', so everything from the first one is the port (or an IPv6
  // literal, which then fails to match the domain).
  host = host.substr(0, host.find(':'));
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "name.domain.:443"
  if (domain.empty() || host.size() < domain.size() + 2) return std::nullopt;
  std::string_view suffix = host.substr(host.size() - domain.size());
  std::string_view name = host.substr(0, host.size() - domain.size() - 1);
  if (!iequals(suffix, domain) || host[name.size()] != '.') return std::nullopt;
  if (name.find('.') != std::string_view::npos) return std::nullopt;  // exactly one label
  return name;
}

}  // namespace tg
