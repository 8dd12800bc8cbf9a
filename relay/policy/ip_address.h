/// IP addresses and CIDR blocks, for `source.ip` and `source.ip in cidr("10.0.0.0/8")`.
///
/// An address is two 64-bit words and a family, so the relay can build one from a
/// `sockaddr` without allocating and a block test is two masked compares. IPv4-mapped IPv6
/// addresses (`::ffff:10.1.2.3`, what a dual-stack socket reports for IPv4 peers) are
/// stored as the IPv4 address they carry, so `cidr("10.0.0.0/8")` matches them.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "relay/base/result.h"

namespace tg::policy {

class IpAddress {
 public:
  enum class Family : std::uint8_t { kNone, kV4, kV6 };

  /// No address: reads as absent in expressions.
  constexpr IpAddress() = default;

  /// `bits` in host order: 10.0.0.1 is 0x0a000001.
  static IpAddress v4(std::uint32_t bits);
  /// 16 bytes in network order; IPv4-mapped addresses become IPv4.
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes);
  /// Numeric text only ("10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1"); nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text);
  /// AF_INET or AF_INET6 peers; anything else (or null) gives no address.
  static IpAddress from_sockaddr(const sockaddr* address);

  Family family() const { return family_; }
  bool empty() const { return family_ == Family::kNone; }
  std::string to_string() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family_ == b.family_ && a.high_ == b.high_ && a.low_ == b.low_;
  }

 private:
  friend class Cidr;
  std::uint64_t high_ = 0;  // IPv6: bytes 0-7; IPv4: 0
  std::uint64_t low_ = 0;   // IPv6: bytes 8-15; IPv4: the address in the low 32 bits
  Family family_ = Family::kNone;
};

/// An address block: base address and prefix length, host bits zero.
class Cidr {
 public:
  /// "10.0.0.0/8", "2001:db8::/32", or a bare address (a block of one). Host bits set past
  /// the prefix are an error that shows the block probably meant.
  static Result<Cidr> parse(std::string_view text);

  bool contains(const IpAddress& address) const {
    return address.family_ == base_.family_ && ((address.high_ ^ base_.high_) & mask_high_) == 0 &&
           ((address.low_ ^ base_.low_) & mask_low_) == 0;
  }
  const IpAddress& base() const { return base_; }
  unsigned prefix() const { return prefix_; }

 private:
  IpAddress base_;
  std::uint64_t mask_high_ = 0;
  std::uint64_t mask_low_ = 0;
  unsigned prefix_ = 0;
};

}  // namespace tg::policy
