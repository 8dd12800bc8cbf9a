/// What one worker sends the others that must never be dropped: route updates, session
/// closes, per-source releases, admin requests and replies.
///
/// The mailboxes refuse a message when the receiver's queue is full. A visitor handoff is then
/// refused too (its socket closed cleanly), but these cannot be: they wait here, in order per
/// receiver, and are retried every loop round (`flush`) until queued. A message waits behind
/// those sent to the same worker before it, so a receiver hears them in the order sent.
///
/// A route update that has to wait (its receiver's queue full, or messages still waiting
/// ahead of it) is counted as late for its receiver (Mailboxes::mark_late) before `send`
/// returns, that is before the publisher can hear "ready": the receiver then routes by the
/// registry until it has taken the update, rather than by a table that does not know the
/// claim yet (route_table.h).
///
/// Threads: an Outbox belongs to its worker (`from`) and is used on its thread only.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "relay/io/mailbox.h"
#include "relay/io/ring.h"

namespace tg::io {

class Outbox {
 public:
  Outbox(Mailboxes& mailboxes, unsigned from, unsigned workers);

  /// Queues `message` for `to` behind what already waits for it, waking `to` through `ring`;
  /// what the queue refuses waits here.
  void send(Ring& ring, unsigned to, std::unique_ptr<Message> message);
  /// Retries what waits, for every receiver: call once per loop round.
  void flush(Ring& ring);
  /// Messages waiting for `to`.
  std::size_t waiting(unsigned to) const { return waiting_[to].size(); }

 private:
  // Queues what waits for `to`, in order, until the queue refuses one.
  void flush_to(Ring& ring, unsigned to);

  Mailboxes& mailboxes_;
  unsigned from_;
  std::vector<std::deque<std::unique_ptr<Message>>> waiting_;
};

}  // namespace tg::io
