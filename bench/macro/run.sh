#!/usr/bin/env bash
# shellcheck disable=SC2034  # what is set here is read by the scenario scripts it sources
# Comparative macro benchmark: tunnelgate against the classic manual setup it replaces (nginx
# terminating TLS in front of an OpenSSH sshd remote-forward listener), each scenario run on
# both stacks in the same run, rounds interleaved, printing both figures and their ratio.
#
#   bench/macro/run.sh [SCENARIO...] [--json]      (no scenario: all of 1 2 3 4 5 6)
#
#   1  small JSON-RPC POSTs over keep-alive: requests/s, p50, p99, relay CPU per request, with
#      tunnelgate-load driving both stacks (16 and 256 connections), then wrk + the stock
#      OpenSSH client as a second opinion (s1_requests.sh)
#   2  a fresh TCP connection and full TLS handshake per request: handshakes/s (s2_handshakes.sh)
#   3  one large stream through one tunnel: MB/s, relay CPU s per GiB (s3_stream.sh)
#   4  SSE at 1,000 concurrent streams: added latency backend write -> visitor read (s4_sse.sh)
#   5  scale: memory per tunnel and per idle visitor connection, time to URL (s5_scale.sh)
#   6  scenario 1 with 1,000 access rules (+ MCP inspection) against an open policy (s6_policy.sh)
#
# Each scenario prints a row per metric with both stacks and the ratio tunnelgate/baseline
# (and the issue's target, met or MISSED); a summary table of everything follows at the end
# (or JSON with --json). Figures only, no thresholds: this is not a test. On a shared machine
# absolute figures drift; ratios measured in the same run hold better.
#
# Environment (defaults keep a full run under ~10 minutes on 2 cores):
#   TG_BIN, LOAD_BIN  tunnelgate and tunnelgate-load (default: build/release/ of this checkout)
#   DURATION=5        measured seconds per run        ROUNDS=2   rounds of (tunnelgate, baseline)
#   WARMUP=1          unmeasured seconds at the start of each tunnelgate-load run
#   CONNECTIONS="16 256"  scenario 1's connection counts (tunnelgate-load)
#   WRK=1             scenario 1's wrk runs (0: skip)  WRK_CONNECTIONS=16  THREADS=2 (wrk)
#   SIZE=1G           scenario 3's stream (k/M/G)      STREAMS=1000  scenario 4's SSE streams
#   N=10000           scenario 5's tunnels on tunnelgate; N_BASE=200 sshd sessions (forks)
#   IDLE=50000        scenario 5's idle visitor connections (each stack)
#   RULES=1000        scenario 6's access rules
#   SKIP_TUNNELGATE=1 / SKIP_BASELINE=1   one stack only
#   KEEP_TMP=1        keep the temporary directory (configs, logs, raw JSON)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

JSON=0
SCENARIOS=()
for arg in "$@"; do
  case "$arg" in
    --json) JSON=1 ;;
    [1-6]) SCENARIOS+=("$arg") ;;
    -h | --help) sed -n '3,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
[ "${#SCENARIOS[@]}" -gt 0 ] || SCENARIOS=(1 2 3 4 5 6)

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-1}
THREADS=${THREADS:-2}
WRK=${WRK:-1}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-${CONNECTIONS_WRK:-16}}
CONNECTIONS=${CONNECTIONS:-16 256}
SIZE=${SIZE:-1G}
STREAMS=${STREAMS:-1000}
N=${N:-10000}
N_BASE=${N_BASE:-200}
IDLE=${IDLE:-50000}
RULES=${RULES:-1000}
SKIP_TUNNELGATE=${SKIP_TUNNELGATE:-0}
SKIP_BASELINE=${SKIP_BASELINE:-0}
TG_BIN=${TG_BIN:-$ROOT/build/release/tunnelgate}
LOAD_BIN=${LOAD_BIN:-$ROOT/build/release/tools/load/tunnelgate-load}

for n in DURATION ROUNDS WARMUP THREADS WRK_CONNECTIONS STREAMS N N_BASE IDLE RULES; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number (is '${!n}')"
done
for c in $CONNECTIONS; do [[ $c =~ ^[0-9]+$ ]] || die "CONNECTIONS must be whole numbers"; done
[[ $SIZE =~ ^[0-9]+[kKmMgG]?$ ]] || die "SIZE must be a size like 1G, 200M (is '$SIZE')"
{ [ "$DURATION" -ge 1 ] && [ "$ROUNDS" -ge 1 ]; } || die "DURATION and ROUNDS must be at least 1"
[ "$SKIP_TUNNELGATE" = 1 ] && [ "$SKIP_BASELINE" = 1 ] && die "nothing to run: both stacks skipped"

STACKS=()
[ "$SKIP_TUNNELGATE" = 1 ] || STACKS+=(tunnelgate)
[ "$SKIP_BASELINE" = 1 ] || STACKS+=(baseline)

for tool in wrk nginx ssh ssh-keygen openssl curl python3 getconf; do
  command -v "$tool" >/dev/null || die "$tool is not installed (tools/setup.sh installs it)"
done
[ "$SKIP_BASELINE" = 1 ] || [ -x "$SSHD" ] || die "$SSHD is missing (openssh-server; tools/setup.sh installs it)"
if [ "$SKIP_TUNNELGATE" != 1 ]; then
  [ -x "$TG_BIN" ] || die "no tunnelgate binary at $TG_BIN: build it, set TG_BIN, or set SKIP_TUNNELGATE=1"
  TG_BIN=$(cd "$(dirname "$TG_BIN")" && pwd)/$(basename "$TG_BIN")
fi
[ -x "$LOAD_BIN" ] || die "no tunnelgate-load at $LOAD_BIN: build it or set LOAD_BIN"
LOAD_BIN=$(cd "$(dirname "$LOAD_BIN")" && pwd)/$(basename "$LOAD_BIN")

# Scenario 5 holds tens of thousands of sockets in the relays and in the load tool: every
# process started from here inherits this limit (nginx also sets worker_rlimit_nofile).
if ! ulimit -n 1048576 2>/dev/null; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
NOFILE=$(ulimit -n)
IDLE_ASKED=$IDLE
# Each idle visitor takes a descriptor in the tool and one in the relay (nginx: in one of its
# workers), each tunnel one in the tool and one in the relay; keep a margin for the rest.
if [ "$IDLE" -gt $((NOFILE - 2000)) ]; then
  say "note: open files are limited to $NOFILE per process here (raising the hard limit needs CAP_SYS_RESOURCE): scenario 5 holds $((NOFILE - 2000)) idle connections instead of $IDLE"
  IDLE=$((NOFILE - 2000))
  SCALE_NOTE="open files limited to $NOFILE per process: $IDLE idle connections measured, not ${IDLE_ASKED:-50000}"
fi
if [ "$N" -gt $((NOFILE - 2000)) ]; then
  say "note: open files are limited to $NOFILE per process here: scenario 5 opens $((NOFILE - 2000)) tunnels instead of $N"
  N=$((NOFILE - 2000))
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tg-macro-bench.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BUSY_BEFORE=$(machine_busy_pct 1)
if [ "$BUSY_BEFORE" -gt 20 ]; then
  say "warning: the machine is ${BUSY_BEFORE}% busy before the run (other processes share its $(nproc) cores): figures will be low and noisy"
fi

cd "$WORK"
say "working in $WORK"
make_credentials
set_ssh_client_opts
read -r BACKEND_PORT TG_HTTPS_PORT TG_SSH_PORT TG_ADMIN_PORT NGINX_PORT SSHD_PORT FWD_PORT FWD_LOAD_PORT \
  <<<"$(free_ports 8)"
start_backend
for stack in "${STACKS[@]}"; do "start_$stack"; done
: >results.jsonl
: >rows.jsonl

declare -A SCRIPT=([1]=s1_requests.sh [2]=s2_handshakes.sh [3]=s3_stream.sh [4]=s4_sse.sh
  [5]=s5_scale.sh [6]=s6_policy.sh)
for n in "${SCENARIOS[@]}"; do
  echo
  # shellcheck source=/dev/null
  . "$HERE/${SCRIPT[$n]}"
done

echo
echo "summary ($(date -u +%Y-%m-%d), $(nproc) cores, ${BUSY_BEFORE}% busy before start, DURATION=$DURATION ROUNDS=$ROUNDS):"
args=()
[ "$JSON" = 1 ] && args+=(--json)
python3 "$HERE/tables.py" summary rows.jsonl "${args[@]}"
