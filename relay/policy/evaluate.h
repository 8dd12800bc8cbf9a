/// Evaluating a compiled expression against a context: the hot path.
///
/// A walk over the Program's nodes from the root, short-circuiting `&&` and `||`, reading
/// attributes straight from the context's views. It never allocates, never throws, and
/// never parses: its cost is a few nanoseconds per node visited.
///
/// Three outcomes, because a value can be missing or untrustworthy:
/// - a comparison with an **absent** value (an empty string, an empty list, no address) is
///   false, `!=` included: absent matches nothing;
/// - a comparison with a value that **cannot be evaluated** (time unknown, a header sent
///   twice with different values, a claim that is not a string) is kError, which spreads as
///   in CEL: `false && error` is false, `true || error` is true, `!error` is error.
/// The decisions read kError as "no" for allow and `when`, and as "yes" for deny.
#pragma once

#include <cstdint>

#include "relay/policy/context.h"
#include "relay/policy/program.h"

namespace tg::policy {

enum class Truth : std::uint8_t { kFalse, kTrue, kError };

/// `root` must be a condition node of `program`.
Truth evaluate(const Program& program, std::uint32_t root, const AccessContext& context) noexcept;
Truth evaluate(const Program& program, std::uint32_t root, const ExposeContext& context) noexcept;

/// UTC hour (0-23) and weekday (0 = Sunday) of a Unix time.
int utc_hour(std::int64_t unix_time);
int utc_weekday(std::int64_t unix_time);

}  // namespace tg::policy
