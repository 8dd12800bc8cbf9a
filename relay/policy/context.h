/// What the relay tells the policy about one exposure or one request.
///
/// Plain structs of views: the relay fills them from its own buffers (the parsed request
/// head, the verified token, the TLS session) without copying or allocating, and they need
/// only outlive the decide call. Every field has an "absent" form: an empty string, an empty
/// list, no address, kUnknownTime. See policy.h for what absent means to an expression.
///
/// Lists (`jwt.groups`, `jwt.scope`, …) are a `StringList`: a span of views, or one
/// space-separated string walked in place (how an OAuth `scope` claim arrives). Keyed
/// attributes (`http.header["…"]`, `jwt.claims["…"]`) are a `KeyLookup`: a function pointer
/// and an object, so the relay can search its own header array or token without building a
/// map. A lookup can also answer "unusable" (a header sent twice with different values, a
/// claim that is an object): expressions that depend on it cannot be evaluated, which
/// denies (see policy.h). For example, over the relay's parsed request head:
///
///   Lookup find_header(const http::RequestHead& head, std::string_view name) noexcept;
///   context.http_headers = KeyLookup::bind<&find_header>(head);
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "relay/policy/actor_class.h"
#include "relay/policy/ip_address.h"

namespace tg::policy {

/// `unix_time` when the relay did not say: time.* attributes then cannot be evaluated.
inline constexpr std::int64_t kUnknownTime = std::numeric_limits<std::int64_t>::min();

/// A list of strings: a span of views, or a space-separated string split as it is read.
class StringList {
 public:
  constexpr StringList() = default;
  constexpr StringList(std::span<const std::string_view> items)  // NOLINT: views convert
      : items_(items) {}
  /// Any contiguous container of views (an array, a vector); it must outlive the decision.
  template <typename Range>
  requires std::convertible_to<const Range&, std::span<const std::string_view>>
  constexpr StringList(const Range& items)  // NOLINT: views convert
      : items_(std::span<const std::string_view>(items)) {}
  static constexpr StringList space_separated(std::string_view text) {
    StringList list;
    list.spaced_ = text;
    return list;
  }

  /// True when the list has no (non-empty) element.
  bool empty() const {
    return !any([](std::string_view) { return true; });
  }
  bool contains(std::string_view value) const {
    return any([value](std::string_view item) { return item == value; });
  }
  /// Calls `predicate` on each element until it returns true; says whether one did.
  /// Empty elements are skipped.
  template <typename Predicate>
  bool any(Predicate&& predicate) const {
    for (std::string_view item : items_) {
      if (!item.empty() && predicate(item)) return true;
    }
    std::size_t start = 0;
    while (start < spaced_.size()) {
      std::size_t end = spaced_.find(' ', start);
      if (end == std::string_view::npos) end = spaced_.size();
      if (end > start && predicate(spaced_.substr(start, end - start))) return true;
      start = end + 1;
    }
    return false;
  }

 private:
  std::span<const std::string_view> items_;
  std::string_view spaced_;
};

/// The answer of a KeyLookup.
struct Lookup {
  enum class State : std::uint8_t {
    kAbsent,    // no such key (an empty value counts as absent too)
    kFound,     // `value` holds it
    kUnusable,  // the key is there but is not one trustworthy string
  };
  State state = State::kAbsent;
  std::string_view value;

  static constexpr Lookup absent() { return {}; }
  static constexpr Lookup found(std::string_view value) { return {State::kFound, value}; }
  static constexpr Lookup unusable() { return {State::kUnusable, {}}; }
};

struct KeyValue {
  std::string_view key;
  std::string_view value;
};

/// A keyed attribute's values: a function pointer over the caller's object. Default: empty.
class KeyLookup {
 public:
  /// Must not throw (the evaluator is noexcept).
  using Function = Lookup (*)(const void* object, std::size_t size, std::string_view key) noexcept;

  constexpr KeyLookup() = default;
  constexpr KeyLookup(const void* object, std::size_t size, Function function)
      : object_(object), size_(size), function_(function) {}

  /// Over the caller's `object` with its function `Lookup F(const T&, std::string_view key)`:
  ///   KeyLookup::bind<&find_claim>(token)
  template <auto F, typename T>
  static KeyLookup bind(const T& object) {
    return KeyLookup(&object, 0, [](const void* o, std::size_t, std::string_view key) noexcept {
      return F(*static_cast<const T*>(o), key);
    });
  }

  /// HTTP headers as name/value pairs: names compared ASCII case-insensitively (the policy
  /// asks with lower-case names). A name sent more than once with different values is
  /// unusable, so a policy cannot be steered by which copy a reader happens to pick.
  static KeyLookup headers(std::span<const KeyValue> pairs);
  /// Name/value pairs compared exactly (e.g. a token's string claims); repeats with different
  /// values are unusable.
  static KeyLookup exact(std::span<const KeyValue> pairs);

  Lookup operator()(std::string_view key) const {
    return function_ == nullptr ? Lookup::absent() : function_(object_, size_, key);
  }

 private:
  const void* object_ = nullptr;
  std::size_t size_ = 0;
  Function function_ = nullptr;
};

/// A publisher asking to expose a name (one `tcpip-forward`).
struct ExposeContext {
  std::string_view name;                           // tunnel.name: the name asked for
  ActorClass requested_class = ActorClass::kNone;  // `class=…` on the ssh command, if any
  std::string_view ssh_key;                        // ssh.key: "SHA256:…" fingerprint
  std::string_view ssh_user;                       // ssh.user
  IpAddress ssh_source_ip;                         // ssh.source.ip
  std::int64_t unix_time = kUnknownTime;           // time.hour, time.weekday (UTC)
};

/// A visitor's request on a tunnel (one per request, not per connection).
struct AccessContext {
  // The tunnel.
  std::string_view tunnel_name;                 // tunnel.name
  ActorClass tunnel_class = ActorClass::kNone;  // tunnel.class
  std::string_view tunnel_owner;                // tunnel.owner: the publisher's key fingerprint

  // The visitor's connection.
  IpAddress source_ip;                       // source.ip (after trusted PROXY protocol)
  std::string_view tls_sni;                  // tls.sni
  std::string_view client_cert_fingerprint;  // tls.client_cert.fingerprint (verified certs only)
  std::string_view client_cert_subject;      // tls.client_cert.subject
  StringList client_cert_san;                // tls.client_cert.san

  // The request.
  std::string_view http_method;      // http.method, as sent ("GET")
  std::string_view http_path;        // http.path: normalised (http/path_normalize.h), no query
  std::string_view http_raw_target;  // http.raw_target: the request-target as sent, query too
  std::string_view http_host;        // http.host, normalised (lower case, no port)
  KeyLookup http_headers;            // http.header["name"]

  // The verified identity (empty when the request carries none).
  std::string_view jwt_iss;       // jwt.iss
  std::string_view jwt_sub;       // jwt.sub
  std::string_view jwt_email;     // jwt.email
  StringList jwt_aud;             // jwt.aud
  StringList jwt_groups;          // jwt.groups
  StringList jwt_scope;           // jwt.scope (usually StringList::space_separated)
  KeyLookup jwt_claims;           // jwt.claims["name"]: string claims (numbers as their text)
  std::string_view api_key_name;  // api_key.name

  // MCP, filled by the MCP inspector for JSON-RPC requests.
  std::string_view mcp_method;            // mcp.method ("tools/call")
  std::string_view mcp_tool;              // mcp.tool
  std::string_view mcp_resource;          // mcp.resource
  std::string_view mcp_prompt;            // mcp.prompt
  std::string_view mcp_protocol_version;  // mcp.protocol_version
  std::string_view mcp_session;           // mcp.session
  std::string_view mcp_task;              // mcp.task: the task a task method names
  KeyLookup mcp_params;  // mcp.param["name"]: a tools/call's argument declared x-mcp-header

  std::int64_t unix_time = kUnknownTime;  // time.hour, time.weekday (UTC)
};

}  // namespace tg::policy
