#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds the release preset, and starts the
# relay on its embedded defaults (--dev: loopback only, https://NAME.localhost:8443/,
# SSH on 127.0.0.1:2222). Extra arguments go to tunnelgate (e.g. --state-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target tunnelgate
exec build/release/tunnelgate --dev "$@"
