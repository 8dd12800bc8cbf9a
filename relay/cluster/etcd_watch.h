/// A watch on a range of etcd keys that survives lost connections: events in revision order,
/// each delivered once, across reconnects to any member.
///
/// A cluster thread owns one `EtcdWatch` per range it follows (the names, the nodes) and calls
/// `next` in its loop: it blocks until events arrive or the deadline passes. Under it is one
/// HTTP/1.1 stream (`POST /v3/watch`, one JSON object per line over chunked coding). When the
/// stream breaks (the member dies, the connection is cut, etcd cancels the watch) the next
/// `next` reconnects, to the next member when the last one does not answer, and asks for the
/// revisions after the last one it delivered, so no event is lost or repeated. When etcd has
/// compacted those revisions away, `next` says so (`compacted`): the caller reads the range
/// afresh (EtcdClient::range) and calls `restart_at(range_revision + 1)`.
///
/// Not thread-safe; its connection is its own (not the EtcdClient's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relay/cluster/etcd_client.h"

namespace tg::cluster {

struct WatchBatch {
  std::vector<WatchEvent> events;  // may be empty (the deadline passed first)
  bool compacted = false;          // resync: see the header
  bool reconnected = false;        // a new stream was opened during this call
};

class EtcdWatch {
 public:
  /// Watches [key, range_end) from `start_revision` (0: from now).
  EtcdWatch(std::shared_ptr<const EtcdTransport> transport, std::string key, std::string range_end,
            std::int64_t start_revision);

  /// Waits until `deadline` for events; errors only when no member can be reached (the next
  /// call tries again).
  Result<WatchBatch> next(net::Clock::time_point deadline);

  /// Starts again at `revision` (after a compaction and a fresh read of the range).
  void restart_at(std::int64_t revision);

  /// The revision the stream resumes from after a reconnect.
  std::int64_t next_revision() const { return next_revision_; }
  /// The member the stream is on, as configured ("" when none).
  std::string endpoint() const;

 private:
  Status open(net::Clock::time_point deadline);
  // Handles one complete line of the stream.
  Status take_line(std::string_view line, WatchBatch& batch);
  void drop();

  std::shared_ptr<const EtcdTransport> transport_;
  std::string key_;
  std::string range_end_;
  std::int64_t next_revision_;  // 0 until the first line when watching "from now"
  std::unique_ptr<net::HttpClientConnection> connection_;
  std::size_t endpoint_ = 0;
  std::string partial_;  // bytes of a line not yet complete
};

}  // namespace tg::cluster
