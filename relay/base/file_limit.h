/// Raising the open-file limit to what the system allows this process.
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

}  // namespace tg
