/// One request for the relay's own sign-in endpoints, and its answer: what a worker hands a
/// sign-in thread (auth_service.h) and gets back, through the mailboxes.
///
/// The worker has already parsed and checked the request (TLS, HTTP framing, Host = SNI, path
/// normalised) and read its body whole; it copies out only what the endpoints read. The answer
/// is a complete HTTP/1.1 response the worker writes as it is.
#pragma once

#include <cstdint>
#include <string>

namespace tg::auth {

struct Request {
  bool auth_host = false;  // the auth host itself; false: a tunnel's reserved path prefix
  std::string host;        // the Host, lower case, without port ("notes.relay.example")
  std::string origin;      // scheme, host and port as the public sees them ("https://…")
  std::string method;      // "GET", "POST", …
  std::string target;      // path and query, normalised
  std::string cookie;      // the Cookie header(s), joined with "; "
  std::string authorization;
  std::string content_type;
  std::string accept;
  std::string origin_header;   // the Origin request header ("" when absent)
  std::string sec_fetch_site;  // "same-origin", "cross-site", … ("" when absent)
  std::string body;
  std::string peer_ip;
};

struct Answer {
  std::string response;  // status line, header fields and body
  int status = 0;
  bool close = false;  // the connection ends after this answer
};

struct Exchange {
  Request request;
  Answer answer;
  std::uint64_t connection = 0;  // the asking worker's handle on the visitor connection
  unsigned worker = 0;           // the asking worker
};

/// The path prefix every tunnel reserves for the relay (hand-off, sign-out): never forwarded.
inline constexpr const char* kReservedPrefix = "/.tunnelgate/";

}  // namespace tg::auth
