/// What a worker reports about itself to the admin API: its tunnels as JSON objects and its
/// counters as "name value" lines. Each worker writes its own part from its own state when
/// asked through the mailboxes; worker 0 joins the parts. No shared counters, no locks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tg {

/// Counters one worker keeps for itself (only its own thread writes them).
struct WorkerCounters {
  std::uint64_t requests = 0;
  std::uint64_t responses_2xx = 0, responses_3xx = 0, responses_4xx = 0, responses_5xx = 0;
  std::uint64_t responses_other = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t visitors_accepted = 0;
  std::uint64_t tls_failures = 0;
  std::uint64_t handoffs_sent = 0, handoffs_refused = 0;
  std::uint64_t sessions_accepted = 0;
  std::uint64_t forwards_refused = 0;

  void count_response(int status);
};

/// Gauges read at snapshot time.
struct WorkerGauges {
  std::uint64_t tunnels = 0;
  std::uint64_t sessions = 0;
  std::uint64_t visitor_connections = 0;
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
