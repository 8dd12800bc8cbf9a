/// How busy the whole machine was over the measured window, from the kernel's `cpu` line in
/// /proc/stat. The load generator shares the cores with the relay it drives; a run that kept
/// every core busy was bound by CPU, and its requests/s is what the CPU per request of all the
/// parties allows, not what the relay alone would do. The report says so with this figure.
#pragma once

#include <charconv>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace tg::load {

/// Ticks since boot summed over all cores: `busy` counts everything but idle and iowait.
struct MachineTicks {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};

/// Parses the aggregate `cpu` line at the start of /proc/stat's text (user nice system idle
/// iowait irq softirq steal, further columns ignored); nullopt when it is not there.
inline std::optional<MachineTicks> parse_proc_stat(std::string_view text) {
  constexpr std::string_view kPrefix = "cpu ";
  if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  std::uint64_t columns[8] = {};
  for (std::uint64_t& column : columns) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), column);
    if (error != std::errc()) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  }
  const std::uint64_t idle = columns[3] + columns[4];
  MachineTicks ticks;
  for (const std::uint64_t column : columns) ticks.total += column;
  ticks.busy = ticks.total - idle;
  return ticks;
}

/// The machine's ticks now; nullopt when /proc/stat cannot be read.
inline std::optional<MachineTicks> read_machine_ticks() {
  std::ifstream file("/proc/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  return parse_proc_stat(line);
}

/// Busy share of all cores between two readings, 0..1; nullopt when either is missing or no
/// tick passed.
inline std::optional<double> busy_fraction(const std::optional<MachineTicks>& begin,
                                           const std::optional<MachineTicks>& end) {
  if (!begin || !end || end->total <= begin->total || end->busy < begin->busy) return std::nullopt;
  return static_cast<double>(end->busy - begin->busy) /
         static_cast<double>(end->total - begin->total);
}

}  // namespace tg::load
