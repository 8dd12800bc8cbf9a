/// The worker's control requests: reloads, the admin API's questions fanned out to every
/// worker, and an operator's close-tunnel.
///
/// It owns the admin server (worker 0, when `[admin]` is configured), the SIGHUP count it
/// has acted on, and what tells a reload whether the certificate changed. A question from
/// the admin API (snapshots, reload, close a tunnel) is asked of every worker, or of the one
/// owning the name, through the mailboxes; each worker answers from its own parts, and the
/// answers come back here to reach the admin server. A reload compiles the policy once, on
/// the asking worker, and every worker swaps its TLS context, SSH server and policy, then
/// re-decides what it serves. Nothing here is on a visitor's or a session's data path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "relay/base/result.h"
#include "relay/io/mailbox.h"
#include "relay/worker/policy_set.h"

namespace tg {

class AdminServer;
class Worker;

class Control {
 public:
  explicit Control(Worker& worker);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  /// Loads the worker's TLS context and SSH server from the configured files (at start-up).
  Status load_credentials();
  /// Opens the admin API's listener on worker 0 when it is configured.
  Status open_admin();
  void tick(std::uint64_t now_ms);
  /// The drain begins: the admin API stops taking connections.
  void stop_listening();
  /// No admin connection left to finish.
  bool idle() const;
  /// Worker 0: acts on a SIGHUP that arrived since the last loop round.
  void poll_reload_signal();

  // For the admin API (worker 0): ask every worker, answers arrive at the AdminServer.
  void ask_snapshots(std::uint64_t request_id, const std::string& name, const std::string& owner,
                     bool exposures, std::uint64_t since_epoch_ms, const std::string& actor_class);
  /// False when no worker serves `name`.
  bool ask_close_tunnel(std::uint64_t request_id, const std::string& name);
  /// Every worker reloads its certificates and authorized keys; replies reach the admin
  /// server (request_id 0: a SIGHUP, only logged).
  void ask_reload(std::uint64_t request_id);

  // Mailbox messages, dispatched by the worker.
  void on_snapshot(const io::Message& request);
  void on_close_tunnel(const io::Message& request);
  void on_reload(std::unique_ptr<io::Message> request);
  void on_snapshot_reply(std::unique_ptr<io::Message> reply);
  void on_close_tunnel_reply(std::unique_ptr<io::Message> reply);
  void on_reload_reply(std::unique_ptr<io::Message> reply);

 private:
  std::unique_ptr<io::Message> snapshot(const io::Message& request);
  /// Reloads this worker's TLS context and SSH server from the configured files; on error
  /// the running ones stay. Returns what changed.
  Result<std::string> reload(std::shared_ptr<const PolicySet> new_policy);

  Worker& worker_;
  std::unique_ptr<AdminServer> admin_;  // worker 0, when [admin] is configured
  std::uint64_t reloads_seen_ = 0;      // worker 0: SIGHUPs acted on
  std::string certificate_digest_;      // to tell whether a reload changed the certificate
};

}  // namespace tg
