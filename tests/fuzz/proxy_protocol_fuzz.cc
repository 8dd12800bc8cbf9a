// Fuzzes parse_proxy_v2, the PROXY protocol v2 reader a trusted load balancer's connections go
// through before their ClientHello. Checked beyond memory safety: a complete header's length
// lies within the input and the limit, and the bytes after it do not change the answer (the
// same header parses from exactly its own bytes, and one byte less needs more); an error stays
// an error whatever follows; "need more" never happens past the limit; addresses are set for
// exactly the PROXY headers that carry TCP over IPv4 or IPv6.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "relay/net/proxy_protocol.h"
#include "tests/fuzz/fuzz_check.h"

using tg::net::parse_proxy_v2;
using tg::net::ProxyCommand;
using tg::net::ProxyParseState;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tg::fuzz::as_text(data, size);
  const auto result = parse_proxy_v2(input);
  switch (result.state) {
    case ProxyParseState::kIncomplete:
      FUZZ_CHECK(size < tg::net::kMaxProxyV2Bytes);
      return 0;
    case ProxyParseState::kError: {
      FUZZ_CHECK(std::strlen(result.error) > 0);
      const std::string longer = std::string(input) + '\0';
      FUZZ_CHECK(parse_proxy_v2(longer).state == ProxyParseState::kError);
      return 0;
    }
    case ProxyParseState::kComplete:
      break;
  }
  const auto& header = result.header;
  FUZZ_CHECK(header.length >= tg::net::kProxyV2FixedBytes);
  FUZZ_CHECK(header.length <= size && header.length <= tg::net::kMaxProxyV2Bytes);
  const auto exact = parse_proxy_v2(input.substr(0, header.length));
  FUZZ_CHECK(exact.state == ProxyParseState::kComplete && exact.header.length == header.length);
  FUZZ_CHECK(exact.header.family == header.family && exact.header.command == header.command);
  FUZZ_CHECK(std::memcmp(&exact.header.source, &header.source, sizeof header.source) == 0);
  FUZZ_CHECK(parse_proxy_v2(input.substr(0, header.length - 1)).state ==
             ProxyParseState::kIncomplete);
  if (header.family == AF_UNSPEC) {
    FUZZ_CHECK(header.source.ss_family == AF_UNSPEC);
  } else {
    FUZZ_CHECK(header.command == ProxyCommand::kProxy);
    FUZZ_CHECK(header.family == AF_INET || header.family == AF_INET6);
    FUZZ_CHECK(header.source.ss_family == header.family);
    FUZZ_CHECK(header.destination.ss_family == header.family);
  }
  return 0;
}
