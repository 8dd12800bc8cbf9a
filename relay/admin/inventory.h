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

#include "relay/http/path_normalize.h"

namespace tg {
namespace auth {
struct SigninCounters;
}

/// A latency histogram with fixed buckets (seconds, Prometheus style); one worker writes it.
struct LatencyHistogram {
  static constexpr double kBounds[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                       0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,    0.25,
                                       0.5,     1,        2.5,     5,      10};
  static constexpr std::size_t kBuckets = std::size(kBounds) + 1;  // the last is +Inf
  std::uint64_t counts[kBuckets] = {};
  std::uint64_t count = 0;
  double sum_seconds = 0;
  void record(std::uint64_t microseconds);
};

/// Why a tcpip-forward was refused (tunnelgate_forwards_refused_total{reason}).
enum class ForwardRefusal : std::uint8_t { kInvalidName, kPolicy, kNameTaken, kKeyLimit, kCount };
/// Why a visitor's request was refused before it reached the publisher
/// (tunnelgate_access_denials_total{reason}).
enum class AccessDenial : std::uint8_t {
  kNoCredentials,       // 401: an allow rule reads an identity and none was presented
  kInvalidCredentials,  // 401: a token or key that did not check out
  kDenyRule,            // 403: a deny expression held (or could not be evaluated)
  kNoAllowRule,         // 403: rules cover the name, no allow held
  kNoRule,              // 403: no access rule covers the name
  kInsufficientScope,   // 403: the token lacks a required scope
  kQueryToken,          // 400: a token in the query string
  kCount,
};

/// MCP traffic one worker has seen. Calls and denials are counted per tool, but a tool name
/// comes from the caller, so labels are bounded: the first kMaxToolLabels names of calls the
/// policy allowed get their own label (a denied call never takes a slot, so callers cannot
/// crowd out real tools with made-up names), everything else is counted as "other".
struct McpCounters {
  static constexpr std::size_t kMaxToolLabels = 32;
  static constexpr std::size_t kMaxLabelBytes = 64;
  struct Tool {
    std::string label;  // sanitised: [A-Za-z0-9_.:/-], other bytes as '_'
    std::uint64_t calls = 0;
    std::uint64_t denied = 0;
  };
  Tool tools[kMaxToolLabels + 1];  // the last is "other"
  std::size_t tool_count = 0;
  std::uint64_t messages = 0;          // JSON-RPC messages decided
  std::uint64_t messages_denied = 0;   // answered by the relay
  std::uint64_t requests_refused = 0;  // 400: the body or its headers could not be trusted
  std::uint64_t lists_filtered = 0;    // list responses rewritten
  std::uint64_t list_entries_hidden = 0;
  std::uint64_t session_refused = 0;      // 404: an unknown session, or another subject's
  std::uint64_t tasks_bound = 0;          // tasks a server created, bound to their caller
  std::uint64_t task_refused = 0;         // task requests naming a task not held for the caller
  std::uint64_t header_unverifiable = 0;  // 400: the decision hung on a header nothing checks
  std::uint64_t param_mismatch = 0;       // 400: an Mcp-Param header disagreed with its argument
  std::uint64_t origin_refused = 0;       // 403: a foreign Origin (any tunnel)
  std::uint64_t streams_cut = 0;          // an SSE event over the cap while a list was pending

  /// One tools/call decided (allowed or not) for tool `name`.
  void count_tool_call(std::string_view name, bool allowed);
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
  std::uint64_t refused_per_source = 0;  // HTTPS connections over max_connections_per_source
  // … of them answered 503 after TLS, and closed at once (every refusal slot taken)
  std::uint64_t per_source_answered = 0, per_source_closed = 0;
  std::uint64_t refused_memory_budget = 0;  // connections and requests answered 503 for memory
  std::uint64_t proxy_headers_refused = 0;  // trusted peers without a valid PROXY v2 header
  std::uint64_t signin_redirects = 0;       // browser navigations sent to sign in
  std::uint64_t refused_get_head_body = 0;  // GET or HEAD requests with a body, answered 400
  std::uint64_t response_desyncs = 0;       // service bytes beyond a response: channel dropped
  std::uint64_t sessions_accepted = 0;
  std::uint64_t forwards_refused[static_cast<std::size_t>(ForwardRefusal::kCount)] = {};
  std::uint64_t access_denials[static_cast<std::size_t>(AccessDenial::kCount)] = {};
  // 400: a request path with no safe normal form (relay/http/path_normalize.h), by reason
  std::uint64_t paths_refused[static_cast<std::size_t>(http::PathRefusal::kCount)] = {};
  std::uint64_t tls_handshakes = 0;
  std::uint64_t ssh_auth_failures = 0;
  // SSH connections closed before any SSH bytes: over [ssh] max_connections_per_source,
  // dropped by max_startups, or numbered into the visitors' descriptor reserve.
  std::uint64_t ssh_refused_per_source = 0;
  std::uint64_t ssh_refused_startups = 0;
  std::uint64_t ssh_refused_descriptor_reserve = 0;
  std::uint64_t ssh_login_timeouts = 0;   // not authenticated within login_grace_time_ms
  std::uint64_t accept_fd_exhausted = 0;  // accepts failed with EMFILE/ENFILE (listener paused)
  LatencyHistogram tls_handshake;         // first ClientHello byte to handshake done
  LatencyHistogram first_response_byte;   // request head read to response head received
  LatencyHistogram relay_processing;      // the relay's own inline work on one exchange

  void refuse_forward(ForwardRefusal why) { ++forwards_refused[static_cast<std::size_t>(why)]; }
  void deny_access(AccessDenial why) { ++access_denials[static_cast<std::size_t>(why)]; }
  void refuse_path(http::PathRefusal why) { ++paths_refused[static_cast<std::size_t>(why)]; }
  McpCounters mcp;

  void count_response(int status);
};

/// Gauges read at snapshot time.
struct WorkerGauges {
  std::uint64_t tunnels = 0;
  std::uint64_t sessions = 0;
  std::uint64_t visitor_connections = 0;
  std::uint64_t handoff_queue_depth = 0;  // messages queued to this worker, not yet taken
  std::uint64_t buffered_bytes = 0;       // held in visitor connections' buffers
  std::uint64_t mcp_sessions = 0;         // MCP session bindings held
  std::uint64_t mcp_tasks = 0;            // MCP task bindings held
  std::uint64_t ssh_unauthenticated = 0;  // this worker's sessions not yet authenticated
};

/// "name value\n" lines for one worker.
std::string encode_counters(const WorkerCounters& counters, const WorkerGauges& gauges);
/// The sign-in threads' counters (process-wide: worker 0 adds them to its part).
std::string encode_signin_counters(const auth::SigninCounters& counters);

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
