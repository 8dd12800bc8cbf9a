// parse_proxy_v2: the fixed 16 bytes, then the address block of the declared length, then the
// TLVs walked (never interpreted) so that a block whose TLVs overrun it is refused.
#include "relay/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace tg::net {
namespace {

constexpr std::uint8_t kVersion2 = 0x20;
constexpr std::uint8_t kCommandLocal = 0x00;
constexpr std::uint8_t kCommandProxy = 0x01;
// Address family (high nibble) and transport (low nibble) of the proxied connection.
constexpr std::uint8_t kUnspec = 0x00;
constexpr std::uint8_t kTcpOverIpv4 = 0x11;
constexpr std::uint8_t kTcpOverIpv6 = 0x21;
constexpr std::size_t kIpv4Block = 4 + 4 + 2 + 2;
constexpr std::size_t kIpv6Block = 16 + 16 + 2 + 2;
constexpr std::size_t kTlvHeader = 3;  // type, 16-bit length

std::uint8_t byte_at(std::string_view bytes, std::size_t i) {
  return static_cast<std::uint8_t>(bytes[i]);
}

std::uint16_t be16(std::string_view bytes, std::size_t i) {
  return static_cast<std::uint16_t>(byte_at(bytes, i) << 8 | byte_at(bytes, i + 1));
}

ProxyParseResult fail(const char* why) {
  ProxyParseResult result;
  result.state = ProxyParseState::kError;
  result.error = why;
  return result;
}

void set_ipv4(sockaddr_storage& out, const char* address, std::uint16_t port) {
  auto& in4 = reinterpret_cast<sockaddr_in&>(out);
  in4.sin_family = AF_INET;
  std::memcpy(&in4.sin_addr, address, 4);
  in4.sin_port = htons(port);
}

void set_ipv6(sockaddr_storage& out, const char* address, std::uint16_t port) {
  auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
  in6.sin6_family = AF_INET6;
  std::memcpy(&in6.sin6_addr, address, 16);
  in6.sin6_port = htons(port);
}

// TLVs fill the rest of the block exactly; each one's value must lie inside it.
bool tlvs_fit(std::string_view tlvs) {
  std::size_t at = 0;
  while (at < tlvs.size()) {
    if (tlvs.size() - at < kTlvHeader) return false;
    const std::size_t value = be16(tlvs, at + 1);
    if (tlvs.size() - at - kTlvHeader < value) return false;
    at += kTlvHeader + value;
  }
  return true;
}

}  // namespace

ProxyParseResult parse_proxy_v2(std::string_view bytes) {
  const std::size_t prefix = std::min(bytes.size(), kProxyV2Signature.size());
  if (bytes.substr(0, prefix) != kProxyV2Signature.substr(0, prefix)) {
    return fail("no PROXY protocol v2 signature");
  }
  if (bytes.size() < kProxyV2FixedBytes) {
    // The version byte is checked as soon as it is there, like the signature.
    if (bytes.size() > 12 && (byte_at(bytes, 12) & 0xF0) != kVersion2) {
      return fail("not PROXY protocol version 2");
    }
    return {};
  }
  const std::uint8_t version_command = byte_at(bytes, 12);
  if ((version_command & 0xF0) != kVersion2) return fail("not PROXY protocol version 2");
  const std::uint8_t command = version_command & 0x0F;
  if (command != kCommandLocal && command != kCommandProxy) return fail("unknown command");
  const std::uint8_t family = byte_at(bytes, 13);
  const std::size_t block = be16(bytes, 14);
  const std::size_t total = kProxyV2FixedBytes + block;
  if (total > kMaxProxyV2Bytes) return fail("header longer than the relay accepts");
  std::size_t address_bytes = 0;
  if (command == kCommandProxy) {
    if (family == kTcpOverIpv4) {
      address_bytes = kIpv4Block;
    } else if (family == kTcpOverIpv6) {
      address_bytes = kIpv6Block;
    } else if (family != kUnspec) {
      return fail("unsupported address family or transport (only TCP over IPv4 or IPv6)");
    }
    if (block < address_bytes) return fail("address block shorter than its family needs");
  }
  if (bytes.size() < total) return {};

  ProxyParseResult result;
  result.state = ProxyParseState::kComplete;
  result.header.length = total;
  if (command == kCommandLocal) {
    // A LOCAL header's block (addresses, TLVs) is ignored by the specification, whatever its
    // family: only its length matters.
    result.header.command = ProxyCommand::kLocal;
    return result;
  }
  result.header.command = ProxyCommand::kProxy;
  const std::string_view body = bytes.substr(kProxyV2FixedBytes, block);
  if (!tlvs_fit(body.substr(address_bytes))) return fail("TLV overruns the header");
  if (family == kTcpOverIpv4) {
    result.header.family = AF_INET;
    set_ipv4(result.header.source, body.data(), be16(body, 8));
    set_ipv4(result.header.destination, body.data() + 4, be16(body, 10));
  } else if (family == kTcpOverIpv6) {
    result.header.family = AF_INET6;
    set_ipv6(result.header.source, body.data(), be16(body, 32));
    set_ipv6(result.header.destination, body.data() + 16, be16(body, 34));
  }
  return result;
}

}  // namespace tg::net
