/// One blocking HTTPS request, for the control path only: fetching a JWKS document, and the
/// sign-in's calls to an OpenID provider (discovery, keys, the code exchange).
///
/// `fetch_https` is what a control thread calls when a policy names a `jwks = "https://…"`
/// issuer and, in the background, every `jwks_refresh_seconds` (jwks_source.h keeps the
/// documents); `https_request` is the same exchange with a method, headers and a body, which
/// answers any final status with its body (an OAuth error is a 400 whose JSON says why). Each
/// blocks its thread for up to `timeout_ms` (name resolution aside: getaddrinfo
/// has no deadline) and must never run on a worker's loop.
///
/// What it does, and refuses:
///  - the URL is `https://host[:port][/path][?query]`: no other scheme, no userinfo, no
///    fragment, no spaces or control bytes; `host` is a DNS name or an IP literal (`[::1]`);
///  - every address getaddrinfo gives is tried in turn, each connect bounded by the deadline;
///  - TLS 1.2 or 1.3 (tls::ClientTlsContext): the chain must lead to a certificate in
///    `ca_file` and the leaf must name `host`; SNI is sent for DNS names;
///  - `GET` (or `POST` with a Content-Type and Content-Length) over HTTP/1.1 with
///    `Accept: application/json` and `Connection: close`; header values with line breaks are
///    refused before anything is sent; the head is read by relay/http's strict response
///    parser; a 3xx is an error saying redirects are not followed, 1xx interim heads are
///    skipped; `fetch_https` accepts only `200`;
///  - the body is framed by Content-Length, chunked coding or the end of the connection, and
///    is refused past `max_bytes`;
///  - the whole exchange ends by `timeout_ms`.
///
/// Errors are values, one line each, led by the URL (printable ASCII only, cut at 200
/// characters): "https://idp/keys: connection refused", "…: certificate not trusted",
/// "…: certificate not valid for idp", "…: HTTP 404", "…: HTTP 302 (redirects are not
/// followed)", "…: larger than 1 MiB", "…: timed out". Nothing throws; sockets and TLS
/// objects are released on every path.
///
/// Costs: a TCP and TLS handshake per fetch (no connection is kept; relay/net/http_client.h
/// does the HTTP and TLS), and loading the CA file
/// (about 10 ms for the system bundle's ~150 certificates); fine every few minutes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/base/result.h"
#include "relay/net/http_client.h"
#include "relay/policy/identity.h"

namespace tg::identity {

struct FetchOptions {
  std::string ca_file = policy::kSystemCaBundle;  // PEM certificates trusted for the server
  std::size_t max_bytes = 1 << 20;                // largest body accepted
  int timeout_ms = 5000;                          // the whole fetch, connect to last byte
  net::AddressCheck admit_address;  // when set: which addresses the host may resolve to
};

/// The parts of an https:// URL that a fetch needs.
struct HttpsUrl {
  std::string host;  // lower-cased; an IPv6 literal without its brackets
  std::uint16_t port = 443;
  std::string host_header;  // as the Host header carries it: brackets, ":port" unless 443
  std::string target;       // path and query, "/" when the URL has no path
};

/// What `https_request` sends beyond the URL.
struct HttpsRequest {
  std::string method = "GET";  // GET or POST
  std::string content_type;    // POST: the body's type
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
};

struct HttpsResponse {
  int status = 0;  // final, never 1xx or 3xx
  std::string body;
};

/// Parses `url` strictly (see above); errors read "https://…: invalid URL: <why>".
Result<HttpsUrl> parse_https_url(std::string_view url);

/// Sends `request` to `url` and returns the final answer whatever its status (see above).
Result<HttpsResponse> https_request(std::string_view url, const HttpsRequest& request,
                                    const FetchOptions& options = {});

/// GETs `url` and returns its body when the answer is 200 (see above for the rest).
Result<std::string> fetch_https(std::string_view url, const FetchOptions& options = {});

/// "1 MiB", "64 KiB" or "1000 bytes": sizes as the errors quote them.
std::string describe_size(std::size_t bytes);

}  // namespace tg::identity
