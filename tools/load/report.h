/// The final summary of a run, as text for a person or one JSON object for a script.
///
/// Latencies are microseconds from the log-bucketed histogram (within 0.8 % of the true
/// sample, see histogram.h). Throughput counts 2xx responses per measured second; every
/// other outcome is an error of a named kind. The tool's own CPU time per request is shown
/// so that a benchmark can subtract the load generator from the machine it shares with the
/// relay; with an in-process publisher it is split into the visitor threads and the rest of
/// the process (the publisher thread, plus a negligible main thread).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "tools/load/options.h"
#include "tools/load/publisher.h"
#include "tools/load/visitor.h"

namespace tg::load {

struct Summary {
  const Options* options = nullptr;
  std::size_t names = 0;
  std::string first_name;
  double measured_s = 0;  // the window actually measured (shorter when interrupted)
  bool interrupted = false;
  std::optional<VisitorReport> visitors;
  std::optional<PublisherReport> publisher;
  std::uint64_t process_cpu_ns = 0;    // whole process, over the window
  std::uint64_t idle_peak = 0;         // --idle: most connections seen holding at once
  std::optional<double> machine_busy;  // share of all cores busy over the window (0..1)
};

void print_text(const Summary& summary, std::FILE* out);
void print_json(const Summary& summary, std::FILE* out);

}  // namespace tg::load
