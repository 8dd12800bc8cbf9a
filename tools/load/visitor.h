/// The visitor side of the load generator: M TLS connections to the relay, driven by
/// io_uring, one ring per thread, each connection owned by exactly one thread.
///
/// A visitor thread connects its share of the connections (connection c belongs to thread
/// c mod T), runs the TLS client over memory (ClientTlsStream: ciphertext arrives through a
/// multishot receive into the ring's provided buffers, the relay's own io::BufferRing, and
/// leaves through plain sends), writes HTTP/1.1 requests and frames the responses with the
/// relay's own parser (relay/http/http.h). It records into its own histograms and counters;
/// the main thread merges them after the run, so nothing is shared while measuring except
/// two relaxed counters read once a second for the progress line.
///
/// Closed loop: a connection sends its next request as soon as its last response ends, and
/// latency runs from the send. Open loop (--rate): requests come from the fixed timetable of
/// schedule.h; a request due while its connection is busy waits on that connection, and its
/// latency runs from its due time (no coordinated omission). After the measured window the
/// open loop drains what was due inside it (bounded by --timeout, at most 2 s); what is still
/// unanswered then is reported as unfinished, never silently dropped.
///
/// With --handshake-per-request every request gets a new TCP connection and a full TLS
/// handshake (no resumption), and its latency includes both. With --requests-per-connection
/// a connection stops after K requests and the thread ends when all of its connections
/// have (a single large stream is measured from start to end, not cut by a window). With
/// --idle each connection sends one request and then stays open without sending: what a
/// relay holds for a keep-alive visitor that went quiet.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tools/load/histogram.h"
#include "tools/load/schedule.h"

namespace tg::load {

/// Everything the visitor threads share, fixed before they start.
struct RunPlan {
  sockaddr_storage address{};  // the relay's HTTPS address
  socklen_t address_len = 0;
  std::string ca_path;

  struct Target {
    std::string server_name;  // SNI, and the Host header's name
    std::string request;      // the request head, and the body when it is small
  };
  std::vector<Target> targets;  // connection c visits targets[c % size]
  std::string method;
  std::uint64_t streamed_body = 0;  // body bytes written after `request` in pieces (large bodies)

  std::uint32_t connections = 1;
  bool handshake_per_request = false;
  std::uint32_t requests_per_connection = 0;  // 0: until the window ends
  bool idle = false;
  std::vector<sockaddr_storage> sources;  // local addresses, connection c binds sources[c % n]
  bool open_loop = false;
  OpenLoopSchedule schedule;

  std::uint64_t start_ns = 0;          // connections start; the timetable starts
  std::uint64_t measure_begin_ns = 0;  // after warm-up
  std::uint64_t measure_end_ns = 0;
  std::uint64_t drain_end_ns = 0;  // open loop: answers to requests due before the end
  std::uint64_t timeout_ns = 0;
};

struct ErrorCounts {
  std::uint64_t connect = 0;   // TCP connect refused or failed
  std::uint64_t tls = 0;       // handshake or record failure
  std::uint64_t http = 0;      // a response with a status outside 2xx
  std::uint64_t timeout = 0;   // no byte of progress for --timeout
  std::uint64_t protocol = 0;  // a response the HTTP parser refused, or bytes nobody asked for
  std::uint64_t closed = 0;    // the relay closed the connection before the response ended
  std::uint64_t total() const { return connect + tls + http + timeout + protocol + closed; }
  void add(const ErrorCounts& other);
};

struct VisitorReport {
  LogHistogram latency;          // 2xx responses, ns
  LogHistogram sse_latency;      // event send (backend) → visitor read, ns
  LogHistogram handshake;        // TCP connect → TLS handshake done, ns
  std::uint64_t requests = 0;    // responses completed in the window, any status
  std::uint64_t ok = 0;          // 2xx among them
  std::uint64_t scheduled = 0;   // open loop: requests due in the window
  std::uint64_t unfinished = 0;  // open loop: due in the window, unanswered at the drain's end
  std::uint64_t handshakes = 0;  // completed in the window
  std::uint64_t sse_events = 0;
  std::uint64_t bytes_sent = 0;  // TLS bytes on the wire, in the window
  std::uint64_t bytes_received = 0;
  ErrorCounts errors;  // over the whole run, warm-up included: errors are never hidden
  std::map<int, std::uint64_t> statuses;  // responses by status, over the window
  std::uint64_t cpu_ns = 0;               // this thread's CPU time in the window
  std::uint64_t finished_ns = 0;          // --requests-per-connection: when the last one was done
  std::string first_error;
  void merge(const VisitorReport& other);
};

class VisitorThread {
 public:
  VisitorThread(const RunPlan& plan, std::uint32_t index, std::uint32_t threads,
                const std::atomic<bool>& stop);
  ~VisitorThread();
  VisitorThread(const VisitorThread&) = delete;
  VisitorThread& operator=(const VisitorThread&) = delete;

  /// Runs the whole run on the calling thread (creates the ring there: single issuer).
  void run();
  const VisitorReport& report() const { return report_; }

  /// Read by the progress line: responses and errors so far.
  std::atomic<std::uint64_t> live_responses{0};
  std::atomic<std::uint64_t> live_errors{0};
  std::atomic<std::uint64_t> live_idle{0};  // --idle: connections holding still
  std::atomic<bool> done{false};            // run() returned

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  VisitorReport report_;
};

}  // namespace tg::load
