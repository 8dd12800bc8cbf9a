#include "relay/admin/inventory.h"

#include <cstdio>
#include <ctime>
#include <sstream>

#include "relay/auth/auth_server.h"

namespace tg {
namespace {

struct Family {
  const char* name;
  const char* type;
  const char* help;
};

// HELP and TYPE of every family a worker encodes, in exposition order.
constexpr Family kFamilies[] = {
    {"tunnelgate_requests_total", "counter", "Visitor requests answered."},
    {"tunnelgate_responses_total", "counter", "Responses by status class."},
    {"tunnelgate_request_bytes_total", "counter", "Request bytes sent to publishers."},
    {"tunnelgate_response_bytes_total", "counter", "Response bytes sent to visitors."},
    {"tunnelgate_visitors_accepted_total", "counter", "Visitor connections accepted."},
    {"tunnelgate_tls_handshakes_total", "counter", "Visitor TLS handshakes completed."},
    {"tunnelgate_tls_failures_total", "counter", "Visitor TLS handshakes that failed."},
    {"tunnelgate_handoffs_total", "counter", "Visitor connections handed to another worker."},
    {"tunnelgate_handoffs_refused_total", "counter", "Handoffs refused by a full queue."},
    {"tunnelgate_connections_refused_total", "counter",
     "Visitor connections or requests refused by a limit, by reason."},
    {"tunnelgate_per_source_refusals_total", "counter",
     "Connections over max_connections_per_source: answered 503 after TLS, or closed at once."},
    {"tunnelgate_proxy_protocol_refused_total", "counter",
     "Connections from proxy_protocol_from peers closed for a missing or bad PROXY v2 header."},
    {"tunnelgate_requests_refused_total", "counter",
     "Visitor requests refused for their framing before anything was forwarded, by reason."},
    {"tunnelgate_signin_redirects_total", "counter",
     "Browser navigations without credentials sent to the relay's sign-in."},
    {"tunnelgate_signin_events_total", "counter",
     "Sign-in endpoint events: sign-ins, failures, consents, registrations, tokens, refreshes, "
     "refresh-token reuse, revocations, hand-offs."},
    {"tunnelgate_response_desync_total", "counter",
     "Bytes a service sent beyond its response; each closed the channel they came on."},
    {"tunnelgate_ssh_sessions_accepted_total", "counter", "SSH connections accepted."},
    {"tunnelgate_ssh_auth_failures_total", "counter", "SSH public keys refused."},
    {"tunnelgate_ssh_connections_refused_total", "counter",
     "SSH connections closed before any SSH bytes by a limit, by reason."},
    {"tunnelgate_ssh_login_timeouts_total", "counter",
     "SSH connections closed for not authenticating within login_grace_time_ms."},
    {"tunnelgate_accept_fd_exhausted_total", "counter",
     "Accepts that failed for want of a file descriptor (EMFILE, ENFILE); each pauses the "
     "listener."},
    {"tunnelgate_forwards_refused_total", "counter", "tcpip-forward requests refused, by reason."},
    {"tunnelgate_access_denials_total", "counter",
     "Visitor requests refused by the relay's identity and policy checks, by reason."},
    {"tunnelgate_paths_refused_total", "counter",
     "Visitor requests refused (400) for a path with no safe normal form, by reason."},
    {"tunnelgate_mcp_messages_total", "counter", "MCP JSON-RPC messages decided."},
    {"tunnelgate_mcp_messages_denied_total", "counter",
     "MCP messages denied and answered by the relay."},
    {"tunnelgate_mcp_tool_calls_total", "counter", "MCP tools/call messages by tool."},
    {"tunnelgate_mcp_tool_calls_denied_total", "counter", "MCP tools/call denied, by tool."},
    {"tunnelgate_mcp_requests_refused_total", "counter",
     "MCP requests refused with 400 (malformed, too large, header mismatch)."},
    {"tunnelgate_mcp_lists_filtered_total", "counter", "MCP list responses rewritten."},
    {"tunnelgate_mcp_list_entries_hidden_total", "counter",
     "Entries removed from MCP lists for the caller."},
    {"tunnelgate_mcp_session_refused_total", "counter",
     "MCP requests naming an unknown or another caller's session (404)."},
    {"tunnelgate_mcp_tasks_bound_total", "counter",
     "MCP tasks created by a server and bound to the caller who started them."},
    {"tunnelgate_mcp_task_refused_total", "counter",
     "MCP task requests naming a task not held for the caller (answered not found)."},
    {"tunnelgate_mcp_header_unverifiable_total", "counter",
     "MCP requests refused because the decision depended on a header the relay cannot check."},
    {"tunnelgate_mcp_param_mismatch_total", "counter",
     "MCP tool calls refused because an Mcp-Param header disagreed with the argument it mirrors."},
    {"tunnelgate_mcp_streams_cut_total", "counter",
     "MCP event streams ended for an event over the size cap."},
    {"tunnelgate_origin_refused_total", "counter", "Requests refused for a foreign Origin."},
    {"tunnelgate_tunnels", "gauge", "Tunnels published now."},
    {"tunnelgate_ssh_sessions", "gauge", "SSH sessions open now."},
    {"tunnelgate_ssh_unauthenticated", "gauge",
     "SSH connections accepted and not yet authenticated (counted against max_startups)."},
    {"tunnelgate_visitor_connections", "gauge", "Visitor connections open now."},
    {"tunnelgate_handoff_queue_depth", "gauge", "Cross-worker messages waiting for this worker."},
    {"tunnelgate_buffered_bytes", "gauge",
     "Bytes held in visitor connections' buffers (counted against memory_budget_bytes)."},
    {"tunnelgate_mcp_sessions", "gauge", "MCP session bindings held."},
    {"tunnelgate_mcp_tasks", "gauge", "MCP task bindings held."},
    {"tunnelgate_tls_handshake_seconds", "histogram",
     "Time from a visitor's first TLS byte to the finished handshake."},
    {"tunnelgate_first_response_byte_seconds", "histogram",
     "Time from a request head read to the publisher's response head."},
    {"tunnelgate_relay_processing_seconds", "histogram",
     "The relay's inline work on one exchange (credentials, policy, head rewrites), the latency "
     "it adds besides moving bytes."},
};

void line(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value) {
  out.append(name);
  if (!labels.empty()) {
    out.push_back('{');
    out.append(labels);
    out.push_back('}');
  }
  out.push_back(' ');
  out.append(std::to_string(value));
  out.push_back('\n');
}

std::string bound_text(double bound) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", bound);
  return text;
}

void histogram(std::string& out, std::string_view name, const LatencyHistogram& h) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    cumulative += h.counts[i];
    const std::string le =
        i + 1 < LatencyHistogram::kBuckets ? bound_text(LatencyHistogram::kBounds[i]) : "+Inf";
    line(out, std::string(name) + "_bucket", "le=\"" + le + "\"", cumulative);
  }
  // The sum travels in microseconds to keep every value an integer between workers.
  line(out, std::string(name) + "_sum_us", "", static_cast<std::uint64_t>(h.sum_seconds * 1e6));
  line(out, std::string(name) + "_count", "", h.count);
}

std::string_view family_of(std::string_view key) {
  key = key.substr(0, key.find('{'));
  for (const Family& family : kFamilies) {
    const std::string_view name = family.name;
    if (key == name) return name;
    if (key.size() > name.size() && key.substr(0, name.size()) == name &&
        (key.substr(name.size()) == "_bucket" || key.substr(name.size()) == "_sum_us" ||
         key.substr(name.size()) == "_count")) {
      return name;
    }
  }
  return {};
}

}  // namespace

void LatencyHistogram::record(std::uint64_t microseconds) {
  const double seconds = static_cast<double>(microseconds) / 1e6;
  std::size_t bucket = 0;
  while (bucket < std::size(kBounds) && seconds > kBounds[bucket]) ++bucket;
  ++counts[bucket];
  ++count;
  sum_seconds += seconds;
}

void McpCounters::count_tool_call(std::string_view name, bool allowed) {
  Tool* tool = nullptr;
  std::string label;
  for (char c : name.substr(0, kMaxLabelBytes)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
    label.push_back(plain ? c : '_');
  }
  for (std::size_t i = 0; i < tool_count && tool == nullptr; ++i) {
    if (tools[i].label == label) tool = &tools[i];
  }
  if (tool == nullptr && allowed && tool_count < kMaxToolLabels && !label.empty()) {
    tool = &tools[tool_count++];
    tool->label = std::move(label);
  }
  if (tool == nullptr) {
    tool = &tools[kMaxToolLabels];
    tool->label = "other";
  }
  ++tool->calls;
  if (!allowed) ++tool->denied;
}

void WorkerCounters::count_response(int status) {
  ++requests;
  if (status >= 200 && status < 300) {
    ++responses_2xx;
  } else if (status >= 300 && status < 400) {
    ++responses_3xx;
  } else if (status >= 400 && status < 500) {
    ++responses_4xx;
  } else if (status >= 500 && status < 600) {
    ++responses_5xx;
  } else {
    ++responses_other;
  }
}

std::string encode_signin_counters(const auth::SigninCounters& c) {
  std::string out;
  const auto event = [&out](std::string_view name, const std::atomic<std::uint64_t>& value) {
    line(out, "tunnelgate_signin_events_total", "event=\"" + std::string(name) + "\"",
         value.load(std::memory_order_relaxed));
  };
  event("signed_in", c.signins);
  event("signin_failed", c.signin_failures);
  event("consent_given", c.consents);
  event("client_registered", c.registrations);
  event("client_registration_refused", c.registrations_refused);
  event("token_issued", c.tokens_issued);
  event("token_refreshed", c.refreshes);
  event("refresh_token_reused", c.refresh_reuse);
  event("refresh_token_revoked", c.revocations);
  event("token_request_refused", c.token_errors);
  event("handoff", c.handoffs);
  event("handoff_refused", c.handoffs_refused);
  return out;
}

std::string encode_counters(const WorkerCounters& c, const WorkerGauges& g) {
  std::string out;
  line(out, "tunnelgate_requests_total", "", c.requests);
  line(out, "tunnelgate_responses_total", "class=\"2xx\"", c.responses_2xx);
  line(out, "tunnelgate_responses_total", "class=\"3xx\"", c.responses_3xx);
  line(out, "tunnelgate_responses_total", "class=\"4xx\"", c.responses_4xx);
  line(out, "tunnelgate_responses_total", "class=\"5xx\"", c.responses_5xx);
  line(out, "tunnelgate_responses_total", "class=\"other\"", c.responses_other);
  line(out, "tunnelgate_request_bytes_total", "", c.bytes_in);
  line(out, "tunnelgate_response_bytes_total", "", c.bytes_out);
  line(out, "tunnelgate_visitors_accepted_total", "", c.visitors_accepted);
  line(out, "tunnelgate_tls_handshakes_total", "", c.tls_handshakes);
  line(out, "tunnelgate_tls_failures_total", "", c.tls_failures);
  line(out, "tunnelgate_handoffs_total", "", c.handoffs_sent);
  line(out, "tunnelgate_handoffs_refused_total", "", c.handoffs_refused);
  line(out, "tunnelgate_connections_refused_total", "reason=\"per_source\"", c.refused_per_source);
  line(out, "tunnelgate_per_source_refusals_total", "answer=\"503\"", c.per_source_answered);
  line(out, "tunnelgate_per_source_refusals_total", "answer=\"close\"", c.per_source_closed);
  line(out, "tunnelgate_connections_refused_total", "reason=\"memory_budget\"",
       c.refused_memory_budget);
  line(out, "tunnelgate_proxy_protocol_refused_total", "", c.proxy_headers_refused);
  line(out, "tunnelgate_requests_refused_total", "reason=\"body_on_get_head\"",
       c.refused_get_head_body);
  line(out, "tunnelgate_response_desync_total", "", c.response_desyncs);
  line(out, "tunnelgate_signin_redirects_total", "", c.signin_redirects);
  line(out, "tunnelgate_ssh_sessions_accepted_total", "", c.sessions_accepted);
  line(out, "tunnelgate_ssh_auth_failures_total", "", c.ssh_auth_failures);
  line(out, "tunnelgate_ssh_connections_refused_total", "reason=\"per_source\"",
       c.ssh_refused_per_source);
  line(out, "tunnelgate_ssh_connections_refused_total", "reason=\"startups\"",
       c.ssh_refused_startups);
  line(out, "tunnelgate_ssh_connections_refused_total", "reason=\"descriptor_reserve\"",
       c.ssh_refused_descriptor_reserve);
  line(out, "tunnelgate_ssh_login_timeouts_total", "", c.ssh_login_timeouts);
  line(out, "tunnelgate_accept_fd_exhausted_total", "", c.accept_fd_exhausted);
  static constexpr const char* kForwardReasons[] = {"invalid_name", "policy", "name_taken",
                                                    "key_limit"};
  for (std::size_t i = 0; i < std::size(kForwardReasons); ++i) {
    line(out, "tunnelgate_forwards_refused_total",
         std::string("reason=\"") + kForwardReasons[i] + "\"", c.forwards_refused[i]);
  }
  static constexpr const char* kDenialReasons[] = {
      "no_credentials", "invalid_credentials", "deny_rule",  "no_allow_rule",
      "no_rule",        "insufficient_scope",  "query_token"};
  static_assert(std::size(kDenialReasons) == static_cast<std::size_t>(AccessDenial::kCount));
  for (std::size_t i = 0; i < std::size(kDenialReasons); ++i) {
    line(out, "tunnelgate_access_denials_total",
         std::string("reason=\"") + kDenialReasons[i] + "\"", c.access_denials[i]);
  }
  // Every reason but kNone, so a dashboard can show a zero before the first refusal.
  for (std::size_t i = 1; i < static_cast<std::size_t>(http::PathRefusal::kCount); ++i) {
    line(out, "tunnelgate_paths_refused_total",
         std::string("reason=\"") +
             std::string(http::to_string(static_cast<http::PathRefusal>(i))) + "\"",
         c.paths_refused[i]);
  }
  const McpCounters& m = c.mcp;
  line(out, "tunnelgate_mcp_messages_total", "", m.messages);
  line(out, "tunnelgate_mcp_messages_denied_total", "", m.messages_denied);
  for (std::size_t i = 0; i <= McpCounters::kMaxToolLabels; ++i) {
    const McpCounters::Tool& tool = m.tools[i];
    if (tool.calls == 0) continue;
    const std::string label = "tool=\"" + tool.label + "\"";
    line(out, "tunnelgate_mcp_tool_calls_total", label, tool.calls);
    line(out, "tunnelgate_mcp_tool_calls_denied_total", label, tool.denied);
  }
  line(out, "tunnelgate_mcp_requests_refused_total", "", m.requests_refused);
  line(out, "tunnelgate_mcp_lists_filtered_total", "", m.lists_filtered);
  line(out, "tunnelgate_mcp_list_entries_hidden_total", "", m.list_entries_hidden);
  line(out, "tunnelgate_mcp_session_refused_total", "", m.session_refused);
  line(out, "tunnelgate_mcp_tasks_bound_total", "", m.tasks_bound);
  line(out, "tunnelgate_mcp_task_refused_total", "", m.task_refused);
  line(out, "tunnelgate_mcp_header_unverifiable_total", "", m.header_unverifiable);
  line(out, "tunnelgate_mcp_param_mismatch_total", "", m.param_mismatch);
  line(out, "tunnelgate_mcp_streams_cut_total", "", m.streams_cut);
  line(out, "tunnelgate_origin_refused_total", "", m.origin_refused);
  line(out, "tunnelgate_tunnels", "", g.tunnels);
  line(out, "tunnelgate_ssh_sessions", "", g.sessions);
  line(out, "tunnelgate_ssh_unauthenticated", "", g.ssh_unauthenticated);
  line(out, "tunnelgate_visitor_connections", "", g.visitor_connections);
  line(out, "tunnelgate_handoff_queue_depth", "", g.handoff_queue_depth);
  line(out, "tunnelgate_buffered_bytes", "", g.buffered_bytes);
  line(out, "tunnelgate_mcp_sessions", "", g.mcp_sessions);
  line(out, "tunnelgate_mcp_tasks", "", g.mcp_tasks);
  histogram(out, "tunnelgate_tls_handshake_seconds", c.tls_handshake);
  histogram(out, "tunnelgate_first_response_byte_seconds", c.first_response_byte);
  histogram(out, "tunnelgate_relay_processing_seconds", c.relay_processing);
  return out;
}

std::map<std::string, std::uint64_t> parse_counters(std::string_view lines) {
  std::map<std::string, std::uint64_t> values;
  std::istringstream in{std::string(lines)};
  std::string name;
  std::uint64_t value = 0;
  while (in >> name >> value) values[name] = value;
  return values;
}

std::string render_metrics(const std::map<unsigned, std::string>& counters_by_worker) {
  // Each worker's lines, in its encoding order, grouped by family.
  std::map<std::string_view, std::string> samples;
  for (const auto& [worker, text] : counters_by_worker) {
    const std::string worker_label = "worker=\"" + std::to_string(worker) + "\"";
    std::istringstream in(text);
    std::string key;
    std::uint64_t value = 0;
    while (in >> key >> value) {
      const std::string_view family = family_of(key);
      if (family.empty()) continue;
      std::string name = key.substr(0, key.find('{'));
      std::string labels = worker_label;
      if (const auto brace = key.find('{'); brace != std::string::npos) {
        labels += "," + key.substr(brace + 1, key.size() - brace - 2);
      }
      std::string& out = samples[family];
      if (name.ends_with("_sum_us")) {  // back to seconds for Prometheus
        name.resize(name.size() - 3);
        char seconds[48];
        std::snprintf(seconds, sizeof seconds, "%.6f", static_cast<double>(value) / 1e6);
        out.append(name).append("{").append(labels).append("} ").append(seconds).append("\n");
      } else {
        out.append(name).append("{").append(labels).append("} ");
        out.append(std::to_string(value)).append("\n");
      }
    }
  }
  std::string out;
  for (const Family& family : kFamilies) {
    out += std::string("# HELP ") + family.name + " " + family.help + "\n";
    out += std::string("# TYPE ") + family.name + " " + family.type + "\n";
    out += samples[family.name];
  }
  return out;
}

std::optional<std::uint64_t> parse_since(std::string_view text, std::uint64_t now_epoch_ms) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  std::uint64_t number = 0;
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    number = number * 10 + static_cast<std::uint64_t>(text[digits] - '0');
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  const std::string_view rest = text.substr(digits);
  std::uint64_t unit_ms = 0;
  if (rest.empty()) return number * 1000;  // epoch seconds
  if (rest == "s") unit_ms = 1000;
  if (rest == "m") unit_ms = 60'000;
  if (rest == "h") unit_ms = 3'600'000;
  if (rest == "d") unit_ms = 86'400'000;
  if (unit_ms != 0) {
    const std::uint64_t back = number * unit_ms;
    return back >= now_epoch_ms ? 0 : now_epoch_ms - back;
  }
  std::tm utc{};
  const std::string copy(text);
  const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::time_t seconds = timegm(&utc);
  if (seconds < 0) return std::nullopt;
  return static_cast<std::uint64_t>(seconds) * 1000;
}

std::string iso_time(std::uint64_t epoch_ms) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(epoch_ms % 1000));
  return text;
}

}  // namespace tg
