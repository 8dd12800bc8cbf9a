#include "tools/load/report.h"

#include <string>

namespace tg::load {
namespace {

double us(std::uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

/// Milliseconds with three significant-ish decimals, for the text summary.
std::string ms(std::uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f ms", static_cast<double>(ns) / 1e6);
  return text;
}

double per_request_us(std::uint64_t cpu_ns, std::uint64_t requests) {
  return requests == 0 ? 0.0 : static_cast<double>(cpu_ns) / 1000.0 / static_cast<double>(requests);
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char code[8];
      std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned>(c));
      out += code;
    } else {
      out += c;
    }
  }
  return out;
}

/// {"p50":…,"p90":…,"p99":…,"p99_9":…,"max":…,"min":…,"mean":…,"count":…} in µs.
std::string json_percentiles(const LogHistogram& h) {
  char text[320];
  std::snprintf(text, sizeof text,
                "{\"count\":%llu,\"min\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
                "\"p99_9\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
                static_cast<unsigned long long>(h.count()), us(h.min()), us(h.percentile(50)),
                us(h.percentile(90)), us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()),
                h.mean() / 1000.0);
  return text;
}

/// The ports the server granted, up to the first 100 (sshd picks them for port 0).
std::string bound_ports(const PublisherReport& p) {
  std::string out = "[";
  for (std::size_t i = 0; i < p.bound_ports.size() && i < 100; ++i) {
    if (i > 0) out += ',';
    out += std::to_string(p.bound_ports[i]);
  }
  return out + "]";
}

std::string text_percentiles(const LogHistogram& h) {
  return "p50 " + ms(h.percentile(50)) + "  p90 " + ms(h.percentile(90)) + "  p99 " +
         ms(h.percentile(99)) + "  p99.9 " + ms(h.percentile(99.9)) + "  max " + ms(h.max());
}

const char* mode_name(const Options& o) {
  return o.rate > 0 ? "open-loop" : "closed-loop";
}

std::uint64_t visitor_cpu(const Summary& s) {
  return s.visitors ? s.visitors->cpu_ns : 0;
}

std::uint64_t rest_cpu(const Summary& s) {
  const std::uint64_t visitors = visitor_cpu(s);
  return s.process_cpu_ns > visitors ? s.process_cpu_ns - visitors : 0;
}

}  // namespace

void print_text(const Summary& s, std::FILE* out) {
  const Options& o = *s.options;
  if (s.visitors) {
    std::fprintf(
        out,
        "tunnelgate-load: %s%s, %s, %u connections, %u thread%s, %.2f s measured after %.2f s "
        "warm-up%s\n",
        mode_name(o),
        o.rate > 0 ? (" at " + std::to_string(static_cast<long long>(o.rate)) + " req/s").c_str()
                   : "",
        o.handshake_per_request ? "handshake per request" : "keep-alive", o.connections, o.threads,
        o.threads == 1 ? "" : "s", s.measured_s, o.warmup_s, s.interrupted ? " (interrupted)" : "");
    std::fprintf(out, "  target       https://%s  %zu name%s (%s.%s …)  %s %s\n",
                 o.https.text().c_str(), s.names, s.names == 1 ? "" : "s", s.first_name.c_str(),
                 o.sni_domain.c_str(), o.method.c_str(), o.path.c_str());
  }
  if (s.publisher && !s.visitors) {
    std::fprintf(out, "tunnelgate-load: publisher only, tunnels held %.2f s%s\n", s.measured_s,
                 s.interrupted ? " (interrupted)" : "");
  }
  if (s.publisher) {
    const PublisherReport& p = *s.publisher;
    std::fprintf(
        out,
        "  publisher    %u tunnel%s over %u SSH session%s to %s, backend %s\n"
        "               set-up (connect → forward granted) p50 %s  p99 %s  max %s\n"
        "               after auth (time to URL)           p50 %s  p99 %s  max %s\n"
        "               %llu channels, %llu requests served, %llu bad, %llu sessions lost\n",
        p.tunnels_opened, p.tunnels_opened == 1 ? "" : "s", p.sessions, p.sessions == 1 ? "" : "s",
        o.ssh.text().c_str(), o.backend.describe().c_str(), ms(p.setup_ns.percentile(50)).c_str(),
        ms(p.setup_ns.percentile(99)).c_str(), ms(p.setup_ns.max()).c_str(),
        ms(p.forward_ns.percentile(50)).c_str(), ms(p.forward_ns.percentile(99)).c_str(),
        ms(p.forward_ns.max()).c_str(), static_cast<unsigned long long>(p.channels),
        static_cast<unsigned long long>(p.requests),
        static_cast<unsigned long long>(p.bad_requests),
        static_cast<unsigned long long>(p.sessions_lost));
    if (!p.first_error.empty()) {
      std::fprintf(out, "               first error: %s\n", p.first_error.c_str());
    }
  }
  if (s.visitors) {
    const VisitorReport& v = *s.visitors;
    const double seconds = s.measured_s > 0 ? s.measured_s : 1;
    std::fprintf(out, "  requests     %llu completed, %llu 2xx, %.1f req/s\n",
                 static_cast<unsigned long long>(v.requests), static_cast<unsigned long long>(v.ok),
                 static_cast<double>(v.ok) / seconds);
    if (o.idle) {
      std::fprintf(out, "  idle         %llu of %u connections held open after one request\n",
                   static_cast<unsigned long long>(s.idle_peak), o.connections);
    }
    if (o.rate > 0) {
      std::fprintf(out, "  timetable    %llu due in the window, %llu unfinished after the drain\n",
                   static_cast<unsigned long long>(v.scheduled),
                   static_cast<unsigned long long>(v.unfinished));
    }
    std::fprintf(out, "  latency      %s  (mean %s)%s\n", text_percentiles(v.latency).c_str(),
                 ms(static_cast<std::uint64_t>(v.latency.mean())).c_str(),
                 o.rate > 0 ? ", from scheduled send times" : "");
    if (v.sse_events > 0) {
      std::fprintf(out,
                   "  sse          %llu events, added latency (backend write → visitor read) %s\n"
                   "               tool cpu %.1f µs/event\n",
                   static_cast<unsigned long long>(v.sse_events),
                   text_percentiles(v.sse_latency).c_str(),
                   per_request_us(s.process_cpu_ns, v.sse_events));
    }
    std::fprintf(
        out, "  handshakes   %llu in the window (%.1f/s); connect → TLS done p50 %s  p99 %s\n",
        static_cast<unsigned long long>(v.handshakes), static_cast<double>(v.handshakes) / seconds,
        ms(v.handshake.percentile(50)).c_str(), ms(v.handshake.percentile(99)).c_str());
    const ErrorCounts& e = v.errors;
    std::fprintf(
        out,
        "  errors       %llu (connect %llu, tls %llu, http %llu, timeout %llu, protocol %llu, "
        "closed %llu)\n",
        static_cast<unsigned long long>(e.total()), static_cast<unsigned long long>(e.connect),
        static_cast<unsigned long long>(e.tls), static_cast<unsigned long long>(e.http),
        static_cast<unsigned long long>(e.timeout), static_cast<unsigned long long>(e.protocol),
        static_cast<unsigned long long>(e.closed));
    if (!v.first_error.empty()) {
      std::fprintf(out, "               first error: %s\n", v.first_error.c_str());
    }
    std::fprintf(out,
                 "  transfer     %.2f MB sent (%.1f MB/s), %.2f MB received (%.1f MB/s), TLS bytes "
                 "in the window\n",
                 static_cast<double>(v.bytes_sent) / 1e6,
                 static_cast<double>(v.bytes_sent) / 1e6 / seconds,
                 static_cast<double>(v.bytes_received) / 1e6,
                 static_cast<double>(v.bytes_received) / 1e6 / seconds);
    if (s.publisher) {
      std::fprintf(
          out,
          "  tool cpu     %.1f µs/request (visitors %.1f, publisher %.1f); %.2f s + %.2f s "
          "over the window\n",
          per_request_us(s.process_cpu_ns, v.requests), per_request_us(visitor_cpu(s), v.requests),
          per_request_us(rest_cpu(s), v.requests), static_cast<double>(visitor_cpu(s)) / 1e9,
          static_cast<double>(rest_cpu(s)) / 1e9);
    } else {
      std::fprintf(out, "  tool cpu     %.1f µs/request; %.2f s over the window\n",
                   per_request_us(s.process_cpu_ns, v.requests),
                   static_cast<double>(s.process_cpu_ns) / 1e9);
    }
  } else if (s.publisher) {
    std::fprintf(out, "  tool cpu     %.3f s over %.2f s, %.1f µs/request served\n",
                 static_cast<double>(s.process_cpu_ns) / 1e9, s.measured_s,
                 per_request_us(s.process_cpu_ns, s.publisher->requests));
  }
  if (s.machine_busy) {
    // Near 100 %: the run was bound by the cores everyone shares, not by the relay alone.
    std::fprintf(out, "  machine      %.0f %% of all cores busy over the window\n",
                 *s.machine_busy * 100.0);
  }
}

void print_json(const Summary& s, std::FILE* out) {
  const Options& o = *s.options;
  std::string j = "{";
  auto field = [&](const std::string& name, const std::string& value) {
    if (j.size() > 1) j += ',';
    j += '"' + name + "\":" + value;
  };
  auto number = [](double value) {
    char text[40];
    std::snprintf(text, sizeof text, "%.3f", value);
    return std::string(text);
  };
  auto integer = [](std::uint64_t value) { return std::to_string(value); };
  auto string = [](const std::string& value) { return '"' + json_escape(value) + '"'; };

  field("mode", string(mode_name(o)));
  field("keepalive", o.handshake_per_request ? "false" : "true");
  field("rate", o.rate > 0 ? number(o.rate) : "null");
  field("connections", integer(o.connections));
  field("threads", integer(o.threads));
  field("duration_s", number(s.measured_s));
  field("warmup_s", number(o.warmup_s));
  field("interrupted", s.interrupted ? "true" : "false");
  field("method", string(o.method));
  field("path", string(o.path));
  field("names", integer(s.names));
  if (s.visitors) {
    const VisitorReport& v = *s.visitors;
    const double seconds = s.measured_s > 0 ? s.measured_s : 1;
    field("requests", integer(v.requests));
    field("ok", integer(v.ok));
    field("throughput_rps", number(static_cast<double>(v.ok) / seconds));
    field("latency_us", json_percentiles(v.latency));
    if (o.idle) field("idle_connections", integer(s.idle_peak));
    if (o.rate > 0) {
      field("scheduled", integer(v.scheduled));
      field("unfinished", integer(v.unfinished));
    }
    const ErrorCounts& e = v.errors;
    field("errors", "{\"total\":" + integer(e.total()) + ",\"connect\":" + integer(e.connect) +
                        ",\"tls\":" + integer(e.tls) + ",\"http\":" + integer(e.http) +
                        ",\"timeout\":" + integer(e.timeout) + ",\"protocol\":" +
                        integer(e.protocol) + ",\"closed\":" + integer(e.closed) + "}");
    field("first_error", v.first_error.empty() ? "null" : string(v.first_error));
    std::string statuses = "{";
    for (const auto& [status, count] : v.statuses) {
      if (statuses.size() > 1) statuses += ',';
      statuses += "\"" + std::to_string(status) + "\":" + integer(count);
    }
    field("status", statuses + "}");
    field("handshakes", integer(v.handshakes));
    field("handshakes_per_s", number(static_cast<double>(v.handshakes) / seconds));
    field("handshake_us", json_percentiles(v.handshake));
    field("bytes_sent", integer(v.bytes_sent));
    field("bytes_received", integer(v.bytes_received));
    field("sent_mb_per_s", number(static_cast<double>(v.bytes_sent) / 1e6 / seconds));
    field("received_mb_per_s", number(static_cast<double>(v.bytes_received) / 1e6 / seconds));
    field("sse", "{\"events\":" + integer(v.sse_events) + ",\"added_latency_us\":" +
                     json_percentiles(v.sse_latency) + ",\"cpu_us_per_event\":" +
                     number(per_request_us(s.process_cpu_ns, v.sse_events)) + "}");
    std::string cpu =
        "{\"total_us_per_request\":" + number(per_request_us(s.process_cpu_ns, v.requests)) +
        ",\"visitor_us_per_request\":" + number(per_request_us(visitor_cpu(s), v.requests));
    if (s.publisher) {
      cpu += ",\"publisher_us_per_request\":" + number(per_request_us(rest_cpu(s), v.requests));
    }
    cpu += ",\"visitor_s\":" + number(static_cast<double>(visitor_cpu(s)) / 1e9);
    cpu += ",\"process_s\":" + number(static_cast<double>(s.process_cpu_ns) / 1e9) + "}";
    field("cpu", cpu);
  } else {
    field("cpu", "{\"process_s\":" + number(static_cast<double>(s.process_cpu_ns) / 1e9) + "}");
  }
  if (s.publisher) {
    const PublisherReport& p = *s.publisher;
    field("publisher",
          "{\"tunnels\":" + integer(p.tunnels_opened) + ",\"tunnels_requested\":" +
              integer(p.tunnels_requested) + ",\"sessions\":" + integer(p.sessions) +
              ",\"backend\":" + string(o.backend.describe()) +
              ",\"setup_us\":" + json_percentiles(p.setup_ns) +
              ",\"time_to_url_us\":" + json_percentiles(p.forward_ns) +
              ",\"channels\":" + integer(p.channels) + ",\"requests\":" + integer(p.requests) +
              ",\"bad_requests\":" + integer(p.bad_requests) +
              ",\"backend_connect_failures\":" + integer(p.backend_connect_failures) +
              ",\"sessions_lost\":" + integer(p.sessions_lost) +
              ",\"unflushed_sessions\":" + integer(p.unflushed_sessions) +
              ",\"bound_ports\":" + bound_ports(p) + ",\"first_error\":" +
              (p.first_error.empty() ? std::string("null") : string(p.first_error)) + "}");
  }
  field("machine_busy", s.machine_busy ? number(*s.machine_busy) : std::string("null"));
  j += "}\n";
  std::fputs(j.c_str(), out);
}

}  // namespace tg::load
