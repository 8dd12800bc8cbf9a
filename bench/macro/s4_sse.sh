# Scenario 4 (sourced by run.sh): STREAMS (1,000) concurrent server-sent event streams through
# one tunnel. Each stream is tunnelgate-load's SSE backend sending 20 events 100 ms apart
# (10,000 events/s over 1,000 streams), each event carrying its send time (CLOCK_MONOTONIC ns,
# same process), so the visitor measures the time from the backend's write to its own read:
# what the relay adds, plus the tool's own SSH and TLS work, which is the same for both
# stacks. A stream that ends is requested again at once (closed loop), so STREAMS stay open
# for the whole window. Two variants:
#   spread    each stream ticks at its own phase within the 100 ms (`sse:20:100:spread`), as
#             independent clients do: 10,000 events/s arrive evenly. The target applies here.
#   together  every stream ticks from its own start, and the streams start within tens of
#             milliseconds of each other: every 100 ms a burst of up to 1,000 events, one per
#             stream, crosses the one tunnel (and the one worker that owns it) at once. Shown,
#             as the burst it is: its p99 is the time to work through a burst on 2 cores.
echo "scenario 4: SSE added latency at $STREAMS concurrent streams (rounds alternate)"
sse_seconds=$((DURATION > 5 ? DURATION : 5))
for variant in spread together; do
  backend=sse:20:100
  [ "$variant" = spread ] && backend=sse:20:100:spread
  for ((round = 1; round <= ROUNDS; round++)); do
    for stack in "${STACKS[@]}"; do
      measure_load 4 "${STREAMS}streams-$variant" "$stack" "$round" --publish 1 \
        --connections "$STREAMS" --backend "$backend" --method GET --path /events \
        --duration "$sse_seconds" --warmup 2 --timeout 30 ||
        say "scenario 4: the $stack run failed and is left out"
    done
  done
done
python3 "$HERE/tables.py" scenario 4 results.jsonl rows.jsonl
