#!/usr/bin/env bash
# Soak benchmark: 30 minutes (or --minutes N) of mixed visitor traffic through 1,000 tunnels on
# one relay, while publishers drop and come back, the relay reloads every 30 s, and an SSH
# pre-authentication flood runs for part of the time. Prints per minute the relay's RSS,
# descriptors, open connections, requests, and failed requests split into those the injected
# faults explain and those they do not; then a summary. Exits 1 if any failure is unexplained.
#
#   bench/soak/run.sh [--minutes N] [options]     (--help lists them, with their defaults)
#
# Everything runs on 127.0.0.0/8 on ports picked at start, from a temporary directory that is
# removed at the end (--keep keeps it, with every log). Ctrl-C prints the figures so far and
# stops everything this script started. Figures only, no thresholds: this is not a test.
#
# Environment: TG_BIN, LOAD_BIN   tunnelgate and tunnelgate-load (default: build/release/)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TG_BIN=${TG_BIN:-$ROOT/build/release/tunnelgate}
LOAD_BIN=${LOAD_BIN:-$ROOT/build/release/tools/load/tunnelgate-load}

for arg in "$@"; do
  if [ "$arg" = -h ] || [ "$arg" = --help ]; then
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exec python3 "$HERE/soak.py" --tg-bin x --load-bin x --help
  fi
done
for tool in python3 ssh ssh-keygen openssl; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is not installed (tools/setup.sh)" >&2; exit 1; }
done
[ -x "$TG_BIN" ] || { echo "soak: no tunnelgate at $TG_BIN: build it or set TG_BIN" >&2; exit 1; }
[ -x "$LOAD_BIN" ] || { echo "soak: no tunnelgate-load at $LOAD_BIN: build it or set LOAD_BIN" >&2; exit 1; }

# 1,000 tunnels and the flood take descriptors in the relay, the load tool and the visitors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

export SOAK_COMMAND="bench/soak/run.sh${*:+ $*}"
exec python3 "$HERE/soak.py" --tg-bin "$TG_BIN" --load-bin "$LOAD_BIN" "$@"
