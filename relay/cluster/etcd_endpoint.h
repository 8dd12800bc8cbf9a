/// An etcd member's client URL, as `[cluster] etcd_endpoints` lists it:
/// `http://host:port` or `https://host:port` (no path, no userinfo); `host` a DNS name or an
/// IP literal (`[::1]`). Pure parsing, errors as values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/base/result.h"

namespace tg::cluster {

struct EtcdEndpoint {
  bool tls = false;
  std::string host;  // lower-cased; an IPv6 literal without brackets
  std::uint16_t port = 2379;
  std::string host_header;  // host[:port] as a Host header carries it
  std::string text;         // as written, for messages
};

Result<EtcdEndpoint> parse_etcd_endpoint(std::string_view url);

}  // namespace tg::cluster
