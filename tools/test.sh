#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, and runs every test: unit tests,
# micro-benchmark smoke runs, and the integration tests that drive the real daemon with the
# real OpenSSH client, curl, openssl and the official MCP SDK, after clang-tidy over the changed
# files (tools/tidy.sh); then runs every fuzz target
# for TG_FUZZ_SECONDS each (default 10; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
# clang-tidy over the C++ files this branch changes (every file when there is no main branch).
echo "== clang-tidy"
bash tools/tidy.sh
# The release build, then (unless TG_PRESET names one preset) the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then every fuzz target for a short budget.
passed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for preset in ${TG_PRESET:-release asan}; do
  echo "== $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset" --output-on-failure -j2 "$@" | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  count=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  passed=$((passed + ${count:-0}))
done
if [ -z "${TG_PRESET:-}" ]; then
  # The cross-worker handoff under ThreadSanitizer: its unit tests run real threads and rings.
  echo "== tsan (cross-worker mailboxes)"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan --target tg_unit_tests
  TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/tg_unit_tests --gtest_filter='Mailboxes*:NameRegistry*:RouteTable*:JwksRefreshRequests*:JwksDocuments*' | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  passed=$((passed + $(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log")))
fi
fuzz_seconds="${TG_FUZZ_SECONDS:-10}"
if [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzz ($fuzz_seconds s per target)"
  bash tools/fuzz.sh "$fuzz_seconds"
  passed=$((passed + $(ls tests/fuzz/*_fuzz.cc | wc -l)))
fi
echo "tests: $passed passed, 0 failed"
