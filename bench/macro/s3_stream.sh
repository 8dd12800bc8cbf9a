# Scenario 3 (sourced by run.sh): one large response (SIZE, 1 GiB by default) streamed through
# one tunnel to one visitor: the tool's publisher writes it into the SSH channel as fast as
# the window allows, the visitor reads it over TLS; the run ends with the stream. MB/s, and
# the relay processes' CPU seconds per GiB (tunnelgate; nginx + every sshd process).
echo "scenario 3: one $SIZE stream through one tunnel (rounds alternate)"
for ((round = 1; round <= ROUNDS; round++)); do
  for stack in "${STACKS[@]}"; do
    measure_load 3 "$SIZE" "$stack" "$round" --publish 1 --connections 1 --backend "bytes:$SIZE" \
      --method GET --path /download --requests-per-connection 1 --warmup 0 --duration 3600 \
      --timeout 20 || say "scenario 3: the $stack run failed and is left out"
  done
done
python3 "$HERE/tables.py" scenario 3 results.jsonl rows.jsonl
