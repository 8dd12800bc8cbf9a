// parse_etcd_endpoint: the strict reading of an etcd client URL.
#include "relay/cluster/etcd_endpoint.h"

#include <arpa/inet.h>

#include <charconv>

namespace tg::cluster {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

Error invalid(std::string_view url, std::string_view why) {
  std::string quoted;
  for (char c : url.substr(0, 200)) quoted += c >= 0x20 && c < 0x7f ? c : '?';
  return make_error("\"" + quoted + "\" is not an etcd endpoint: " + std::string(why));
}

}  // namespace

Result<EtcdEndpoint> parse_etcd_endpoint(std::string_view url) {
  EtcdEndpoint out;
  out.text = std::string(url);
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return invalid(url, "it must start with http:// or https://");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return invalid(url, "only scheme, host and port are allowed");
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return invalid(url, "unclosed [");
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return invalid(url, "junk after ]");
    if (!after.empty()) port = after.substr(1);
    unsigned char address[16];
    if (inet_pton(AF_INET6, std::string(host).c_str(), address) != 1) {
      return invalid(url, "not an IPv6 address between [ ]");
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
  }
  if (host.empty()) return invalid(url, "no host");
  out.host.reserve(host.size());
  for (char c : host) {
    const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    if (!rest.starts_with('[') && !is_host_char(lower)) return invalid(url, "bad host");
    out.host += lower;
  }
  if (!port.empty() || (rest.find(':') != std::string_view::npos && !rest.starts_with('['))) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return invalid(url, "bad port");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  const std::string bracketed = rest.starts_with('[') ? "[" + out.host + "]" : out.host;
  out.host_header = bracketed + ":" + std::to_string(out.port);
  return out;
}

}  // namespace tg::cluster
