/// Where each attribute's value sits in the two contexts: one switch per value type.
///
/// Internal to the evaluator. Attributes a context does not carry read as absent; the
/// checker already refuses them at load, so that is a second line, not the first.
#pragma once

#include <string_view>

#include "relay/policy/attributes.h"
#include "relay/policy/context.h"

namespace tg::policy {

inline std::string_view read_string(const AccessContext& c, Attr attr) {
  switch (attr) {
    case Attr::kTunnelName:
      return c.tunnel_name;
    case Attr::kTunnelClass:
      return to_string(c.tunnel_class);
    case Attr::kTunnelOwner:
      return c.tunnel_owner;
    case Attr::kTlsSni:
      return c.tls_sni;
    case Attr::kTlsClientCertFingerprint:
      return c.client_cert_fingerprint;
    case Attr::kTlsClientCertSubject:
      return c.client_cert_subject;
    case Attr::kHttpMethod:
      return c.http_method;
    case Attr::kHttpPath:
      return c.http_path;
    case Attr::kHttpHost:
      return c.http_host;
    case Attr::kHttpRawTarget:
      return c.http_raw_target;
    case Attr::kJwtIss:
      return c.jwt_iss;
    case Attr::kJwtSub:
      return c.jwt_sub;
    case Attr::kJwtEmail:
      return c.jwt_email;
    case Attr::kApiKeyName:
      return c.api_key_name;
    case Attr::kMcpMethod:
      return c.mcp_method;
    case Attr::kMcpTool:
      return c.mcp_tool;
    case Attr::kMcpResource:
      return c.mcp_resource;
    case Attr::kMcpPrompt:
      return c.mcp_prompt;
    case Attr::kMcpProtocolVersion:
      return c.mcp_protocol_version;
    case Attr::kMcpSession:
      return c.mcp_session;
    case Attr::kMcpTask:
      return c.mcp_task;
    default:
      return {};
  }
}

inline std::string_view read_string(const ExposeContext& c, Attr attr) {
  switch (attr) {
    case Attr::kSshKey:
      return c.ssh_key;
    case Attr::kSshUser:
      return c.ssh_user;
    case Attr::kTunnelName:
      return c.name;
    default:
      return {};
  }
}

inline StringList read_list(const AccessContext& c, Attr attr) {
  switch (attr) {
    case Attr::kTlsClientCertSan:
      return c.client_cert_san;
    case Attr::kJwtAud:
      return c.jwt_aud;
    case Attr::kJwtGroups:
      return c.jwt_groups;
    case Attr::kJwtScope:
      return c.jwt_scope;
    default:
      return {};
  }
}

inline StringList read_list(const ExposeContext&, Attr) {
  return {};
}

inline const IpAddress* read_ip(const AccessContext& c, Attr attr) {
  return attr == Attr::kSourceIp ? &c.source_ip : nullptr;
}

inline const IpAddress* read_ip(const ExposeContext& c, Attr attr) {
  return attr == Attr::kSshSourceIp ? &c.ssh_source_ip : nullptr;
}

inline Lookup read_keyed(const AccessContext& c, Attr attr, std::string_view key) {
  switch (attr) {
    case Attr::kHttpHeader:
      return c.http_headers(key);
    case Attr::kJwtClaims:
      return c.jwt_claims(key);
    case Attr::kMcpParam:
      return c.mcp_params(key);
    default:
      return Lookup::absent();
  }
}

inline Lookup read_keyed(const ExposeContext&, Attr, std::string_view) {
  return Lookup::absent();
}

}  // namespace tg::policy
