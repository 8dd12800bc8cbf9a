/// RequestAccess: the policy's view of one visitor request, built once and decided many times.
///
/// A plain request is decided once. An MCP request is decided once per JSON-RPC message, and
/// a filtered tools/prompts/resources list once per entry, with only the mcp.* attributes
/// changing in between; building the context (the tunnel, the connection, the request line,
/// the header table) once and copying its few hundred bytes per decision keeps each of those
/// decisions at the policy's own cost. The context holds views: into the request head (keep
/// the bytes it was parsed from alive and unchanged), into the tunnel and into the strings
/// given to build(). It points at its own header table, so it is neither copied nor moved.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "relay/http/http.h"
#include "relay/policy/context.h"
#include "relay/policy/policy.h"

namespace tg {

struct Tunnel;

/// What the relay knows of the visitor's connection, the same for all its requests.
struct ConnectionFacts {
  const sockaddr_storage* peer = nullptr;  // the source (after a trusted PROXY header)
  std::string_view sni;
  // The verified client certificate; all empty without one.
  std::string_view client_cert_fingerprint;
  std::string_view client_cert_subject;
  policy::StringList client_cert_san;
};

class RequestAccess {
 public:
  RequestAccess() = default;
  RequestAccess(const RequestAccess&) = delete;
  RequestAccess& operator=(const RequestAccess&) = delete;

  /// Fills the context from the request head and what the relay knows of the connection.
  void build(const http::RequestHead& head, const Tunnel& tunnel, const ConnectionFacts& connection,
             std::int64_t unix_time);

  /// The context as built (mcp.* absent), to copy and complete for one message.
  const policy::AccessContext& context() const { return context_; }
  policy::AccessContext& context() { return context_; }

 private:
  std::array<policy::KeyValue, http::kMaxHeaders> headers_;
  policy::AccessContext context_;
};

}  // namespace tg
