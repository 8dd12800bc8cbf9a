/// What the fuzz targets share: an invariant check that survives NDEBUG (the fuzz preset
/// builds RelWithDebInfo) and names the broken invariant before aborting, so libFuzzer
/// reports it as a crash and saves the input, and whoever reads the report sees which
/// property failed, not only where.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(condition)                                                          \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", __FILE__, __LINE__, \
                   #condition);                                                        \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

namespace tg::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// True when `part` lies inside `whole` (an empty view lies anywhere): results that are
/// views must point into the caller's buffer, never at something that may go away.
inline bool lies_within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  const auto begin = reinterpret_cast<std::uintptr_t>(whole.data());
  const auto at = reinterpret_cast<std::uintptr_t>(part.data());
  return at >= begin && at + part.size() <= begin + whole.size();
}

}  // namespace tg::fuzz
