/// The network layer below TLS: who a visitor really is when a trusted load balancer sits in
/// front of the relay.
///
/// A load balancer that terminates TCP (AWS NLB with proxy protocol on, HAProxy's
/// `send-proxy-v2`, Envoy's proxy_protocol transport socket) connects to the relay from its
/// own address; it says whose connection it carries in a PROXY protocol version 2 header, the
/// first bytes of the stream, before the ClientHello. `parse_proxy_v2` reads that header: a
/// pure function over the bytes received so far, which never allocates, returns "need more",
/// "bad" or the header with its length, and can be called again with more bytes. The worker
/// parses it only for peers in `[https] proxy_protocol_from` (anyone else could claim any
/// address) and then uses the header's source as the visitor's address everywhere: policy,
/// X-Forwarded-For, logs and audit. Version 1 (the text form) is not accepted.
///
/// Specification: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, section 2.2.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tg::net {

/// The 12-byte signature every version 2 header starts with.
inline constexpr std::string_view kProxyV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
/// Signature, version/command, family/protocol and the 16-bit length.
inline constexpr std::size_t kProxyV2FixedBytes = 16;
/// The largest header accepted: the 216 address bytes of an AF_UNIX header plus room for the
/// TLVs load balancers add (AWS: the VPC endpoint id; Azure: the link id; TLS details), as
/// HAProxy bounds it by its buffer. A longer one is refused rather than waited for.
inline constexpr std::size_t kMaxProxyV2Bytes = kProxyV2FixedBytes + 2048;

enum class ProxyParseState {
  kIncomplete,  // a valid prefix: more bytes needed
  kComplete,    // `header` is set
  kError,       // not a (supported) version 2 header; `error` says why
};

enum class ProxyCommand : std::uint8_t {
  kLocal,  // the balancer's own connection (a health check): keep the real peer
  kProxy,  // a relayed connection: source and destination are the original client's
};

struct ProxyHeader {
  ProxyCommand command = ProxyCommand::kLocal;
  /// AF_INET or AF_INET6 for a PROXY header over TCP; AF_UNSPEC for LOCAL, and for PROXY
  /// with the UNSPEC family (the sender does not know: keep the real peer).
  int family = AF_UNSPEC;
  sockaddr_storage source{};       // valid when family is AF_INET or AF_INET6
  sockaddr_storage destination{};  // likewise
  std::size_t length = 0;          // bytes the header took, TLVs included
};

struct ProxyParseResult {
  ProxyParseState state = ProxyParseState::kIncomplete;
  ProxyHeader header;
  const char* error = "";  // static text, for logs
};

/// Reads a PROXY v2 header at the start of `bytes`. Bytes after the header (the ClientHello)
/// are not looked at. A prefix that already differs from the signature is an error at once,
/// so a peer that skips the header fails on its first byte rather than at the deadline.
ProxyParseResult parse_proxy_v2(std::string_view bytes);

}  // namespace tg::net
