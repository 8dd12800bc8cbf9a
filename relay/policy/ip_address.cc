// Address parsing through inet_pton (strict numeric forms, no allocation) and block masks.
#include "relay/policy/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace tg::policy {
namespace {

std::uint64_t load_be64(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | bytes[i];
  return value;
}

// The top `bits` bits of a 64-bit word set (bits from 0 to 64).
std::uint64_t top_bits(unsigned bits) {
  return bits == 0 ? 0 : bits >= 64 ? ~std::uint64_t{0} : ~std::uint64_t{0} << (64 - bits);
}

}  // namespace

IpAddress IpAddress::v4(std::uint32_t bits) {
  IpAddress address;
  address.low_ = bits;
  address.family_ = Family::kV4;
  return address;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) {
  static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
    return v4(static_cast<std::uint32_t>(load_be64(bytes.data() + 8) & 0xffffffffu));
  }
  IpAddress address;
  address.high_ = load_be64(bytes.data());
  address.low_ = load_be64(bytes.data() + 8);
  address.family_ = Family::kV6;
  return address;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    in_addr v4_address{};
    if (::inet_pton(AF_INET, buffer, &v4_address) != 1) return std::nullopt;
    return v4(ntohl(v4_address.s_addr));
  }
  std::array<std::uint8_t, 16> bytes{};
  if (::inet_pton(AF_INET6, buffer, bytes.data()) != 1) return std::nullopt;
  return v6(bytes);
}

IpAddress IpAddress::from_sockaddr(const sockaddr* address) {
  if (address == nullptr) return {};
  if (address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    return v4(ntohl(in.sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &in6.sin6_addr, bytes.size());
    return v6(bytes);
  }
  return {};
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN];
  if (family_ == Family::kV4) {
    in_addr v4_address{htonl(static_cast<std::uint32_t>(low_))};
    return ::inet_ntop(AF_INET, &v4_address, buffer, sizeof buffer);
  }
  if (family_ == Family::kV6) {
    std::uint8_t bytes[16];
    for (int i = 0; i < 8; ++i) {
      bytes[i] = static_cast<std::uint8_t>(high_ >> (56 - 8 * i));
      bytes[8 + i] = static_cast<std::uint8_t>(low_ >> (56 - 8 * i));
    }
    return ::inet_ntop(AF_INET6, bytes, buffer, sizeof buffer);
  }
  return "";
}

Result<Cidr> Cidr::parse(std::string_view text) {
  std::size_t slash = text.find('/');
  std::string_view address_text = text.substr(0, slash);
  std::optional<IpAddress> address = IpAddress::parse(address_text);
  // A v4-mapped block ("::ffff:10.0.0.0/104") is kept as the IPv4 block it names.
  bool mapped = address && address->family() == IpAddress::Family::kV4 &&
                address_text.find(':') != std::string_view::npos;
  if (!address) {
    return make_error("\"" + std::string(address_text) + "\" is not an IP address");
  }
  unsigned max = address->family() == IpAddress::Family::kV4 ? 32 : 128;
  unsigned prefix = mapped ? 128 : max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        prefix > (mapped ? 128 : max)) {
      return make_error("the prefix length after \"/\" must be a number from 0 to " +
                        std::to_string(mapped ? 128 : max));
    }
  }
  if (mapped) {
    if (prefix < 96) {
      return make_error("an IPv4-mapped block needs a prefix of at least /96");
    }
    prefix -= 96;
  }
  Cidr cidr;
  cidr.base_ = *address;
  cidr.prefix_ = prefix;
  if (address->family() == IpAddress::Family::kV4) {
    cidr.mask_low_ = top_bits(prefix) >> 32;
  } else {
    cidr.mask_high_ = top_bits(prefix);
    cidr.mask_low_ = prefix > 64 ? top_bits(prefix - 64) : 0;
  }
  if ((address->high_ & ~cidr.mask_high_) != 0 || (address->low_ & ~cidr.mask_low_) != 0) {
    IpAddress network = *address;
    network.high_ &= cidr.mask_high_;
    network.low_ &= cidr.mask_low_;
    return make_error("\"" + std::string(text) + "\" has address bits set past the /" +
                      std::to_string(prefix) + " prefix; did you mean \"" + network.to_string() +
                      "/" + std::to_string(prefix) + "\"?");
  }
  return cidr;
}

}  // namespace tg::policy
