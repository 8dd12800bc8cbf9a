#include "relay/proxy/request_access.h"

#include "relay/worker/worker.h"

namespace tg {

void RequestAccess::build(const http::RequestHead& head, const Tunnel& tunnel,
                          const ConnectionFacts& connection, std::int64_t unix_time) {
  for (std::size_t i = 0; i < head.header_count; ++i) {
    headers_[i] = {head.headers[i].name, head.headers[i].value};
  }
  context_ = policy::AccessContext{};
  context_.tunnel_name = tunnel.name;
  context_.tunnel_class = tunnel.actor_class;
  context_.tunnel_owner = tunnel.session->key_fingerprint();
  context_.source_ip =
      policy::IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(connection.peer));
  context_.tls_sni = connection.sni;
  context_.client_cert_fingerprint = connection.client_cert_fingerprint;
  context_.client_cert_subject = connection.client_cert_subject;
  context_.client_cert_san = connection.client_cert_san;
  context_.http_method = head.method;
  context_.http_path = head.target.substr(0, head.target.find('?'));
  context_.http_raw_target = head.raw_target;
  context_.http_host = head.host;
  context_.http_headers = policy::KeyLookup::headers({headers_.data(), head.header_count});
  context_.unix_time = unix_time;
}

}  // namespace tg
