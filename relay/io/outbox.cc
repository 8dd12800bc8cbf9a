#include "relay/io/outbox.h"

namespace tg::io {

Outbox::Outbox(Mailboxes& mailboxes, unsigned from, unsigned workers)
    : mailboxes_(mailboxes), from_(from), waiting_(workers) {}

void Outbox::send(Ring& ring, unsigned to, std::unique_ptr<Message> message) {
  waiting_[to].push_back(std::move(message));
  flush_to(ring, to);
  if (waiting_[to].empty()) return;
  // Still here, so last in line: a route update is late for `to` from now on.
  Message& kept = *waiting_[to].back();
  if (kept.kind == Message::Kind::kRoute) mailboxes_.mark_late(to, kept);
}

void Outbox::flush(Ring& ring) {
  for (unsigned to = 0; to < waiting_.size(); ++to) flush_to(ring, to);
}

void Outbox::flush_to(Ring& ring, unsigned to) {
  auto& queue = waiting_[to];
  while (!queue.empty()) {
    auto refused = mailboxes_.send(ring, from_, to, std::move(queue.front()));
    if (refused) {
      queue.front() = std::move(refused);  // full: keep the order, try next round
      return;
    }
    queue.pop_front();
  }
}

}  // namespace tg::io
