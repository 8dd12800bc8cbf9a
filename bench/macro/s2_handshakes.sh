# Scenario 2 (sourced by run.sh): a new TCP connection and a full TLS handshake (no
# resumption) for every request, 16 connections at a time, tunnelgate-load driving both
# stacks: handshakes/s, latency of connect + handshake + request, relay CPU per handshake.
# Both sides sign with the same EC P-256 certificate and agree on X25519 + TLS 1.3.
echo "scenario 2: a fresh TLS handshake per request (tunnelgate-load, 16 connections, rounds alternate)"
for ((round = 1; round <= ROUNDS; round++)); do
  for stack in "${STACKS[@]}"; do
    measure_load 2 c16 "$stack" "$round" --publish 1 --connections 16 --handshake-per-request \
      --duration "$DURATION" --warmup "$WARMUP" || say "scenario 2: the $stack run failed and is left out"
  done
done
python3 "$HERE/tables.py" scenario 2 results.jsonl rows.jsonl
