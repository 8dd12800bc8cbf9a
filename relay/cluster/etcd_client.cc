// EtcdClient: each call is a POST to the gateway on a kept-alive connection; members are
// tried in turn within one deadline (see the header for which calls are retried).
#include "relay/cluster/etcd_client.h"

#include "tls/tls.h"

namespace tg::cluster {
namespace {

constexpr std::size_t kMaxAnswerBytes = 16 << 20;  // a range of every name is the largest

std::string ms_text(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

}  // namespace

Result<std::shared_ptr<const EtcdTransport>> EtcdTransport::create(
    const EtcdClientOptions& options) {
  if (options.endpoints.empty()) return make_error("etcd: no endpoints");
  auto transport = std::make_shared<EtcdTransport>();
  transport->endpoints_ = options.endpoints;
  transport->deadline_ = options.deadline;
  bool any_tls = false;
  for (const EtcdEndpoint& endpoint : options.endpoints) any_tls = any_tls || endpoint.tls;
  if (any_tls) {
    auto context =
        tls::ClientTlsContext::create(options.ca_file, options.cert_file, options.key_file);
    if (!context) return make_error("etcd: " + context.error().message);
    transport->tls_ = std::move(*context);
  }
  return std::shared_ptr<const EtcdTransport>(std::move(transport));
}

std::string EtcdTransport::post(const EtcdEndpoint& endpoint, std::string_view path,
                                std::string_view body) {
  std::string request = "POST ";
  request += path;
  request +=
      " HTTP/1.1\r\nHost: " + endpoint.host_header +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n";
  request += body;
  return request;
}

EtcdClient::EtcdClient(std::shared_ptr<const EtcdTransport> transport)
    : transport_(std::move(transport)) {
  connections_.resize(transport_->endpoints().size());
}

Result<std::unique_ptr<EtcdClient>> EtcdClient::create(const EtcdClientOptions& options) {
  auto transport = EtcdTransport::create(options);
  if (!transport) return transport.error();
  return std::make_unique<EtcdClient>(std::move(*transport));
}

const std::string& EtcdClient::current_endpoint() const {
  return transport_->endpoints()[preferred_].text;
}

Result<std::string> EtcdClient::call(std::string_view path, std::string_view body,
                                     bool idempotent) {
  ++stats_.calls;
  auto answer = attempt_all(path, body, idempotent);
  if (!answer) {
    ++stats_.failed;
    if (last_failure_ == CallFailure::kMaybeApplied) ++stats_.maybe_applied;
  }
  return answer;
}

Result<std::string> EtcdClient::attempt_all(std::string_view path, std::string_view body,
                                            bool idempotent) {
  const auto& endpoints = transport_->endpoints();
  const net::Clock::time_point deadline = net::Clock::now() + transport_->deadline();
  std::string errors;
  last_failure_ = CallFailure::kNotApplied;
  for (std::size_t tried = 0; tried < endpoints.size(); ++tried) {
    const std::size_t index = (preferred_ + tried) % endpoints.size();
    const EtcdEndpoint& endpoint = endpoints[index];
    const net::Clock::time_point now = net::Clock::now();
    if (now >= deadline) break;
    // An idempotent call leaves time for the members after this one; a txn, once sent, has
    // no second chance, so it gets all that is left.
    const std::size_t left = endpoints.size() - tried;
    const net::Clock::time_point attempt_deadline =
        idempotent && left > 1 ? now + (deadline - now) / static_cast<long>(left) : deadline;
    auto fail = [&](const std::string& why) {
      ++stats_.failovers;
      if (!errors.empty()) errors += "; ";
      errors += endpoint.host_header + ": " + why;
      connections_[index].reset();
    };
    std::unique_ptr<net::HttpClientConnection>& connection = connections_[index];
    if (connection == nullptr || !connection->reusable()) {
      connection = std::make_unique<net::HttpClientConnection>();
      Status connected =
          connection->connect(endpoint.host, endpoint.port,
                              endpoint.tls ? transport_->tls() : nullptr, attempt_deadline);
      if (!connected) {
        fail(connected.error().message);
        continue;
      }
    }
    Status sent = connection->send(EtcdTransport::post(endpoint, path, body), attempt_deadline);
    auto head = sent ? connection->read_head("POST", attempt_deadline)
                     : Result<net::HttpAnswerHead>(sent.error());
    std::string answer;
    Status read = head ? connection->read_body(answer, kMaxAnswerBytes, attempt_deadline)
                       : Status(head.error());
    if (!read) {
      fail(read.error().message);
      if (!idempotent) {
        last_failure_ = CallFailure::kMaybeApplied;
        return make_error("etcd: " + errors + " (the request may have been applied)");
      }
      continue;
    }
    if (!connection->reusable()) connection.reset();
    if (head->status == 200) {
      preferred_ = index;
      return answer;
    }
    std::string message = parse_error_message(answer);
    if (message.empty()) message = "HTTP " + std::to_string(head->status);
    // 5xx: this member cannot serve now (no leader, timed out, shutting down): the next may.
    // A txn that timed out inside etcd may still be applied, so it stops here.
    if (head->status >= 500) {
      fail(message);
      if (!idempotent) {
        last_failure_ = CallFailure::kMaybeApplied;
        return make_error("etcd: " + errors + " (the request may have been applied)");
      }
      continue;
    }
    preferred_ = index;
    return make_error("etcd: " + message);
  }
  preferred_ = (preferred_ + 1) % endpoints.size();
  return make_error("etcd: no endpoint answered within " + ms_text(transport_->deadline()) + " (" +
                    errors + ")");
}

Result<LeaseAnswer> EtcdClient::lease_grant(std::int64_t ttl_seconds) {
  // A retried grant may leave an unused lease behind; it expires on its own after its TTL.
  auto body = call("/v3/lease/grant", encode_lease_grant(ttl_seconds), true);
  if (!body) return body.error();
  return parse_lease_grant(*body);
}

Result<LeaseAnswer> EtcdClient::lease_keepalive(std::int64_t lease) {
  auto body = call("/v3/lease/keepalive", encode_lease_id(lease), true);
  if (!body) return body.error();
  // The answer is a stream of one line (the request stream ended after one message).
  std::string_view line = *body;
  if (const std::size_t end = line.find('\n'); end != std::string_view::npos) {
    line = line.substr(0, end);
  }
  return parse_lease_keepalive(line);
}

Status EtcdClient::lease_revoke(std::int64_t lease) {
  auto body = call("/v3/lease/revoke", encode_lease_id(lease), true);
  if (!body) {
    // Revoking a lease that is already gone is what was wanted.
    if (body.error().message.find("requested lease not found") != std::string::npos) return Ok{};
    return body.error();
  }
  auto revision = parse_header_revision(*body);
  if (!revision) return revision.error();
  return Ok{};
}

Result<TxnAnswer> EtcdClient::txn(const TxnRequest& txn) {
  auto body = call("/v3/kv/txn", encode_txn(txn), false);
  if (!body) return body.error();
  return parse_txn(*body);
}

Result<RangeAnswer> EtcdClient::range(std::string_view key, std::string_view range_end) {
  auto body = call("/v3/kv/range", encode_range(key, range_end), true);
  if (!body) return body.error();
  return parse_range(*body);
}

Result<DeleteAnswer> EtcdClient::delete_range(std::string_view key, std::string_view range_end) {
  auto body = call("/v3/kv/deleterange", encode_range(key, range_end), true);
  if (!body) return body.error();
  return parse_delete(*body);
}

Result<std::int64_t> EtcdClient::put(std::string_view key, std::string_view value,
                                     std::int64_t lease) {
  auto body = call("/v3/kv/put", encode_put(key, value, lease), true);
  if (!body) return body.error();
  return parse_header_revision(*body);
}

}  // namespace tg::cluster
