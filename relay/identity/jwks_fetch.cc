// fetch_https: a blocking HTTPS GET with one deadline, over relay/net's HTTP client (the same
// client the cluster's etcd calls use), with `Connection: close`: one fetch, one connection.
#include "relay/identity/jwks_fetch.h"

#include "relay/identity/jwks_fetch_internal.h"
#include "relay/net/http_client.h"
#include "tls/tls.h"

namespace tg::identity {
namespace {

// The fetch without the URL in front of its errors.
Result<std::string> get(const HttpsUrl& url, tls::ClientTlsContext& context,
                        const FetchOptions& options) {
  const net::Clock::time_point deadline =
      net::Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  net::HttpClientConnection connection;
  if (Status connected = connection.connect(url.host, url.port, &context, deadline); !connected) {
    return connected.error();
  }
  const std::string request = "GET " + url.target + " HTTP/1.1\r\nHost: " + url.host_header +
                              "\r\nAccept: application/json\r\nConnection: close\r\n"
                              "User-Agent: tunnelgate\r\n\r\n";
  if (Status sent = connection.send(request, deadline); !sent) return sent.error();
  auto head = connection.read_head("GET", deadline);
  if (!head) return head.error();
  if (head->status != 200) {
    std::string error = "HTTP " + std::to_string(head->status);
    if (head->status >= 300 && head->status < 400) error += " (redirects are not followed)";
    return make_error(error);
  }
  const std::string too_large = "larger than " + describe_size(options.max_bytes);
  if (head->has_length && head->content_length > options.max_bytes) return make_error(too_large);
  std::string body;
  if (Status read = connection.read_body(body, options.max_bytes, deadline); !read) {
    return read.error();
  }
  return body;
}

}  // namespace

Result<std::string> fetch_https(std::string_view url, const FetchOptions& options) {
  auto parsed = parse_https_url(url);
  if (!parsed) return parsed.error();
  const std::string where = detail::quote_url(url) + ": ";
  // The context outlives the fetch's session (declared first, destroyed last).
  auto context = tls::ClientTlsContext::create(options.ca_file);
  if (!context) return make_error(where + context.error().message);
  auto body = get(*parsed, **context, options);
  if (!body) return make_error(where + body.error().message);
  return body;
}

}  // namespace tg::identity
