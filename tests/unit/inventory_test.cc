#include "relay/admin/inventory.h"

#include <gtest/gtest.h>

namespace tg {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000'000;  // ms since the epoch

TEST(ParseSince, DurationsCountBackFromNow) {
  EXPECT_EQ(parse_since("90s", kNow), kNow - 90'000);
  EXPECT_EQ(parse_since("15m", kNow), kNow - 15 * 60'000);
  EXPECT_EQ(parse_since("1h", kNow), kNow - 3'600'000);
  EXPECT_EQ(parse_since("2d", kNow), kNow - 2 * 86'400'000ull);
  EXPECT_EQ(parse_since("999999999d", kNow), 0u) << "clamped at the epoch";
}

TEST(ParseSince, AbsoluteTimes) {
  EXPECT_EQ(parse_since("1700000000", kNow), 1'700'000'000'000u);
  EXPECT_EQ(parse_since("2026-11-26T08:00:00Z", kNow), 1'795'680'000'000u);
}

TEST(ParseSince, RefusesAnythingElse) {
  for (const char* text :
       {"", "yesterday", "1w", "h", "-5m", "2026-11-26", "1h ", "2026-11-26T08:00:00+01:00"}) {
    EXPECT_FALSE(parse_since(text, kNow).has_value()) << text;
  }
}

TEST(Metrics, EachWorkerHasItsOwnSeriesInExpositionFormat) {
  WorkerCounters a, b;
  a.count_response(200);
  a.count_response(503);
  b.count_response(204);
  b.count_response(101);
  WorkerGauges ga{3, 1, 7}, gb{0, 0, 2};
  const std::string text =
      render_metrics({{0, encode_counters(a, ga)}, {1, encode_counters(b, gb)}});
  EXPECT_NE(text.find("# TYPE tunnelgate_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("tunnelgate_requests_total{worker=\"0\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("tunnelgate_responses_total{worker=\"0\",class=\"5xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("tunnelgate_responses_total{worker=\"1\",class=\"2xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("tunnelgate_responses_total{worker=\"1\",class=\"other\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE tunnelgate_tunnels gauge\n"), std::string::npos);
  EXPECT_NE(text.find("tunnelgate_visitor_connections{worker=\"0\"} 7\n"), std::string::npos);
  // Every sample line is "name{labels} value": nothing else between HELP/TYPE lines.
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# ", 0) == 0) continue;
    EXPECT_NE(line.find("{worker=\""), std::string::npos) << line;
  }
}

TEST(Metrics, HistogramsAreCumulativeWithSumAndCountInSeconds) {
  WorkerCounters c;
  c.tls_handshake.record(80);          // 0.08 ms: the first bucket
  c.tls_handshake.record(3'000);       // 3 ms: le=0.005
  c.tls_handshake.record(20'000'000);  // 20 s: only +Inf
  const std::string text = render_metrics({{0, encode_counters(c, WorkerGauges{})}});
  EXPECT_NE(text.find("# TYPE tunnelgate_tls_handshake_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("tunnelgate_tls_handshake_seconds_bucket{worker=\"0\",le=\"0.0001\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("tunnelgate_tls_handshake_seconds_bucket{worker=\"0\",le=\"0.0025\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("tunnelgate_tls_handshake_seconds_bucket{worker=\"0\",le=\"0.005\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("tunnelgate_tls_handshake_seconds_bucket{worker=\"0\",le=\"10\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("tunnelgate_tls_handshake_seconds_bucket{worker=\"0\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("tunnelgate_tls_handshake_seconds_count{worker=\"0\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("tunnelgate_tls_handshake_seconds_sum{worker=\"0\"} 20.003080\n"),
            std::string::npos);
}

TEST(Metrics, CountersRoundTrip) {
  WorkerCounters c;
  c.bytes_in = 12;
  c.tls_failures = 4;
  const auto values = parse_counters(encode_counters(c, WorkerGauges{}));
  EXPECT_EQ(values.at("tunnelgate_request_bytes_total"), 12u);
  EXPECT_EQ(values.at("tunnelgate_tls_failures_total"), 4u);
}

}  // namespace
}  // namespace tg
