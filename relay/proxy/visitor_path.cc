// The path a visitor's request is decided on and forwarded with: the normal form of its target
// (relay/http/path_normalize.h), or a 400 when it has none, counted and logged by reason.

#include "relay/log/log.h"
#include "relay/proxy/visitor_connection.h"
#include "relay/worker/worker.h"

namespace tg {

bool VisitorConnection::normalize_path(http::RequestHead& head) {
  const http::PathRefusal refusal =
      http::normalize_request_target(head, worker_.config().path_rules, target_);
  raw_target_.clear();
  if (refusal == http::PathRefusal::kNone) {
    // Logs and the audit name the path that was decided; the form sent, when it differs.
    if (head.target != head.raw_target) {
      raw_target_.assign(head.raw_target);
      path_.assign(head.target);
    }
    return true;
  }
  worker_.counters().refuse_path(refusal);
  worker_.logs().push(log::JsonLine("path_refused")
                          .add("name", tunnel_name_.empty() ? server_name_ : tunnel_name_)
                          .add("client", peer_ip_)
                          .add("reason", http::to_string(refusal))
                          .add("target", head.raw_target)
                          .finish());
  respond_error(400, "the request path has no safe normal form (" +
                         std::string(http::to_string(refusal)) + ")");
  return false;
}

}  // namespace tg
