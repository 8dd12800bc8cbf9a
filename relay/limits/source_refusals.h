/// Connections over the per-source cap, answered `503` with `Retry-After` instead of closed.
///
/// A plain close tells the visitor nothing: a browser shows a network error, a client retries
/// at once. But the HTTPS port can only answer after a TLS handshake, and a stranger must not
/// be able to make the relay pay handshakes without bound by opening connections over its cap.
/// So each worker answers at most kMaxInFlight refused connections at a time, each within
/// kBoundMs from its accept to its answer (ClientHello, handshake, request head, 503); a
/// connection refused while every slot is taken is closed at once, as before. Both outcomes
/// are counted. A refused connection is never counted against its source: it holds a slot
/// here instead, given back when it closes.
///
/// One per worker, used by its thread only.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace tg {

class VisitorConnection;

class SourceRefusals {
 public:
  static constexpr std::uint32_t kMaxInFlight = 32;
  static constexpr std::uint64_t kBoundMs = 3000;

  /// Takes a slot for a refused connection; false when every slot is taken (close it).
  bool take();
  /// A refused connection closed before it was handed to a VisitorConnection.
  void give_back();
  /// The refused connection is now `connection`, to be answered by `deadline_ms`.
  void track(VisitorConnection* connection, std::uint64_t deadline_ms);
  /// `connection` has ended: true, and its slot given back, when it was a refusal.
  bool forget(VisitorConnection* connection);
  /// The refusals still open at `now_ms` past their deadline (to be closed).
  std::vector<VisitorConnection*> overdue(std::uint64_t now_ms) const;
  std::uint32_t in_flight() const { return in_flight_; }

 private:
  std::uint32_t in_flight_ = 0;  // slots taken: refused preludes and tracked connections
  std::unordered_map<VisitorConnection*, std::uint64_t> deadlines_;
};

}  // namespace tg
