/// Pausing a listener's accepts while the process is out of file descriptors.
///
/// An accept that fails with EMFILE (the process's limit) or ENFILE (the system's) fails again
/// at once for as long as no descriptor is freed, and the connection stays in the kernel's
/// backlog: re-arming the multishot accept straight away spins a core on failures. Instead the
/// listener rests, 100 ms after the first failure, doubling up to 1.6 s while failures go on,
/// and its owner re-arms it from its periodic tick once `due`. Waiting connections keep their
/// place in the backlog meanwhile. One per listener; used by its owning thread only.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace tg::io {

class AcceptBackoff {
 public:
  static constexpr std::uint64_t kFirstPauseMs = 100;
  static constexpr std::uint64_t kLongestPauseMs = 1600;

  /// True for an accept result that means "no descriptor to give".
  static bool out_of_descriptors(int result) { return result == -EMFILE || result == -ENFILE; }

  /// Starts a pause at `now_ms` after a failed accept; returns its length. A failure right
  /// after the previous pause doubles it.
  std::uint64_t pause(std::uint64_t now_ms) {
    pause_ms_ = pause_ms_ == 0 ? kFirstPauseMs : std::min(pause_ms_ * 2, kLongestPauseMs);
    resume_ms_ = now_ms + pause_ms_;
    return pause_ms_;
  }
  /// An accept went through: the next failure starts over with the shortest pause.
  void accepted() { pause_ms_ = 0; }
  bool paused() const { return resume_ms_ != 0; }
  /// The pause is over: re-arm the accept now (and call this only then).
  bool due(std::uint64_t now_ms) {
    if (resume_ms_ == 0 || now_ms < resume_ms_) return false;
    resume_ms_ = 0;
    return true;
  }
  /// Whether the last pause started a new spell of failures (worth one log line).
  bool first_of_spell() const { return pause_ms_ == kFirstPauseMs; }

 private:
  std::uint64_t pause_ms_ = 0;   // length of the last pause; 0 after a success
  std::uint64_t resume_ms_ = 0;  // when the current pause ends; 0 when not paused
};

}  // namespace tg::io
