#include "relay/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <initializer_list>
#include <string>

namespace tg::net {
namespace {

std::string header(std::uint8_t version_command, std::uint8_t family, std::string block) {
  std::string out(kProxyV2Signature);
  out.push_back(static_cast<char>(version_command));
  out.push_back(static_cast<char>(family));
  out.push_back(static_cast<char>(block.size() >> 8));
  out.push_back(static_cast<char>(block.size() & 0xFF));
  return out + block;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::string tlv(std::uint8_t type, const std::string& value) {
  return bytes({type, static_cast<int>(value.size() >> 8), static_cast<int>(value.size() & 0xFF)}) +
         value;
}

// 203.0.113.7:51000 -> 192.0.2.1:443
const std::string kIpv4Block =
    bytes({203, 0, 113, 7, 192, 0, 2, 1, 51000 >> 8, 51000 & 0xFF, 443 >> 8, 443 & 0xFF});

// 2001:db8::7:40000 -> 2001:db8::1:443
std::string ipv6_block() {
  std::string source(16, '\0'), destination(16, '\0');
  source[0] = 0x20, source[1] = 0x01, source[2] = 0x0d, source[3] = static_cast<char>(0xb8);
  destination = source;
  source[15] = 7;
  destination[15] = 1;
  return source + destination + bytes({40000 >> 8, 40000 & 0xFF, 443 >> 8, 443 & 0xFF});
}

std::string text_of(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &in4.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in4.sin_port));
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
  inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6.sin6_port));
}

TEST(ProxyProtocol, ProxyOverIpv4GivesSourceDestinationAndLength) {
  const std::string input = header(0x21, 0x11, kIpv4Block) + "\x16\x03\x01";
  const auto result = parse_proxy_v2(input);
  ASSERT_EQ(result.state, ProxyParseState::kComplete) << result.error;
  EXPECT_EQ(result.header.command, ProxyCommand::kProxy);
  EXPECT_EQ(result.header.family, AF_INET);
  EXPECT_EQ(text_of(result.header.source), "203.0.113.7:51000");
  EXPECT_EQ(text_of(result.header.destination), "192.0.2.1:443");
  EXPECT_EQ(result.header.length, 16u + 12u) << "the ClientHello after it is not part of it";
}

TEST(ProxyProtocol, ProxyOverIpv6) {
  const auto result = parse_proxy_v2(header(0x21, 0x21, ipv6_block()));
  ASSERT_EQ(result.state, ProxyParseState::kComplete) << result.error;
  EXPECT_EQ(result.header.family, AF_INET6);
  EXPECT_EQ(text_of(result.header.source), "[2001:db8::7]:40000");
  EXPECT_EQ(text_of(result.header.destination), "[2001:db8::1]:443");
  EXPECT_EQ(result.header.length, 16u + 36u);
}

TEST(ProxyProtocol, LocalKeepsTheRealPeerWhateverItsBlockHolds) {
  for (const auto& [family, block] :
       {std::pair<int, std::string>{0x00, ""}, {0x11, kIpv4Block}, {0x31, std::string(216, 'x')}}) {
    const auto result = parse_proxy_v2(header(0x20, static_cast<std::uint8_t>(family), block));
    ASSERT_EQ(result.state, ProxyParseState::kComplete) << result.error;
    EXPECT_EQ(result.header.command, ProxyCommand::kLocal);
    EXPECT_EQ(result.header.family, AF_UNSPEC);
    EXPECT_EQ(result.header.length, 16u + block.size());
  }
}

TEST(ProxyProtocol, ProxyWithUnspecifiedFamilyKeepsTheRealPeer) {
  const auto result = parse_proxy_v2(header(0x21, 0x00, tlv(0x04, "")));
  ASSERT_EQ(result.state, ProxyParseState::kComplete) << result.error;
  EXPECT_EQ(result.header.command, ProxyCommand::kProxy);
  EXPECT_EQ(result.header.family, AF_UNSPEC);
}

TEST(ProxyProtocol, TlvsAreSkipped) {
  // ALPN, authority, a NOOP and an AWS-style vendor TLV, then the CRC32C type: all skipped.
  const std::string tlvs = tlv(0x01, "http/1.1") + tlv(0x02, "notes.tg.test") + tlv(0x04, "") +
                           tlv(0xEA, std::string(300, 'v')) + tlv(0x03, "\x01\x02\x03\x04");
  const std::string input = header(0x21, 0x11, kIpv4Block + tlvs) + "rest";
  const auto result = parse_proxy_v2(input);
  ASSERT_EQ(result.state, ProxyParseState::kComplete) << result.error;
  EXPECT_EQ(text_of(result.header.source), "203.0.113.7:51000");
  EXPECT_EQ(result.header.length, input.size() - 4);
}

TEST(ProxyProtocol, TlvThatOverrunsTheBlockIsAnError) {
  const std::string short_value = kIpv4Block + bytes({0x01, 0x00, 0x05}) + "abc";
  EXPECT_EQ(parse_proxy_v2(header(0x21, 0x11, short_value)).state, ProxyParseState::kError);
  const std::string torn_header = kIpv4Block + bytes({0x01, 0x00});
  EXPECT_EQ(parse_proxy_v2(header(0x21, 0x11, torn_header)).state, ProxyParseState::kError);
}

TEST(ProxyProtocol, EveryTruncationNeedsMoreAndTheWholeCompletes) {
  const std::string tlvs = tlv(0x02, "notes.tg.test") + tlv(0x04, std::string(20, '\0'));
  for (const std::string& input : {header(0x21, 0x11, kIpv4Block + tlvs),
                                   header(0x21, 0x21, ipv6_block()), header(0x20, 0x00, "")}) {
    for (std::size_t cut = 0; cut < input.size(); ++cut) {
      const auto result = parse_proxy_v2(std::string_view(input).substr(0, cut));
      EXPECT_EQ(result.state, ProxyParseState::kIncomplete) << "cut at " << cut;
    }
    const auto whole = parse_proxy_v2(input);
    ASSERT_EQ(whole.state, ProxyParseState::kComplete) << whole.error;
    EXPECT_EQ(whole.header.length, input.size());
  }
}

TEST(ProxyProtocol, BadSignatureFailsAtTheFirstWrongByte) {
  // A client that skipped the header: a TLS record fails on its first byte.
  EXPECT_EQ(parse_proxy_v2("\x16").state, ProxyParseState::kError);
  EXPECT_EQ(parse_proxy_v2("\x16\x03\x01\x02\x00\x01").state, ProxyParseState::kError);
  // Version 1 (text) is not accepted.
  EXPECT_EQ(parse_proxy_v2("PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n").state,
            ProxyParseState::kError);
  const std::string good = header(0x21, 0x11, kIpv4Block);
  for (std::size_t i = 0; i < kProxyV2Signature.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    EXPECT_EQ(parse_proxy_v2(std::string_view(bad).substr(0, i + 1)).state, ProxyParseState::kError)
        << "byte " << i;
    EXPECT_EQ(parse_proxy_v2(bad).state, ProxyParseState::kError) << "byte " << i;
  }
}

TEST(ProxyProtocol, BadVersionAndCommandAreErrors) {
  for (int version_command : {0x11, 0x31, 0x01, 0xF1}) {
    const std::string input = header(static_cast<std::uint8_t>(version_command), 0x11, kIpv4Block);
    EXPECT_EQ(parse_proxy_v2(input).state, ProxyParseState::kError) << version_command;
    EXPECT_EQ(parse_proxy_v2(std::string_view(input).substr(0, 13)).state, ProxyParseState::kError)
        << "the version is refused as soon as it arrives";
  }
  EXPECT_EQ(parse_proxy_v2(header(0x22, 0x11, kIpv4Block)).state, ProxyParseState::kError);
  EXPECT_EQ(parse_proxy_v2(header(0x2F, 0x11, kIpv4Block)).state, ProxyParseState::kError);
}

TEST(ProxyProtocol, UnsupportedFamiliesAndShortBlocksAreErrors) {
  EXPECT_EQ(parse_proxy_v2(header(0x21, 0x12, kIpv4Block)).state, ProxyParseState::kError)
      << "UDP over IPv4";
  EXPECT_EQ(parse_proxy_v2(header(0x21, 0x31, std::string(216, '\0'))).state,
            ProxyParseState::kError)
      << "a UNIX socket";
  EXPECT_EQ(parse_proxy_v2(header(0x21, 0x10, kIpv4Block)).state, ProxyParseState::kError);
  EXPECT_EQ(parse_proxy_v2(header(0x21, 0x11, kIpv4Block.substr(0, 11))).state,
            ProxyParseState::kError);
  EXPECT_EQ(parse_proxy_v2(header(0x21, 0x21, kIpv4Block)).state, ProxyParseState::kError)
      << "IPv6 needs 36 bytes";
  // Known from the fixed part alone: no need to wait for the block.
  const std::string fixed = header(0x21, 0x21, kIpv4Block).substr(0, 16);
  EXPECT_EQ(parse_proxy_v2(fixed).state, ProxyParseState::kError);
}

TEST(ProxyProtocol, OversizeLengthIsRefusedBeforeItsBytesArrive) {
  std::string fixed = header(0x21, 0x11, "");
  const std::size_t too_long = kMaxProxyV2Bytes - kProxyV2FixedBytes + 1;
  fixed[14] = static_cast<char>(too_long >> 8);
  fixed[15] = static_cast<char>(too_long & 0xFF);
  EXPECT_EQ(parse_proxy_v2(fixed).state, ProxyParseState::kError);
  fixed[14] = fixed[15] = static_cast<char>(0xFF);
  EXPECT_EQ(parse_proxy_v2(fixed).state, ProxyParseState::kError);
  // The largest accepted one completes.
  const std::string largest =
      header(0x21, 0x11, kIpv4Block + tlv(0x04, std::string(kMaxProxyV2Bytes - 16 - 12 - 3, 'p')));
  ASSERT_EQ(largest.size(), kMaxProxyV2Bytes);
  EXPECT_EQ(parse_proxy_v2(largest).state, ProxyParseState::kComplete);
}

}  // namespace
}  // namespace tg::net
