// tunnelgate-load: the load generator bundled with tunnelgate. It publishes tunnels itself
// (libssh client, built-in backends), drives TLS visitors at them over io_uring, and prints
// what a benchmark needs: throughput, latency percentiles without coordinated omission, SSE
// added latency, errors by kind, and its own CPU per request. This file reads the command
// line, lays out the run's timeline, starts the publisher and visitor threads, prints the
// progress line, and merges the results. See README.md, "Load generator".
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "relay/base/file_limit.h"
#include "tls/tls.h"
#include "tools/load/clock.h"
#include "tools/load/machine_cpu.h"
#include "tools/load/options.h"
#include "tools/load/publisher.h"
#include "tools/load/report.h"
#include "tools/load/visitor.h"

namespace {

using namespace tg::load;

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true);
}

std::uint64_t process_cpu_ns() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return (static_cast<std::uint64_t>(usage.ru_utime.tv_sec) +
          static_cast<std::uint64_t>(usage.ru_stime.tv_sec)) *
             1'000'000'000u +
         (static_cast<std::uint64_t>(usage.ru_utime.tv_usec) +
          static_cast<std::uint64_t>(usage.ru_stime.tv_usec)) *
             1'000u;
}

std::uint64_t seconds_ns(double seconds) {
  return static_cast<std::uint64_t>(seconds * 1e9);
}

/// Sleeps until `deadline_ns` (CLOCK_MONOTONIC), a signal, or `done()`, in steps short
/// enough to notice SIGINT promptly.
template <typename Done>
void sleep_until(std::uint64_t deadline_ns, Done done) {
  while (!g_stop.load() && !done()) {
    const std::uint64_t now = monotonic_ns();
    if (now >= deadline_ns) return;
    const std::uint64_t step = std::min<std::uint64_t>(deadline_ns - now, 50'000'000);
    timespec ts{static_cast<time_t>(step / 1'000'000'000u),
                static_cast<long>(step % 1'000'000'000u)};
    nanosleep(&ts, nullptr);
  }
}

void sleep_until(std::uint64_t deadline_ns) {
  sleep_until(deadline_ns, [] { return false; });
}

/// A literal IPv4 or IPv6 address (--source) as a socket address with port 0.
bool parse_address(const std::string& text, sockaddr_storage& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (getaddrinfo(text.c_str(), "0", &hints, &found) != 0 || found == nullptr) return false;
  out = {};
  std::memcpy(&out, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  return true;
}

tg::Result<RunPlan> make_plan(const Options& options, const std::vector<std::string>& names) {
  RunPlan plan;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.https.port);
  if (const int rc = getaddrinfo(options.https.host.c_str(), port.c_str(), &hints, &found);
      rc != 0 || found == nullptr) {
    return tg::make_error("--https: cannot resolve " + options.https.host + ": " +
                          gai_strerror(rc));
  }
  std::memcpy(&plan.address, found->ai_addr, found->ai_addrlen);
  plan.address_len = found->ai_addrlen;
  freeaddrinfo(found);
  plan.ca_path = options.ca_path;
  plan.method = options.method;

  const std::string body = request_body(options);
  // Bodies up to 256 KiB are encrypted with the head in one go; larger ones are streamed in
  // pieces (plain bytes, not JSON) so that a 1 GiB upload never sits in memory.
  constexpr std::size_t kInlineBody = 256 * 1024;
  const bool inline_body = body.size() <= kInlineBody;
  if (!inline_body) plan.streamed_body = options.body_size;
  const bool has_body = options.body_size_given || !body.empty();
  for (const std::string& name : names) {
    RunPlan::Target target;
    target.server_name = name + "." + options.sni_domain;
    std::string& r = target.request;
    r = options.method + " " + options.path + " HTTP/1.1\r\nHost: " + target.server_name;
    if (options.https.port != 443) r += ":" + std::to_string(options.https.port);
    r += "\r\nUser-Agent: tunnelgate-load\r\n";
    bool has_content_type = false;
    bool has_accept = false;
    for (const std::string& header : options.headers) {
      const std::string lower = [&] {
        std::string text = header.substr(0, header.find(':'));
        for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return text;
      }();
      has_content_type = has_content_type || lower == "content-type";
      has_accept = has_accept || lower == "accept";
      r += header + "\r\n";
    }
    if (has_body && !has_content_type) r += "Content-Type: application/json\r\n";
    if (!has_accept) r += "Accept: application/json, text/event-stream\r\n";
    if (has_body) {
      r += "Content-Length: " +
           std::to_string(options.body_size_given ? options.body_size : body.size()) + "\r\n";
    }
    if (options.handshake_per_request) r += "Connection: close\r\n";
    r += "\r\n";
    if (inline_body) r += body;
    plan.targets.push_back(std::move(target));
  }
  plan.connections = options.connections;
  plan.handshake_per_request = options.handshake_per_request;
  plan.requests_per_connection = options.requests_per_connection;
  plan.idle = options.idle;
  for (const std::string& source : options.sources) {
    sockaddr_storage address{};
    if (!parse_address(source, address) || address.ss_family != plan.address.ss_family) {
      return tg::make_error("--source: not a local address of the --https address's family: " +
                            source);
    }
    plan.sources.push_back(address);
  }
  plan.open_loop = options.rate > 0;
  plan.timeout_ns = seconds_ns(options.timeout_s);
  return plan;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "tunnelgate-load: %s\n", message.c_str());
  return 1;
}

}  // namespace

// Only start-up can throw (out of memory, a thread that cannot start); the process then ends
// with the exception's message, as it should.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (!parsed) {
    if (parsed.error().message.empty()) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "tunnelgate-load: %s\n(run with --help for the options)\n",
                 parsed.error().message.c_str());
    return 2;
  }
  const Options& options = *parsed;
  const bool progress = options.progress || isatty(STDERR_FILENO) == 1;

  signal(SIGPIPE, SIG_IGN);
  struct sigaction action {};
  action.sa_handler = &on_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  tg::raise_file_limit();
  tg::tls::init_library();

  Summary summary;
  summary.options = &options;

  std::unique_ptr<Publisher> publisher;
  std::vector<std::string> names = visit_names(options);
  if (options.publish > 0) {
    publisher = std::make_unique<Publisher>(options);
    const std::uint64_t started = monotonic_ns();
    if (auto status = publisher->open(); !status) {
      publisher->stop();
      return fail(status.error().message);
    }
    const PublisherReport setup = publisher->report();
    std::fprintf(stderr,
                 "tunnelgate-load: published %u tunnels over %u SSH sessions in %.1f ms "
                 "(set-up p50 %.2f ms, p99 %.2f ms)\n",
                 setup.tunnels_opened, setup.sessions,
                 static_cast<double>(monotonic_ns() - started) / 1e6,
                 static_cast<double>(setup.setup_ns.percentile(50)) / 1e6,
                 static_cast<double>(setup.setup_ns.percentile(99)) / 1e6);
    publisher->start();
  }
  summary.names = names.size();
  summary.first_name = names.empty() ? "" : names.front();

  // Publisher only: hold the tunnels for another client (wrk, curl) to drive.
  if (!options.visit) {
    for (const std::string& name : names) {
      if (options.sni_domain.empty()) {
        std::fprintf(stderr, "  %s\n", name.c_str());
      } else {
        std::fprintf(stderr, "  https://%s.%s/\n", name.c_str(), options.sni_domain.c_str());
      }
    }
    const std::uint64_t begin = monotonic_ns();
    const std::uint64_t cpu_begin = process_cpu_ns();
    const auto machine_begin = read_machine_ticks();
    const std::uint64_t end = begin + seconds_ns(options.duration_s);
    std::uint64_t last = 0;
    for (std::uint64_t tick = begin + 1'000'000'000u; !g_stop.load() && tick <= end + 1;
         tick += 1'000'000'000u) {
      sleep_until(std::min(tick, end));
      if (progress && !g_stop.load()) {
        const std::uint64_t served = publisher->requests_so_far();
        std::fprintf(stderr, "[%5.0fs] %llu req/s served\n",
                     static_cast<double>(tick - begin) / 1e9,
                     static_cast<unsigned long long>(served - last));
        last = served;
      }
      if (tick >= end) break;
    }
    summary.interrupted = g_stop.load();
    summary.measured_s = static_cast<double>(monotonic_ns() - begin) / 1e9;
    summary.process_cpu_ns = process_cpu_ns() - cpu_begin;
    summary.machine_busy = busy_fraction(machine_begin, read_machine_ticks());
    publisher->stop();
    summary.publisher = publisher->report();
    if (options.json) {
      print_json(summary, stdout);
    } else {
      print_text(summary, stdout);
    }
    return 0;
  }

  auto plan_result = make_plan(options, names);
  if (!plan_result) return fail(plan_result.error().message);
  RunPlan plan = std::move(*plan_result);
  plan.start_ns = monotonic_ns();
  plan.measure_begin_ns = plan.start_ns + seconds_ns(options.warmup_s);
  plan.measure_end_ns = plan.measure_begin_ns + seconds_ns(options.duration_s);
  // The open loop waits this long after the window for answers to what was due inside it.
  plan.drain_end_ns = plan.measure_end_ns + std::min(seconds_ns(options.timeout_s), seconds_ns(2));
  if (plan.open_loop) {
    plan.schedule = OpenLoopSchedule(plan.start_ns, options.rate, options.connections);
  }

  std::vector<std::unique_ptr<VisitorThread>> visitors;
  for (std::uint32_t t = 0; t < options.threads; ++t) {
    visitors.push_back(std::make_unique<VisitorThread>(plan, t, options.threads, g_stop));
  }
  std::vector<std::thread> threads;
  threads.reserve(visitors.size());
  for (auto& visitor : visitors) threads.emplace_back([&visitor] { visitor->run(); });

  auto live = [&] {
    std::uint64_t responses = 0;
    std::uint64_t errors = 0;
    std::uint64_t idle = 0;
    for (const auto& visitor : visitors) {
      responses += visitor->live_responses.load(std::memory_order_relaxed);
      errors += visitor->live_errors.load(std::memory_order_relaxed);
      idle += visitor->live_idle.load(std::memory_order_relaxed);
    }
    return std::tuple{responses, errors, idle};
  };
  // --requests-per-connection: the run ends when every thread is done.
  auto all_done = [&] {
    return std::all_of(visitors.begin(), visitors.end(),
                       [](const auto& visitor) { return visitor->done.load(); });
  };
  // The timeline: progress once a second; the process's CPU read at the window's edges.
  std::uint64_t cpu_begin = 0;
  std::optional<MachineTicks> machine_begin;
  std::optional<MachineTicks> machine_end;
  bool measuring = false;
  std::uint64_t last_responses = 0;
  const std::uint64_t end_ns = plan.open_loop ? plan.drain_end_ns : plan.measure_end_ns;
  for (std::uint64_t tick = plan.start_ns + 1'000'000'000u;; tick += 1'000'000'000u) {
    if (!measuring) {
      sleep_until(std::min(tick, plan.measure_begin_ns), all_done);
      if (monotonic_ns() >= plan.measure_begin_ns) {
        measuring = true;
        cpu_begin = process_cpu_ns();
        machine_begin = read_machine_ticks();
      }
    }
    sleep_until(std::min(tick, end_ns), all_done);
    if (g_stop.load() || monotonic_ns() >= end_ns || all_done()) {
      machine_end = read_machine_ticks();
      break;
    }
    const auto [responses, errors, idle] = live();
    summary.idle_peak = std::max(summary.idle_peak, idle);
    if (progress) {
      const double elapsed = static_cast<double>(monotonic_ns() - plan.start_ns) / 1e9;
      std::fprintf(stderr, "[%5.0fs] %llu req/s, %llu errors%s", elapsed,
                   static_cast<unsigned long long>(responses - last_responses),
                   static_cast<unsigned long long>(errors),
                   monotonic_ns() < plan.measure_begin_ns ? " (warm-up)" : "");
      if (options.idle) {
        std::fprintf(stderr, ", %llu of %u connections idle", static_cast<unsigned long long>(idle),
                     options.connections);
      }
      std::fputc('\n', stderr);
      last_responses = responses;
    }
  }
  const std::uint64_t stopped_at = monotonic_ns();
  for (auto& thread : threads) thread.join();
  const std::uint64_t cpu_end = process_cpu_ns();
  if (publisher != nullptr) {
    publisher->stop();
    summary.publisher = publisher->report();
  }

  summary.interrupted = g_stop.load();
  VisitorReport merged;
  for (const auto& visitor : visitors) merged.merge(visitor->report());
  std::uint64_t window_end = std::min(plan.measure_end_ns, stopped_at);
  // Every connection finished its requests: the window ends with the last of them.
  if (merged.finished_ns != 0) window_end = std::min(window_end, merged.finished_ns);
  summary.measured_s = window_end > plan.measure_begin_ns
                           ? static_cast<double>(window_end - plan.measure_begin_ns) / 1e9
                           : 0.0;
  summary.process_cpu_ns = measuring ? cpu_end - cpu_begin : 0;
  summary.machine_busy = busy_fraction(machine_begin, machine_end);
  summary.visitors = std::move(merged);
  if (options.json) {
    print_json(summary, stdout);
  } else {
    print_text(summary, stdout);
  }
  return summary.visitors->ok == 0 ? 1 : 0;  // nothing succeeded: a script should notice
}
