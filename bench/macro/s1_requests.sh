# Scenario 1 (sourced by run.sh): small JSON-RPC POSTs over keep-alive connections.
#
# (a) tunnelgate-load drives both stacks, CONNECTIONS (16 and 256) at a time: its publisher
#     opens the tunnel (tcpip-forward to tunnelgate, or to sshd behind nginx) and answers with
#     its built-in JSON-RPC backend; requests/s, p50, p99, relay CPU per request, and the
#     tool's own CPU per request (what shares the cores with the relay in both runs).
# (b) wrk -t$THREADS -c$WRK_CONNECTIONS with the stock OpenSSH client publishing an nginx
#     backend, as a second opinion (summarize.py's table: the CPU of every party per request).
echo "scenario 1: small JSON-RPC POSTs, keep-alive; tunnelgate-load drives both stacks (rounds alternate)"
for c in $CONNECTIONS; do
  for ((round = 1; round <= ROUNDS; round++)); do
    for stack in "${STACKS[@]}"; do
      measure_load 1 "c$c" "$stack" "$round" --publish 1 --connections "$c" \
        --duration "$DURATION" --warmup "$WARMUP" || say "scenario 1: the $stack run failed and is left out"
    done
  done
done
python3 "$HERE/tables.py" scenario 1 results.jsonl rows.jsonl

[ "$WRK" = 1 ] || return 0
echo
echo "scenario 1, second opinion: wrk -t$THREADS -c$WRK_CONNECTIONS + the stock OpenSSH client (ssh -R) publishing an nginx backend"
for stack in "${STACKS[@]}"; do "publish_${stack}_ssh"; done

run_wrk() { # STACK SECONDS OUTFILE
  WRK_CONNECT_ADDR=127.0.0.1 wrk -t"$THREADS" -c"$WRK_CONNECTIONS" -d"$2s" --latency \
    -s "$HERE/post.lua" "https://$HOSTNAME_PUBLISHED:${PORT[$1]}/mcp" >"$3" 2>&1 ||
    { show_logs "$3"; die "$1: wrk failed"; }
}

measure_wrk() { # STACK ROUND : one wrk run, appended to wrk-results.jsonl for summarize.py
  local stack=$1 round=$2 tag="wrk.$1.$2"
  # shellcheck disable=SC2086  # RELAY_ROOTS holds a list of pids
  cpu_snapshot ${RELAY_ROOTS[$stack]} >"cpu.$tag.relay.0"
  cpu_snapshot "${CLIENT_PID[$stack]}" >"cpu.$tag.client.0"
  cpu_snapshot "$BACKEND_PID" >"cpu.$tag.backend.0"
  local m0 m1 w0 w1
  # `times` runs in this shell (not a subshell) so it sees the children it reaped: wrk's CPU
  # is the difference of its children's line around the run.
  m0=$(machine_ticks); times >"times.$tag.0"
  run_wrk "$stack" "$DURATION" "$tag.txt"
  times >"times.$tag.1"; m1=$(machine_ticks)
  w0=$(children_ticks "times.$tag.0"); w1=$(children_ticks "times.$tag.1")
  # shellcheck disable=SC2086
  cpu_snapshot ${RELAY_ROOTS[$stack]} >"cpu.$tag.relay.1"
  cpu_snapshot "${CLIENT_PID[$stack]}" >"cpu.$tag.client.1"
  cpu_snapshot "$BACKEND_PID" >"cpu.$tag.backend.1"
  local result
  result=$(grep -m1 '^WRK_RESULT ' "$tag.txt" | cut -d' ' -f2-) ||
    { show_logs "$tag.txt"; die "$stack: no WRK_RESULT line from wrk"; }
  local -a ma mb
  read -r -a ma <<<"$m0"; read -r -a mb <<<"$m1"
  printf '{"stack":"%s","round":%d,"wrk":%s,"relay_ticks":%d,"client_ticks":%d,"backend_ticks":%d,"wrk_ticks":%d,"machine_process_ticks":%d,"machine_irq_ticks":%d,"machine_steal_ticks":%d,"machine_total_ticks":%d,"relay_pids":%d}\n' \
    "$stack" "$round" "$result" \
    "$(cpu_delta "cpu.$tag.relay.0" "cpu.$tag.relay.1")" \
    "$(cpu_delta "cpu.$tag.client.0" "cpu.$tag.client.1")" \
    "$(cpu_delta "cpu.$tag.backend.0" "cpu.$tag.backend.1")" \
    "$((w1 - w0))" "$((mb[0] - ma[0]))" "$((mb[1] - ma[1]))" "$((mb[2] - ma[2]))" "$((mb[3] - ma[3]))" \
    "$(wc -l <"cpu.$tag.relay.1")" >>wrk-results.jsonl
  say "$stack wrk round $round: $(python3 -c 'import json, sys; r = json.loads(sys.argv[1])
errors = {k: v for k, v in r["errors"].items() if v}
print("%.0f req/s, p50 %d us, p99 %d us%s" % (r["requests"] * 1e6 / r["duration_us"], r["p50_us"],
      r["p99_us"], ", ERRORS %s" % errors if errors else ""))' "$result")"
  case "$result" in
    *'"requests":0,'*) show_logs "$tag.txt"; die "$stack: no request completed" ;;
  esac
}

: >wrk-results.jsonl
for stack in "${STACKS[@]}"; do
  [ "$WARMUP" -gt 0 ] && run_wrk "$stack" "$WARMUP" "wrk.$stack.warmup.txt"
done
for ((round = 1; round <= ROUNDS; round++)); do
  for stack in "${STACKS[@]}"; do measure_wrk "$stack" "$round"; done
done
wrk_meta=(
  "duration_s=$DURATION" "rounds=$ROUNDS" "threads=$THREADS" "connections=$WRK_CONNECTIONS"
  "clk_tck=$CLK_TCK" "body_bytes=${#BODY}" "cores=$(nproc)" "busy_before_pct=$BUSY_BEFORE"
)
for stack in "${STACKS[@]}"; do
  wrk_meta+=("tls.$stack=${TLS_INFO[$stack]:-?}" "ssh_cipher.$stack=${SSH_CIPHER[$stack]:-?}")
done
python3 "$HERE/summarize.py" wrk-results.jsonl "${wrk_meta[@]}"
# The wrk figures join the summary as their own rows.
python3 "$HERE/summarize.py" --json wrk-results.jsonl "${wrk_meta[@]}" | python3 -c '
import json, sys
r = json.load(sys.stdin)
s, ratios = r["stacks"], r["ratio_tunnelgate_to_baseline"]
c = sys.argv[1]
for key, label, spec in [("requests_per_s", "requests/s", "{:.0f}"), ("p99_ms", "p99 ms", "{:.3f}"),
                         ("relay_cpu_us_per_request", "relay CPU us/request", "{:.1f}")]:
    tg, base = s.get("tunnelgate", {}).get(key), s.get("baseline", {}).get(key)
    print(json.dumps({"scenario": "1", "metric": f"{label}, wrk c{c} + OpenSSH client",
                      "tunnelgate": "-" if tg is None else spec.format(tg),
                      "baseline": "-" if base is None else spec.format(base),
                      "ratio": ratios.get(key), "target": "", "met": "", "note": ""}))
' "$WRK_CONNECTIONS" >>rows.jsonl
