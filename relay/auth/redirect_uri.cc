// Redirect URI registration rules and the loopback-port exception (RFC 8252 §7.1, §7.3).
#include "relay/auth/redirect_uri.h"

#include <charconv>
#include <optional>
#include <string>

namespace tg::auth {
namespace {

struct UriParts {
  std::string_view scheme;
  bool has_authority = false;
  std::string_view host;  // brackets kept for IPv6 literals
  std::string_view port;  // digits, possibly empty
  std::string_view rest;  // path and query
};

bool is_scheme_char(char c, bool first) {
  if (c >= 'a' && c <= 'z') return true;
  if (first) return false;
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

bool valid_port(std::string_view port) {
  if (port.empty()) return true;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc() && end == port.data() + port.size() && value >= 1 && value <= 65535 &&
         port.front() != '0';
}

// Splits a URI that is already known to be printable ASCII without a fragment.
std::optional<UriParts> split(std::string_view uri) {
  UriParts parts;
  const std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  parts.scheme = uri.substr(0, colon);
  for (std::size_t i = 0; i < parts.scheme.size(); ++i) {
    if (!is_scheme_char(parts.scheme[i], i == 0)) return std::nullopt;
  }
  std::string_view after = uri.substr(colon + 1);
  if (after.substr(0, 2) != "//") {
    parts.rest = after;
    return parts;
  }
  parts.has_authority = true;
  after.remove_prefix(2);
  const std::size_t authority_end = after.find_first_of("/?");
  const std::string_view authority = after.substr(0, authority_end);
  parts.rest =
      authority_end == std::string_view::npos ? std::string_view{} : after.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    parts.host = authority.substr(0, close + 1);
    const std::string_view tail = authority.substr(close + 1);
    if (!tail.empty() && tail.front() != ':') return std::nullopt;
    if (!tail.empty()) parts.port = tail.substr(1);
  } else {
    const std::size_t port_colon = authority.find(':');
    parts.host = authority.substr(0, port_colon);
    if (port_colon != std::string_view::npos) parts.port = authority.substr(port_colon + 1);
    for (char c : parts.host) {
      if (!is_host_char(c)) return std::nullopt;
    }
  }
  if (parts.host.empty() || !valid_port(parts.port)) return std::nullopt;
  return parts;
}

bool is_loopback_host(std::string_view host) {
  return host == "127.0.0.1" || host == "[::1]" || host == "localhost";
}

Error refused(std::string_view why) {
  return make_error("redirect_uri refused: " + std::string(why));
}

}  // namespace

Result<RedirectUriKind> check_redirect_uri(std::string_view uri) {
  if (uri.empty()) return refused("empty");
  if (uri.size() > kMaxRedirectUriBytes) return refused("longer than 2048 bytes");
  for (char c : uri) {
    if (c <= 0x20 || c >= 0x7f) return refused("not printable ASCII");
  }
  if (uri.find('#') != std::string_view::npos) return refused("a fragment is not allowed");
  const std::optional<UriParts> parts = split(uri);
  if (!parts) return refused("not an absolute URI with a valid host and port");
  if (parts->scheme == "https") {
    if (!parts->has_authority) return refused("https:// needs a host");
    return RedirectUriKind::kHttps;
  }
  if (parts->scheme == "http") {
    if (!parts->has_authority || !is_loopback_host(parts->host)) {
      return refused("http:// only to a loopback host (127.0.0.1, [::1], localhost)");
    }
    return RedirectUriKind::kLoopbackHttp;
  }
  if (parts->scheme.find('.') == std::string_view::npos) {
    return refused(
        "a private-use scheme must be a reverse domain name (com.example.app:/callback)");
  }
  return RedirectUriKind::kPrivateUseScheme;
}

bool redirect_uri_matches(std::string_view registered, std::string_view presented) {
  if (registered == presented) return true;
  const Result<RedirectUriKind> kind = check_redirect_uri(registered);
  if (!kind || *kind != RedirectUriKind::kLoopbackHttp || !check_redirect_uri(presented)) {
    return false;
  }
  const std::optional<UriParts> a = split(registered), b = split(presented);
  return a && b && b->scheme == "http" && a->host == b->host && a->rest == b->rest;
}

}  // namespace tg::auth
