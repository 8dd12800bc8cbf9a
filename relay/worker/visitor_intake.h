/// The worker's front door for visitors: its listening sockets, the connections it has
/// accepted but not yet routed, and the visitor connections it runs.
///
/// It owns the listeners (HTTPS and SSH; an SSH connection is handed to Publishers at once),
/// the prelude of each HTTPS connection (a trusted balancer's PROXY v2 header, then the
/// ClientHello, read without any TLS work), the per-source connection counts and the 503
/// refusals over that cap, and the set of VisitorConnections living on this worker. Routing
/// reads the SNI name, asks the route table which worker owns it, and either starts the
/// visitor here or hands the socket to that worker through the mailboxes. Everything here
/// runs on the owning worker's thread; other workers reach it only by message (kVisitor,
/// kReleaseSource), dispatched by Worker.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "relay/io/accept_backoff.h"
#include "relay/io/mailbox.h"
#include "relay/io/ring.h"
#include "relay/limits/source_limiter.h"
#include "relay/limits/source_refusals.h"

namespace tg {

class VisitorConnection;
class Worker;

class VisitorIntake {
 public:
  explicit VisitorIntake(Worker& worker);
  /// Closes what is still open: runs first when the worker goes (declared last in it).
  ~VisitorIntake();
  VisitorIntake(const VisitorIntake&) = delete;
  VisitorIntake& operator=(const VisitorIntake&) = delete;

  Status open_listeners();
  /// Re-arms the listeners whose pause is over (from the worker's tick).
  void resume_accepts();
  /// Closes preludes past their deadline, ticks every visitor, and ends overdue refusals.
  void tick(bool grace_over);
  /// Stops accepting: cancels and shuts the listeners down (the drain begins).
  void stop_listening();
  /// Frees the preludes and visitors that have finished.
  void reap();
  /// No visitor or prelude left, live or dying.
  bool idle() const {
    return visitors_.empty() && preludes_.empty() && dying_visitors_.empty() &&
           dying_preludes_.empty();
  }
  bool no_visitors() const { return visitors_.empty(); }
  std::size_t visitor_count() const { return visitors_.size(); }
  /// Decides every open visitor's access again after a policy change; returns how many were
  /// cut.
  unsigned recheck_access();

  /// A visitor connection has closed: it leaves the set, and its source count goes down.
  void forget(VisitorConnection* connection);
  /// A socket another worker accepted and routed here (Message::Kind::kVisitor).
  void on_handoff(std::unique_ptr<io::Message> message);
  /// A visitor this worker accepted has closed on another worker (kReleaseSource).
  void on_source_released(const sockaddr_storage& peer) { sources_.release(SourceKey::of(peer)); }

 private:
  struct Listener;
  struct Prelude;

  void arm_accept(Listener& listener);
  static void on_accept(void* listener, const io_uring_cqe& cqe);
  void accept_https(int fd);
  /// An accept failed for want of a descriptor: count it, and rest the listener a while.
  void pause_accepts(Listener& listener, int error);

  // Visitors before routing: read the ClientHello, route by SNI.
  void arm_prelude_recv(Prelude& prelude);
  static void on_prelude_recv(void* prelude, const io_uring_cqe& cqe);
  /// Reads a trusted balancer's PROXY v2 header off the front of the prelude's bytes; true
  /// when bytes after it are there to route, false when it waits, or closed the connection.
  bool take_proxy_header(Prelude& prelude);
  void route(Prelude& prelude, std::string_view server_name);
  void start_visitor(int fd, std::string_view initial_bytes, const sockaddr_storage& peer,
                     std::string name, int fixed_status, unsigned source_worker);
  /// Counts one more connection from `peer`; false (counted, logged) when over the cap.
  bool admit_source(const sockaddr_storage& peer);
  /// A connection over the cap: true when it is to be answered 503 (a refusal slot taken),
  /// false when it is to be closed at once (source_refusals.h).
  bool take_refusal_slot();
  /// Answers a refused connection 503 with Retry-After after its TLS handshake, here.
  void answer_source_refusal(Prelude& prelude, std::string_view server_name);
  /// A visitor accepted by `source_worker` from `peer` has closed: that worker's per-source
  /// count goes down (by message when it is another worker).
  void release_source(const sockaddr_storage& peer, unsigned source_worker);
  void close_prelude(Prelude& prelude);

  Worker& worker_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_set<Prelude*> preludes_;
  std::unordered_set<VisitorConnection*> visitors_;
  SourceLimiter sources_;           // HTTPS connections this worker accepted, per source address
  SourceRefusals source_refusals_;  // connections over that cap being answered 503
  std::vector<Prelude*> dying_preludes_;
  std::vector<VisitorConnection*> dying_visitors_;
};

}  // namespace tg
