/// The open-loop timetable: when each request is due, fixed before the run starts.
///
/// Closed-loop load (send the next request when the last answer arrives) slows down exactly
/// when the server does, so a stall of one second costs one slow sample instead of the
/// thousand requests that real clients would have sent meanwhile: "coordinated omission".
/// Open-loop load sends on a timetable that does not listen to the server. Request n (over
/// all connections) is due at start + n / rate; connection c owns requests c, c + M, c + 2M,
/// … (M connections), so the total rate is uniform and every connection sends at rate / M.
/// When a connection is still busy at a request's due time the request waits on it, and its
/// latency is measured from the due time, not from when it was finally sent.
///
/// Pure functions of (start, rate, connections): the unit tests
/// (tests/unit/load_schedule_test.cc) check them without a clock or a socket.
#pragma once

#include <cmath>
#include <cstdint>

namespace tg::load {

class OpenLoopSchedule {
 public:
  OpenLoopSchedule() = default;
  OpenLoopSchedule(std::uint64_t start_ns, double rate_per_second, std::uint32_t connections)
      : start_ns_(start_ns),
        period_ns_(1e9 / rate_per_second),
        connections_(connections == 0 ? 1 : connections) {}

  std::uint64_t start_ns() const { return start_ns_; }
  std::uint32_t connections() const { return connections_; }

  /// When global request `n` is due.
  std::uint64_t due_ns(std::uint64_t n) const {
    // long double keeps n * period exact to well under a nanosecond for any run length.
    return start_ns_ + static_cast<std::uint64_t>(static_cast<long double>(n) *
                                                  static_cast<long double>(period_ns_));
  }

  /// When request `j` of connection `connection` is due.
  std::uint64_t due_ns(std::uint32_t connection, std::uint64_t j) const {
    return due_ns(global_index(connection, j));
  }

  std::uint64_t global_index(std::uint32_t connection, std::uint64_t j) const {
    return connection + j * connections_;
  }

  /// How many of `connection`'s requests are due at `now_ns`: requests j < result have
  /// due_ns(connection, j) <= now_ns. Exactly consistent with due_ns.
  std::uint64_t due_count(std::uint32_t connection, std::uint64_t now_ns) const {
    if (now_ns < due_ns(connection, 0)) return 0;
    const long double elapsed = static_cast<long double>(now_ns - start_ns_);
    const long double global = elapsed / static_cast<long double>(period_ns_);
    std::uint64_t count = 0;
    if (global > connection) {
      count = static_cast<std::uint64_t>((global - connection) / connections_) + 1;
    } else {
      count = 1;
    }
    // The estimate may be off by one in either direction at a due time's exact nanosecond.
    while (count > 0 && due_ns(connection, count - 1) > now_ns) --count;
    while (due_ns(connection, count) <= now_ns) ++count;
    return count;
  }

  /// How many requests (all connections together) are due at `now_ns`; the sum of
  /// due_count over the connections, in O(1).
  std::uint64_t total_due(std::uint64_t now_ns) const {
    if (now_ns < start_ns_) return 0;
    const long double elapsed = static_cast<long double>(now_ns - start_ns_);
    std::uint64_t count = static_cast<std::uint64_t>(elapsed / period_ns_) + 1;
    while (count > 0 && due_ns(count - 1) > now_ns) --count;
    while (due_ns(count) <= now_ns) ++count;
    return count;
  }

  /// How many requests are due in [begin_ns, end_ns): what a run measuring that window
  /// should have sent.
  std::uint64_t due_between(std::uint64_t begin_ns, std::uint64_t end_ns) const {
    if (end_ns <= begin_ns) return 0;
    const std::uint64_t before_end = total_due(end_ns - 1);
    const std::uint64_t before_begin = begin_ns == 0 ? 0 : total_due(begin_ns - 1);
    return before_end - before_begin;
  }

 private:
  std::uint64_t start_ns_ = 0;
  double period_ns_ = 1e9;
  std::uint32_t connections_ = 1;
};

}  // namespace tg::load
