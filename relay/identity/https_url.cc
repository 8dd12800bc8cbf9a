// parse_https_url: the strict reading of a JWKS URL, and how errors quote it.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "relay/identity/jwks_fetch.h"
#include "relay/identity/jwks_fetch_internal.h"
#include "relay/net/http_client.h"

namespace tg::identity {
namespace {

constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::string_view kScheme = "https://";

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

Error invalid(std::string_view url, std::string_view why) {
  return make_error(detail::quote_url(url) + ": invalid URL: " + std::string(why));
}

}  // namespace

namespace detail {

std::string quote_url(std::string_view url) {
  constexpr std::size_t kMaxQuoted = 200;
  std::string out;
  for (char c : url.substr(0, kMaxQuoted)) out += c > 0x20 && c < 0x7f ? c : '?';
  if (url.size() > kMaxQuoted) out += "...";
  return out;
}

}  // namespace detail

Result<HttpsUrl> parse_https_url(std::string_view url) {
  if (url.size() > kMaxUrlBytes) return invalid(url, "longer than 2048 characters");
  for (char c : url) {
    if (c <= 0x20 || c >= 0x7f) return invalid(url, "spaces, control or non-ASCII bytes");
  }
  bool https = url.size() >= kScheme.size();
  for (std::size_t i = 0; https && i < kScheme.size(); ++i) https = lower(url[i]) == kScheme[i];
  if (!https) return invalid(url, "not an https:// URL");
  if (url.find('#') != std::string_view::npos) return invalid(url, "a fragment (#) is not allowed");

  const std::string_view rest = url.substr(kScheme.size());
  const std::size_t authority_end = std::min(rest.find('/'), rest.find('?'));
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return invalid(url, "user info (…@) is not allowed");
  }

  HttpsUrl out;
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid(url, "bad host");
    out.host.assign(authority.substr(1, close - 1));
    unsigned char address[16];
    if (inet_pton(AF_INET6, out.host.c_str(), address) != 1) return invalid(url, "bad host");
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return invalid(url, "bad host");
    has_port = !after.empty();
    if (has_port) port_text = after.substr(1);
    out.host_header = "[" + out.host + "]";
  } else {
    const std::size_t colon = authority.find(':');
    has_port = colon != std::string_view::npos;
    if (has_port) port_text = authority.substr(colon + 1);
    for (char c : authority.substr(0, colon)) out.host += lower(c);
    if (out.host.empty()) return invalid(url, "no host");
    for (char c : out.host) {
      if (!is_host_char(c)) return invalid(url, "bad host");
    }
    out.host_header = out.host;
  }
  if (has_port) {
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || port_text.size() > 5 || ec != std::errc() ||
        end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return invalid(url, "bad port");
    }
    out.port = static_cast<std::uint16_t>(port);
    if (out.port != 443) out.host_header += ":" + std::to_string(out.port);
  }
  out.target = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (!out.target.starts_with('/')) out.target.insert(0, "/");
  return out;
}

std::string describe_size(std::size_t bytes) {
  return net::HttpClientConnection::describe_size(bytes);
}

}  // namespace tg::identity
