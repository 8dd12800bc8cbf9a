/// Raising the open-file limit to what the system allows this process, and the part of it the
/// SSH port may use.
///
/// Every visitor connection, SSH session and channel costs a descriptor; the usual soft limit
/// (1024) would cap a relay far below what it can serve, while the hard limit (set by the
/// operator, e.g. LimitNOFILE= in the systemd unit) is the real bound.
#pragma once

#include <sys/resource.h>

namespace tg {

/// Sets the soft RLIMIT_NOFILE to the hard one; returns the limit now in force (0 if unknown).
inline rlim_t raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

/// The descriptor number from which SSH accepts are refused, keeping the top of the table for
/// visitors: an eighth of `limit` (at least 32) is held in reserve. The kernel hands out the
/// lowest free number, so an accepted socket numbered N proves the N below it are all in use:
/// comparing the number costs nothing and never refuses falsely. (Holes left by closed
/// connections can hide a few more in use; the kernel fills the holes first.) 0 (no check)
/// when the limit is unknown or too small to split.
inline rlim_t ssh_descriptor_high_water(rlim_t limit) {
  const rlim_t reserve = limit / 8 > 32 ? limit / 8 : 32;
  return limit > 2 * reserve ? limit - reserve : 0;
}

}  // namespace tg
