#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, and runs every test: unit tests,
# micro-benchmark smoke runs, and the integration tests that drive the real daemon with the
# real OpenSSH client, curl, openssl and the official MCP SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
# The release build, then (unless TG_PRESET names one preset) the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
for preset in ${TG_PRESET:-release asan}; do
  echo "== $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset" --output-on-failure -j2 "$@"
done
