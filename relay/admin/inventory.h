/// What a worker reports about itself to the admin API: its tunnels as JSON objects and its
/// counters as "name value" lines. Each worker writes its own part from its own state when
/// asked through the mailboxes; worker 0 joins the parts. No shared counters, no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tg {

/// A latency histogram with fixed buckets (seconds, Prometheus style); one worker writes it.
struct LatencyHistogram {
  static constexpr double kBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  static constexpr std::size_t kBuckets = std::size(kBounds) + 1;  // the last is +Inf
  std::uint64_t counts[kBuckets] = {};
  std::uint64_t count = 0;
  double sum_seconds = 0;
  void record(std::uint64_t microseconds);
};

/// Counters one worker keeps for itself (only its own thread writes them).
struct WorkerCounters {
  std::uint64_t requests = 0;
  std::uint64_t responses_2xx = 0, responses_3xx = 0, responses_4xx = 0, responses_5xx = 0;
  std::uint64_t responses_other = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t visitors_accepted = 0;
  std::uint64_t tls_failures = 0;
  std::uint64_t handoffs_sent = 0, handoffs_refused = 0;
  std::uint64_t refused_per_source = 0;     // HTTPS connections over max_connections_per_source
  std::uint64_t refused_memory_budget = 0;  // connections and requests answered 503 for memory
  std::uint64_t sessions_accepted = 0;
  std::uint64_t forwards_refused = 0;
  std::uint64_t tls_handshakes = 0;
  std::uint64_t ssh_auth_failures = 0;
  LatencyHistogram tls_handshake;        // first ClientHello byte to handshake done
  LatencyHistogram first_response_byte;  // request head read to response head received

  void count_response(int status);
};

/// Gauges read at snapshot time.
struct WorkerGauges {
  std::uint64_t tunnels = 0;
  std::uint64_t sessions = 0;
  std::uint64_t visitor_connections = 0;
  std::uint64_t handoff_queue_depth = 0;  // messages queued to this worker, not yet taken
  std::uint64_t buffered_bytes = 0;       // held in visitor connections' buffers
};

/// "name value\n" lines for one worker.
std::string encode_counters(const WorkerCounters& counters, const WorkerGauges& gauges);

/// The lines of encode_counters back as name → value.
std::map<std::string, std::uint64_t> parse_counters(std::string_view lines);

/// Prometheus text exposition of all workers' lines, summed and labelled per worker.
std::string render_metrics(const std::map<unsigned, std::string>& counters_by_worker);

/// A point in time from "90s", "15m", "1h", "2d" (that long before `now_epoch_ms`), epoch
/// seconds, or "YYYY-MM-DDTHH:MM:SSZ"; nullopt for anything else.
std::optional<std::uint64_t> parse_since(std::string_view text, std::uint64_t now_epoch_ms);

/// ISO-8601 UTC text for a wall-clock time in milliseconds since the epoch.
std::string iso_time(std::uint64_t epoch_ms);

}  // namespace tg
