/// A client of etcd v3's JSON gateway for the relay's control threads: blocking calls, each
/// bounded by the relay's own deadline, over kept-alive HTTP/1.1 connections (TLS with client
/// certificates when the endpoints are https://), failing over across the cluster's members.
///
/// Use it from one control thread (the cluster thread), never from a worker's loop: every call
/// blocks until etcd answers or the deadline (`[cluster] request_deadline_ms`, about 1 s)
/// passes. One `EtcdClient` keeps one connection per endpoint, opened on first use and kept
/// while the server keeps it; it is not thread-safe (a second thread makes its own client;
/// watches have their own connection, see EtcdWatch).
///
/// Failover and retries. A call starts on the member that answered last and moves to the next
/// one when a member cannot be reached, answers 5xx (no leader, request timed out) or does not
/// answer within its share of the deadline (an idempotent call's deadline is split over the
/// members it may still try, so a member that hangs, as one without quorum does for about 7 s,
/// cannot eat it all). Idempotent calls (range, keepalive, revoke, delete, put of a value) are
/// retried on the next member whatever happened; a txn is retried only while its request has
/// not been written to any socket: once sent, a failure (no answer, or a 5xx) is returned as
/// `kMaybeApplied`, because
/// etcd may have applied it (the caller reads the key to learn; see name_claims.h). Errors
/// are values: "etcd: no endpoint answered within 1000 ms (127.0.0.1:2379: connection
/// refused; …)".
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/result.h"
#include "relay/cluster/etcd_endpoint.h"
#include "relay/cluster/etcd_json.h"
#include "relay/net/http_client.h"

namespace tg::tls {
class ClientTlsContext;
}

namespace tg::cluster {

struct EtcdClientOptions {
  std::vector<EtcdEndpoint> endpoints;
  std::string ca_file;    // with https endpoints: the CA that signed etcd's certificates
  std::string cert_file;  // with https endpoints: this node's client certificate (optional)
  std::string key_file;   // … and its key
  std::chrono::milliseconds deadline{1000};  // each call, all its attempts together
};

/// How a failed call failed, for callers that must tell "not done" from "maybe done".
enum class CallFailure {
  kNotApplied,    // etcd refused it or it never left this node
  kMaybeApplied,  // a non-idempotent call was sent and no answer came
};

/// The endpoints, TLS context and deadline a client and its watches share.
class EtcdTransport {
 public:
  static Result<std::shared_ptr<const EtcdTransport>> create(const EtcdClientOptions& options);
  const std::vector<EtcdEndpoint>& endpoints() const { return endpoints_; }
  tls::ClientTlsContext* tls() const { return tls_.get(); }
  std::chrono::milliseconds deadline() const { return deadline_; }
  /// The first bytes of a POST of `body` to `path` on `endpoint`.
  static std::string post(const EtcdEndpoint& endpoint, std::string_view path,
                          std::string_view body);

 private:
  std::vector<EtcdEndpoint> endpoints_;
  std::shared_ptr<tls::ClientTlsContext> tls_;
  std::chrono::milliseconds deadline_{1000};
};

/// What a client's calls came to, for the metrics and logs of the thread that owns it
/// (tunnelgate_etcd_calls_total by result, tunnelgate_etcd_failovers_total once wired).
struct EtcdCallStats {
  std::uint64_t calls = 0;
  std::uint64_t failed = 0;         // returned an error (of which…)
  std::uint64_t maybe_applied = 0;  // … a sent txn without an answer
  std::uint64_t failovers = 0;      // attempts on one member that moved on to the next
};

class EtcdClient {
 public:
  explicit EtcdClient(std::shared_ptr<const EtcdTransport> transport);
  static Result<std::unique_ptr<EtcdClient>> create(const EtcdClientOptions& options);

  Result<LeaseAnswer> lease_grant(std::int64_t ttl_seconds);
  /// One keepalive; the answer's ttl is 0 when the lease is gone (expired or revoked).
  Result<LeaseAnswer> lease_keepalive(std::int64_t lease);
  Status lease_revoke(std::int64_t lease);
  /// Not idempotent: see the header's note and last_failure().
  Result<TxnAnswer> txn(const TxnRequest& txn);
  /// A linearizable read of `key`, or of [key, range_end).
  Result<RangeAnswer> range(std::string_view key, std::string_view range_end = {});
  Result<DeleteAnswer> delete_range(std::string_view key, std::string_view range_end = {});
  Result<std::int64_t> put(std::string_view key, std::string_view value, std::int64_t lease = 0);

  /// How the last failed call failed.
  CallFailure last_failure() const { return last_failure_; }
  const EtcdCallStats& stats() const { return stats_; }
  /// The endpoint the next call starts on (the one that answered last), as configured.
  const std::string& current_endpoint() const;
  const std::shared_ptr<const EtcdTransport>& transport() const { return transport_; }

 private:
  // POSTs `body` to `path` and returns the answer's body (a 200's), trying members in turn.
  Result<std::string> call(std::string_view path, std::string_view body, bool idempotent);
  Result<std::string> attempt_all(std::string_view path, std::string_view body, bool idempotent);

  std::shared_ptr<const EtcdTransport> transport_;
  std::vector<std::unique_ptr<net::HttpClientConnection>> connections_;  // one per endpoint
  std::size_t preferred_ = 0;
  CallFailure last_failure_ = CallFailure::kNotApplied;
  EtcdCallStats stats_;
};

}  // namespace tg::cluster
