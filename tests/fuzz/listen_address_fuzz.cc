// Fuzzes parse_listen_address, the "host:port" / "[v6]:port" reader behind every listen entry
// of the config. Checked beyond memory safety: an accepted address has a port from 1 to 65535
// and a numeric host that inet_pton accepted, keeps the text as written for messages, and
// reads back to the same host and port when written out again in the canonical form.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/config/config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tg::fuzz::as_text(data, size);
  const tg::Result<tg::ListenAddress> result = tg::parse_listen_address(text);
  if (!result.ok()) {
    FUZZ_CHECK(!result.error().message.empty());
    return 0;
  }
  const tg::ListenAddress& address = *result;
  FUZZ_CHECK(address.port != 0);
  FUZZ_CHECK(!address.host.empty());
  FUZZ_CHECK(address.text == text);

  const bool ipv6 = address.host.find(':') != std::string::npos;
  const std::string canonical =
      (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
  const tg::Result<tg::ListenAddress> again = tg::parse_listen_address(canonical);
  FUZZ_CHECK(again.ok() && again->host == address.host && again->port == address.port);
  return 0;
}
