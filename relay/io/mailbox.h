/// Cross-worker messages: the one mechanism by which a worker asks another to act.
///
/// Each ordered pair of workers has a single-producer single-consumer ring of message
/// pointers, so sending never takes a lock and never contends with a third worker. After
/// queueing, the sender wakes the receiver with IORING_OP_MSG_RING on its own ring (one
/// completion lands on the receiver's ring; wake-ups are coalesced while one is pending).
/// A full ring refuses the message: the caller handles the refusal (a visitor connection is
/// closed cleanly, never lost in flight). Visitor handoffs may fill a queue only up to
/// `visitor_limit` entries, so a flood of visitors never keeps a route update or an admin
/// request from getting through.
///
/// Late route updates. What must not be dropped waits in the sender's Outbox (outbox.h) while
/// the queue is full. A route update waiting there means the receiver's route table is behind
/// the registry, possibly after the publisher was told "ready": such an update is counted for
/// its receiver (`mark_late`) from the moment it has to wait until the receiver takes it
/// (`drain`), and while `late_routes` is non-zero the receiver routes visitors by the registry
/// instead of its table (route_table.h).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relay/io/ring.h"

namespace tg::io {

struct Message {
  enum class Kind {
    kVisitor,       // a visitor's socket and its first bytes, for the tunnel's owner
    kCloseSession,  // a newer session of the same key took a name over
    kRoute,         // a name went online or offline on the sender (RouteTable update)
    kSnapshot,      // admin: describe your tunnels and counters (reply: kSnapshotReply)
    kSnapshotReply,
    kCloseTunnel,  // admin: unpublish `name` (reply: kCloseTunnelReply, online = found)
    kCloseTunnelReply,
    kReload,         // admin or SIGHUP: reload certificates and authorized keys
    kReloadReply,    // online = reloaded; bytes = what changed, or the error
    kReleaseSource,  // a visitor this worker accepted from `peer` has closed (per-source cap)
    kAuthRequest,    // a request for the relay's own sign-in endpoints (auth/exchange.h), to a
                     // sign-in thread; it comes back as kAuthAnswer to the sending worker
    kAuthAnswer,
  };
  Kind kind = Kind::kVisitor;
  int fd = -1;
  std::string bytes;        // kVisitor: what was read before the handoff (the ClientHello)
  std::string name;         // kVisitor: the tunnel; kCloseSession: the name taken over
  sockaddr_storage peer{};  // kVisitor, kReleaseSource: the visitor's address
  std::uint64_t session_id = 0;
  unsigned worker = 0;           // kRoute: the worker serving the name; admin kinds: the sender
  bool online = false;           // kRoute; kCloseTunnelReply: the tunnel was found
  std::uint64_t generation = 0;  // kRoute: the registry's claim generation (see RouteTable)
  std::uint64_t request_id = 0;  // admin kinds: which admin request this belongs to
  std::string tunnels_json;      // kSnapshotReply: JSON objects, comma-separated
  std::string counters;          // kSnapshotReply: "name value" lines (see admin/inventory.h)
  std::shared_ptr<const void> payload;  // kReload: the new policy, loaded once by worker 0
  bool exposures = false;               // kSnapshot: describe exposure history, not live tunnels
  std::string actor_class;              // kSnapshot: only tunnels of this class ("" = all)
  std::uint64_t since_epoch_ms = 0;     // kSnapshot with exposures: events at or after this
  bool late_route = false;              // kRoute: counted in its receiver's late_routes until taken
  std::shared_ptr<void> exchange;       // kAuthRequest, kAuthAnswer: the auth::Exchange
};

/// Endpoints are numbered: the workers first (0 … workers-1), then any other thread that
/// trades messages with them through its own Ring (the sign-in threads, auth/auth_service.h).
class Mailboxes {
 public:
  /// Messages one worker may have queued for another.
  static constexpr std::uint64_t kCapacity = 4096;

  explicit Mailboxes(unsigned endpoints, std::uint64_t visitor_limit = kCapacity);
  /// Frees what is still queued (workers that stopped before taking it): after the workers
  /// have been joined, so no one sends any more. Sockets in it are closed.
  ~Mailboxes();
  Mailboxes(const Mailboxes&) = delete;
  Mailboxes& operator=(const Mailboxes&) = delete;

  /// Each worker registers its ring fd and the completion its wake-ups should carry, then
  /// drains once: a message sent before it attached was queued but woke no one (a worker
  /// may publish a name, and so send route updates, while another is still starting).
  void attach(unsigned worker, int ring_fd, Completion* wake);

  /// Queues `message` from `from` to `to` and wakes `to` through `ring` (the sender's).
  /// On a full queue (for a visitor handoff: `visitor_limit` entries) returns the message
  /// back to the caller.
  std::unique_ptr<Message> send(Ring& ring, unsigned from, unsigned to,
                                std::unique_ptr<Message> message);

  /// Messages queued for `worker` and not yet taken (approximate while others send).
  std::uint64_t depth(unsigned worker) {
    std::uint64_t total = 0;
    for (unsigned from = 0; from < endpoints_; ++from) {
      Queue& q = queue(from, worker);
      total += q.tail.load(std::memory_order_relaxed) - q.head.load(std::memory_order_relaxed);
    }
    return total;
  }

  /// Counts `message`, a route update for `to` that could not be queued at once, as late
  /// until `to` takes it. Call before the publisher can hear "ready" for the claim.
  void mark_late(unsigned to, Message& message) {
    if (message.late_route) return;
    message.late_route = true;
    targets_[to].late_routes.fetch_add(1, std::memory_order_seq_cst);
  }
  /// Route updates for `worker` counted late and not yet taken by it: while any, its route
  /// table may be behind. Read by `worker` after a drain: zero then means every late update
  /// was applied.
  std::uint64_t late_routes(unsigned worker) const {
    return targets_[worker].late_routes.load(std::memory_order_seq_cst);
  }

  /// Takes every message queued for `worker`. Call from the receiving worker only.
  template <typename Fn>
  void drain(unsigned worker, Fn&& handle) {
    // Store then load, against the sender's store (tail) then load (wake_pending), all
    // sequentially consistent: see send().
    targets_[worker].wake_pending.store(false, std::memory_order_seq_cst);
    for (unsigned from = 0; from < endpoints_; ++from) {
      Queue& q = queue(from, worker);
      std::uint64_t head = q.head.load(std::memory_order_relaxed);
      const std::uint64_t tail = q.tail.load(std::memory_order_seq_cst);
      for (; head != tail; ++head) {
        std::unique_ptr<Message> message(q.slots[head & (kCapacity - 1)]);
        const bool late = message->late_route;
        handle(std::move(message));
        // Applied now: the table is as current as this update.
        if (late) targets_[worker].late_routes.fetch_sub(1, std::memory_order_seq_cst);
      }
      q.head.store(head, std::memory_order_release);
    }
  }

 private:
  struct Queue {
    alignas(64) std::atomic<std::uint64_t> head{0};  // consumer's
    alignas(64) std::atomic<std::uint64_t> tail{0};  // producer's
    std::unique_ptr<Message*[]> slots = std::make_unique<Message*[]>(kCapacity);
  };
  struct Target {
    // Written by the receiver's thread while others may already send to it: `wake` is set
    // before `ring_fd` is published, so a sender that sees the fd sees both.
    std::atomic<int> ring_fd{-1};
    Completion* wake = nullptr;
    alignas(64) std::atomic<bool> wake_pending{false};
    // Read by the receiver for each visitor it routes; written only for late route updates.
    alignas(64) std::atomic<std::uint64_t> late_routes{0};
  };
  Queue& queue(unsigned from, unsigned to) { return queues_[from * endpoints_ + to]; }

  unsigned endpoints_;
  std::uint64_t visitor_limit_;
  std::vector<Queue> queues_;
  std::vector<Target> targets_;
};

}  // namespace tg::io
