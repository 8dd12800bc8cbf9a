/// What the micro benchmarks' set-up cannot do without: `must(result)` is the value, or the
/// error on stderr and an abort (a benchmark that cannot set up has nothing to measure).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "relay/base/result.h"

namespace tg::bench {

template <typename T>
T must(Result<T> result) {
  if (!result) {
    std::fprintf(stderr, "%s\n", result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}

}  // namespace tg::bench
