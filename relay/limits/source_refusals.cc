#include "relay/limits/source_refusals.h"

namespace tg {

bool SourceRefusals::take() {
  if (in_flight_ >= kMaxInFlight) return false;
  ++in_flight_;
  return true;
}

void SourceRefusals::give_back() {
  if (in_flight_ > 0) --in_flight_;
}

void SourceRefusals::track(VisitorConnection* connection, std::uint64_t deadline_ms) {
  deadlines_[connection] = deadline_ms;
}

bool SourceRefusals::forget(VisitorConnection* connection) {
  if (deadlines_.erase(connection) == 0) return false;
  give_back();
  return true;
}

std::vector<VisitorConnection*> SourceRefusals::overdue(std::uint64_t now_ms) const {
  std::vector<VisitorConnection*> late;
  for (const auto& [connection, deadline_ms] : deadlines_) {
    if (now_ms >= deadline_ms) late.push_back(connection);
  }
  return late;
}

}  // namespace tg
