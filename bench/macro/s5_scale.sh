# Scenario 5 (sourced by run.sh): what a relay holds per tunnel and per idle visitor, and how
# soon a tunnel is granted.
#
# Each measurement starts from a freshly started stack.
# (a) tunnels: tunnelgate-load's publisher opens N tunnels on tunnelgate (one SSH session
#     each, 16 set up at a time) and N_BASE on sshd (which forks a monitor and a session
#     process per publisher, so fewer suffice for its per-tunnel figure), holds them, and the
#     relay's memory is read before and while they are held: PSS summed over the relay's
#     processes (/proc/PID/smaps_rollup; shared pages divided among the processes sharing
#     them), divided by the number of tunnels. The tool times each tunnel from SSH connect and
#     from authentication to the granted tcpip-forward (the moment the URL can be printed).
# (b) idle visitors: IDLE TLS connections through one tunnel, each sends one request and then
#     stays open and silent; the relay's memory (tunnelgate; nginx + sshd) before and while
#     they are held, divided by IDLE. Connections leave from 127.0.0.1-4 (one address and
#     port pair has only the ~28,000 ports of the ephemeral range).
echo "scenario 5: scale: $N tunnels on tunnelgate, $N_BASE on sshd; $IDLE idle visitor connections on each stack"

publisher_only_args() { # STACK -> the tool's arguments for a publisher without visitors
  case "$1" in
    tunnelgate) printf '%s\n' --ssh "127.0.0.1:$TG_SSH_PORT" --user x ;;
    baseline) printf '%s\n' --ssh "127.0.0.1:$SSHD_PORT" --user "$(id -un)" \
      --forward-address 127.0.0.1 --forward-port 0 ;;
  esac
}

# Waits for the tool's line saying everything is up; prints the count it reached.
wait_until_held() { # ERRFILE PID WANT KIND(tunnels|idle) TIMEOUT_S
  local err=$1 pid=$2 want=$3 kind=$4 deadline=$((SECONDS + $5)) have=0 line
  while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
    if [ "$kind" = tunnels ]; then
      line=$(grep -m1 -oE 'published [0-9]+ tunnels' "$err" 2>/dev/null) && { echo "${line//[!0-9]/}"; return 0; }
    else
      line=$(grep -oE '[0-9]+ of [0-9]+ connections idle' "$err" 2>/dev/null | tail -n1) || true
      have=${line%% of*}; have=${have:-0}
      [ "$have" -ge "$want" ] && { echo "$have"; return 0; }
    fi
    sleep 0.5
  done
  echo "$have"
  return 1
}

scale_record() { # WHAT STACK COUNT PSS0 PSS1 RSS0 RSS1 PROCS LOADJSON
  python3 - "$@" >>results.jsonl <<'EOF'
import json, sys
what, stack, count, pss0, pss1, rss0, rss1, procs, path = sys.argv[1:]
count = int(count)
r = {"kind": "scale", "what": what, "stack": stack, "count": count,
     "pss_before_kib": int(pss0), "pss_after_kib": int(pss1),
     "rss_before_kib": int(rss0), "rss_after_kib": int(rss1), "processes": int(procs),
     "per_item_kib": (int(pss1) - int(pss0)) / count if count else None}
try:
    load = json.load(open(path))
    p = load.get("publisher", {})
    if what == "tunnels" and p:
        r["time_to_url_p50_ms"] = p["time_to_url_us"]["p50"] / 1000
        r["time_to_url_p99_ms"] = p["time_to_url_us"]["p99"] / 1000
        r["setup_p99_ms"] = p["setup_us"]["p99"] / 1000
    r["errors"] = load.get("errors", {}).get("total", 0)
except (OSError, ValueError):
    pass
print(json.dumps(r))
EOF
}

scale_run() { # WHAT STACK WANT TIMEOUT TOOL-ARGS...
  local what=$1 stack=$2 want=$3 timeout=$4 tag="5.$1.$2"
  shift 4
  local pss0 rss0 pss1 rss1 n1 got rc=0
  # shellcheck disable=SC2086
  read -r pss0 rss0 _ <<<"$(memory_kib ${RELAY_ROOTS[$stack]})"
  "$LOAD_BIN" "$@" --duration 3600 --warmup 0 --json --progress >"load.$tag.json" 2>"load.$tag.err" &
  local pid=$!; started "$pid"
  got=$(wait_until_held "load.$tag.err" "$pid" "$want" "$what" "$timeout") ||
    say "$stack: only $got of $want $what held after ${timeout}s; measuring those"
  sleep 1  # let the last of them settle (buffers returned, allocator caches)
  # shellcheck disable=SC2086
  read -r pss1 rss1 n1 <<<"$(memory_kib ${RELAY_ROOTS[$stack]})"
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || [ "$what" = idle ] || show_logs "load.$tag.err"
  scale_record "$what" "$stack" "${got:-0}" "$pss0" "$pss1" "$rss0" "$rss1" "$n1" "load.$tag.json"
  say "$stack: $got $what: relay PSS $((pss0 / 1024)) -> $((pss1 / 1024)) MiB (RSS $((rss0 / 1024)) -> $((rss1 / 1024)) MiB, $n1 processes)"
}

for stack in "${STACKS[@]}"; do
  count=$N
  [ "$stack" = baseline ] && count=$N_BASE
  mapfile -t args < <(publisher_only_args "$stack")
  restart_stack "$stack"
  scale_run tunnels "$stack" "$count" 900 "${args[@]}" --key "$WORK/client_key" \
    --publish "$count" --setup-concurrency 16
done
for stack in "${STACKS[@]}"; do
  mapfile -t args < <(load_args "$stack")
  restart_stack "$stack"
  # load_args ends with --json; scale_run adds its own.
  scale_run idle "$stack" "$IDLE" 900 "${args[@]}" --publish 1 --connections "$IDLE" \
    --threads 2 --idle --timeout 60 "${LOAD_SOURCES[@]}"
done
python3 "$HERE/tables.py" scenario 5 results.jsonl rows.jsonl "note=${SCALE_NOTE:-}"
