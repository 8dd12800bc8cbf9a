// EtcdWatch: one streaming POST at a time; the stream's lines are split here and read by
// parse_watch_line; the resume point only moves past revisions whose events were delivered.
#include "relay/cluster/etcd_watch.h"

namespace tg::cluster {
namespace {

constexpr std::size_t kMaxLineBytes = 16 << 20;

}  // namespace

EtcdWatch::EtcdWatch(std::shared_ptr<const EtcdTransport> transport, std::string key,
                     std::string range_end, std::int64_t start_revision)
    : transport_(std::move(transport)),
      key_(std::move(key)),
      range_end_(std::move(range_end)),
      next_revision_(start_revision) {}

std::string EtcdWatch::endpoint() const {
  return connection_ == nullptr ? "" : transport_->endpoints()[endpoint_].text;
}

void EtcdWatch::drop() {
  connection_.reset();
  partial_.clear();
}

void EtcdWatch::restart_at(std::int64_t revision) {
  drop();
  next_revision_ = revision;
}

Status EtcdWatch::open(net::Clock::time_point deadline) {
  const auto& endpoints = transport_->endpoints();
  std::string errors;
  for (std::size_t tried = 0; tried < endpoints.size(); ++tried) {
    const std::size_t index = (endpoint_ + tried) % endpoints.size();
    const EtcdEndpoint& endpoint = endpoints[index];
    const net::Clock::time_point now = net::Clock::now();
    if (now >= deadline) break;
    const std::size_t left = endpoints.size() - tried;
    const net::Clock::time_point attempt_deadline =
        left > 1 ? now + (deadline - now) / static_cast<long>(left) : deadline;
    auto connection = std::make_unique<net::HttpClientConnection>();
    Status done = connection->connect(endpoint.host, endpoint.port,
                                      endpoint.tls ? transport_->tls() : nullptr, attempt_deadline);
    const std::string body = encode_watch_create(key_, range_end_, next_revision_);
    if (done) {
      done = connection->send(EtcdTransport::post(endpoint, "/v3/watch", body), attempt_deadline);
    }
    Result<net::HttpAnswerHead> head = done ? connection->read_head("POST", attempt_deadline)
                                            : Result<net::HttpAnswerHead>(done.error());
    if (head && head->status != 200) head = make_error("HTTP " + std::to_string(head->status));
    if (!head) {
      if (!errors.empty()) errors += "; ";
      errors += endpoint.host_header + ": " + head.error().message;
      continue;
    }
    endpoint_ = index;
    connection_ = std::move(connection);
    partial_.clear();
    return Ok{};
  }
  endpoint_ = (endpoint_ + 1) % endpoints.size();
  return make_error("etcd watch: no endpoint answered (" + errors + ")");
}

Status EtcdWatch::take_line(std::string_view line, WatchBatch& batch) {
  auto message = parse_watch_line(line);
  if (!message) return message.error();
  if (message->created && next_revision_ == 0) {
    // Watching from now: a reconnect must resume right after what "now" was.
    next_revision_ = message->revision + 1;
  }
  if (message->canceled) {
    drop();
    if (message->compact_revision > 0) {
      batch.compacted = true;
      return Ok{};
    }
    return make_error("etcd watch canceled: " + message->cancel_reason);
  }
  for (WatchEvent& event : message->events) {
    // A reconnect may race an event already delivered; revisions say which.
    if (event.kv.mod_revision < next_revision_) continue;
    next_revision_ = event.kv.mod_revision + 1;
    batch.events.push_back(std::move(event));
  }
  return Ok{};
}

Result<WatchBatch> EtcdWatch::next(net::Clock::time_point deadline) {
  WatchBatch batch;
  if (connection_ == nullptr) {
    if (Status opened = open(deadline); !opened) return opened.error();
    batch.reconnected = true;
  }
  while (batch.events.empty() && !batch.compacted) {
    if (net::Clock::now() >= deadline) return batch;
    auto more = connection_->read_body_some(partial_, deadline);
    if (!more) {
      if (more.error().message == "timed out") return batch;
      drop();  // the stream broke: the next call reconnects and resumes
      return batch;
    }
    for (std::size_t end; (end = partial_.find('\n')) != std::string::npos;) {
      const std::string line = partial_.substr(0, end);
      partial_.erase(0, end + 1);
      if (line.empty()) continue;
      if (Status taken = take_line(line, batch); !taken) {
        drop();
        return taken.error();
      }
      if (connection_ == nullptr) return batch;  // canceled
    }
    if (partial_.size() > kMaxLineBytes) {
      drop();
      return make_error("etcd watch: a line longer than 16 MiB");
    }
    if (!*more) {
      drop();  // etcd ended the stream
      return batch;
    }
  }
  return batch;
}

}  // namespace tg::cluster
