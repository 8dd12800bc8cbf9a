// parse_listen_address: "host:port" as written in the config file, checked before anything
// listens so that a typo is a start-up error with the file and line, not a bind failure later.
#include <arpa/inet.h>

#include <charconv>
#include <string>

#include "relay/config/config.h"

namespace tg {
namespace {

bool is_ipv4(const std::string& host) {
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

// Digits only: from_chars alone would accept "443abc" by stopping early.
bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (value == 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

Error address_error(std::string_view text, std::string_view problem) {
  return make_error("listen address \"" + std::string(text) + "\" " + std::string(problem));
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
  constexpr std::string_view kBadHost =
      "has a bad host: use a numeric IPv4 address, an IPv6 address in brackets "
      "(\"[::1]:443\") or localhost";
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return address_error(text, kBadHost);
    host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) {
      return address_error(text, "has no port: write HOST:PORT, e.g. \"[::]:443\"");
    }
    if (rest.front() != ':') return address_error(text, kBadHost);
    port_text = rest.substr(1);
    if (!is_ipv6(host)) return address_error(text, kBadHost);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return address_error(text, "has no port: write HOST:PORT, e.g. \"0.0.0.0:443\"");
    }
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return address_error(text, "needs brackets around its IPv6 address, e.g. \"[::1]:443\"");
    }
    if (host == "localhost") host = "127.0.0.1";
    if (!is_ipv4(host)) return address_error(text, kBadHost);
  }
  std::uint16_t port = 0;
  if (!parse_port(port_text, port)) return address_error(text, "has a bad port: use 1 to 65535");
  return ListenAddress{std::move(host), port, std::string(text)};
}

socklen_t to_sockaddr(const ListenAddress& address, sockaddr_storage& storage,
                      bool loopback_for_wildcard) {
  storage = {};
  if (address.host.find(':') != std::string::npos) {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(storage);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(address.port);
    const bool wildcard = loopback_for_wildcard && address.host == "::";
    inet_pton(AF_INET6, wildcard ? "::1" : address.host.c_str(), &in6.sin6_addr);
    return sizeof in6;
  }
  auto& in4 = reinterpret_cast<sockaddr_in&>(storage);
  in4.sin_family = AF_INET;
  in4.sin_port = htons(address.port);
  const bool wildcard = loopback_for_wildcard && address.host == "0.0.0.0";
  inet_pton(AF_INET, wildcard ? "127.0.0.1" : address.host.c_str(), &in4.sin_addr);
  return sizeof in4;
}

}  // namespace tg
