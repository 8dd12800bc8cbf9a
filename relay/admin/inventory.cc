#include "relay/admin/inventory.h"

#include <cstdio>
#include <ctime>
#include <sstream>

namespace tg {
namespace {

struct Metric {
  const char* name;
  const char* type;
  const char* help;
};

// The exposition order and text of every line a worker encodes.
constexpr Metric kMetrics[] = {
    {"tunnelgate_requests_total", "counter", "Visitor requests answered."},
    {"tunnelgate_responses_2xx_total", "counter", "Responses with a 2xx status."},
    {"tunnelgate_responses_3xx_total", "counter", "Responses with a 3xx status."},
    {"tunnelgate_responses_4xx_total", "counter", "Responses with a 4xx status."},
    {"tunnelgate_responses_5xx_total", "counter", "Responses with a 5xx status."},
    {"tunnelgate_responses_other_total", "counter", "Responses with another status (101)."},
    {"tunnelgate_request_bytes_total", "counter", "Request bytes sent to publishers."},
    {"tunnelgate_response_bytes_total", "counter", "Response bytes sent to visitors."},
    {"tunnelgate_visitors_accepted_total", "counter", "Visitor connections accepted."},
    {"tunnelgate_tls_failures_total", "counter", "Visitor TLS handshakes that failed."},
    {"tunnelgate_handoffs_total", "counter", "Visitor connections handed to another worker."},
    {"tunnelgate_handoffs_refused_total", "counter", "Handoffs refused by a full queue."},
    {"tunnelgate_ssh_sessions_accepted_total", "counter", "SSH connections accepted."},
    {"tunnelgate_forwards_refused_total", "counter", "tcpip-forward requests refused."},
    {"tunnelgate_tunnels", "gauge", "Tunnels published now."},
    {"tunnelgate_ssh_sessions", "gauge", "SSH sessions open now."},
    {"tunnelgate_visitor_connections", "gauge", "Visitor connections open now."},
};

}  // namespace

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

std::string encode_counters(const WorkerCounters& c, const WorkerGauges& g) {
  const std::uint64_t values[] = {c.requests,         c.responses_2xx,    c.responses_3xx,
                                  c.responses_4xx,    c.responses_5xx,    c.responses_other,
                                  c.bytes_in,         c.bytes_out,        c.visitors_accepted,
                                  c.tls_failures,     c.handoffs_sent,    c.handoffs_refused,
                                  c.sessions_accepted, c.forwards_refused, g.tunnels,
                                  g.sessions,         g.visitor_connections};
  static_assert(std::size(values) == std::size(kMetrics));
  std::string out;
  for (std::size_t i = 0; i < std::size(kMetrics); ++i) {
    out += kMetrics[i].name;
    out += ' ';
    out += std::to_string(values[i]);
    out += '\n';
  }
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
  std::map<unsigned, std::map<std::string, std::uint64_t>> values;
  for (const auto& [worker, text] : counters_by_worker) values[worker] = parse_counters(text);
  std::string out;
  for (std::size_t i = 0; i < std::size(kMetrics); ++i) {
    out += "# HELP ";
    out += kMetrics[i].name;
    out += ' ';
    out += kMetrics[i].help;
    out += "\n# TYPE ";
    out += kMetrics[i].name;
    out += ' ';
    out += kMetrics[i].type;
    out += '\n';
    for (const auto& [worker, row] : values) {
      auto it = row.find(kMetrics[i].name);
      if (it == row.end()) continue;
      out += kMetrics[i].name;
      out += "{worker=\"" + std::to_string(worker) + "\"} " + std::to_string(it->second) + "\n";
    }
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
