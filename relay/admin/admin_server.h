/// The operator's HTTP API: inventory of every published path, health, metrics, closing a
/// tunnel. Served by worker 0 on its own listener (loopback by default; a bearer token read
/// from a file is required elsewhere, and always when configured, except for /healthz and
/// /readyz, which load balancers call).
///
/// The answer to an inventory or metrics request is assembled from every worker's own view:
/// worker 0 asks each worker through the mailboxes, each describes only what it owns, and
/// the response goes out when all have answered. One request per connection (the API is for
/// people, scripts and Prometheus scrapes, not for throughput).
///
///   GET /healthz            200 while the process runs
///   GET /readyz             200 once every worker's listeners are armed, 503 while stopping
///   GET /v1/tunnels         the live inventory (JSON); ?owner=SHA256:… filters by key
///   GET /v1/tunnels/{name}  one tunnel, or 404
///   DELETE /v1/tunnels/{name}  unpublishes it, telling its publisher why
///   GET /v1/exposures?since=1h  tunnels opened, closed and refused, oldest first
///   POST /v1/reload         reload certificates and authorized keys on every worker
///   GET /metrics            Prometheus text
///   GET /                   a status page that refreshes itself
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "relay/io/accept_backoff.h"
#include "relay/io/mailbox.h"
#include "relay/io/ring.h"
#include "relay/worker/shared.h"

namespace tg {

class Worker;

class AdminServer {
 public:
  AdminServer(Worker& worker, Shared& shared);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  Status open();
  void stop_listening();
  void on_snapshot_reply(std::unique_ptr<io::Message> reply);
  void on_close_reply(std::unique_ptr<io::Message> reply);
  void on_reload_reply(std::unique_ptr<io::Message> reply);
  void tick(std::uint64_t now_ms);
  bool idle() const { return connections_.empty(); }

 private:
  struct Connection;
  struct Pending;

  static void on_accept(void* self, const io_uring_cqe& cqe);
  static void on_recv(void* connection, const io_uring_cqe& cqe);
  static void on_send(void* connection, const io_uring_cqe& cqe);
  void arm_accept();
  void arm_recv(Connection& connection);
  void handle(Connection& connection);
  bool authorized(const Connection& connection, std::string_view header) const;
  void respond(Connection& connection, int status, std::string_view content_type,
               std::string_view body);
  void finish(Pending& pending);
  void close(Connection& connection);

  Worker& worker_;
  Shared& shared_;
  int listen_fd_ = -1;
  io::Completion accept_completion_{};
  bool accept_armed_ = false;
  io::AcceptBackoff accept_backoff_;  // paused while the process is out of descriptors
  std::string token_;
  std::uint64_t next_request_id_ = 1;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;
};

}  // namespace tg
