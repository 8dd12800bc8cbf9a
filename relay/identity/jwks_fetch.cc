// https_request / fetch_https: one blocking HTTPS exchange with one deadline, over relay/net's
// HTTP client (the same client the cluster's etcd calls use), with `Connection: close`: one
// exchange, one connection.
#include "relay/identity/jwks_fetch.h"

#include "relay/identity/jwks_fetch_internal.h"
#include "relay/net/http_client.h"
#include "tls/tls.h"

namespace tg::identity {
namespace {

// A header line the request would carry: a token name and a value without line breaks, so a
// caller's value can never add a header or end the head.
bool is_safe_header(const std::string& name, const std::string& value) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
    if (!token) return false;
  }
  for (const char c : value) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// The exchange without the URL in front of its errors.
Result<HttpsResponse> exchange(const HttpsUrl& url, const HttpsRequest& request,
                               tls::ClientTlsContext& context, const FetchOptions& options) {
  const net::Clock::time_point deadline =
      net::Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  net::HttpClientConnection connection;
  if (Status connected =
          connection.connect(url.host, url.port, &context, deadline, options.admit_address);
      !connected) {
    return connected.error();
  }
  std::string text =
      request.method + " " + url.target + " HTTP/1.1\r\nHost: " + url.host_header +
      "\r\nAccept: application/json\r\nConnection: close\r\nUser-Agent: tunnelgate\r\n";
  for (const auto& [name, value] : request.headers) {
    text.append(name).append(": ").append(value).append("\r\n");
  }
  if (!request.body.empty() || request.method == "POST") {
    text.append("Content-Type: ").append(request.content_type).append("\r\n");
    text.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  }
  text.append("\r\n").append(request.body);
  if (Status sent = connection.send(text, deadline); !sent) return sent.error();
  auto head = connection.read_head(request.method, deadline);
  if (!head) return head.error();
  if (head->status >= 300 && head->status < 400) {
    return make_error("HTTP " + std::to_string(head->status) + " (redirects are not followed)");
  }
  const std::string too_large = "larger than " + describe_size(options.max_bytes);
  if (head->has_length && head->content_length > options.max_bytes) return make_error(too_large);
  HttpsResponse response;
  response.status = head->status;
  if (Status read = connection.read_body(response.body, options.max_bytes, deadline); !read) {
    return read.error();
  }
  return response;
}

}  // namespace

Result<HttpsResponse> https_request(std::string_view url, const HttpsRequest& request,
                                    const FetchOptions& options) {
  auto parsed = parse_https_url(url);
  if (!parsed) return parsed.error();
  const std::string where = detail::quote_url(url) + ": ";
  if (request.method != "GET" && request.method != "POST") {
    return make_error(where + "method " + request.method + " not supported");
  }
  if (!is_safe_header("Content-Type", request.content_type)) {
    return make_error(where + "invalid request header");
  }
  for (const auto& [name, value] : request.headers) {
    if (!is_safe_header(name, value)) return make_error(where + "invalid request header");
  }
  // The context outlives the exchange's session (declared first, destroyed last).
  auto context = tls::ClientTlsContext::create(options.ca_file);
  if (!context) return make_error(where + context.error().message);
  auto response = exchange(*parsed, request, **context, options);
  if (!response) return make_error(where + response.error().message);
  return response;
}

Result<std::string> fetch_https(std::string_view url, const FetchOptions& options) {
  auto response = https_request(url, HttpsRequest{}, options);
  if (!response) return response.error();
  if (response->status != 200) {
    return make_error(detail::quote_url(url) + ": HTTP " + std::to_string(response->status));
  }
  return std::move(response->body);
}

}  // namespace tg::identity
