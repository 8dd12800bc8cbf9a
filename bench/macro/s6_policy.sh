# Scenario 6 (sourced by run.sh): the cost of policy and inspection, on tunnelgate alone:
# scenario 1's load (tunnelgate-load, 16 keep-alive connections) with every request a
# JSON-RPC tools/call, under two policies swapped between rounds (POST /v1/reload):
#   open:  one access rule that allows everything (`allow = ['true']`);
#   rules: RULES access rules, as a hosting provider would have them: RULES-10 rules for
#          other tenants' names (indexed prefixes), and 10 covering the tunnel under test,
#          which the decision evaluates: path, method, header, address and MCP conditions;
#          one of them says `mcp = true`, so every body is inspected and the MCP method and
#          tool are decided too (POLICY.md, "What else an access rule says").
# Before measuring, a tools/call of a tool the rules deny is sent through the tunnel: when it
# reaches the service, the relay is not inspecting MCP bodies, and the row says so.
echo "scenario 6: $RULES access rules + MCP inspection vs an open policy (tunnelgate only, 16 connections, rounds alternate)"
if [ "$SKIP_TUNNELGATE" = 1 ]; then
  say "scenario 6 runs on tunnelgate only: skipped"
  return 0
fi
publish_tunnelgate_ssh
TOOLS_CALL='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_forecast","arguments":{"city":"Paris","days":3}}}'

write_open_policy() { # FILE
  cat >"$1" <<'EOF'
[[expose]]
names = ["*"]

[[access]]
names = ["*"]
allow = ['true']
EOF
}

write_rules_policy() { # FILE RULES MCP(true|false)
  python3 - "$@" <<'EOF'
import sys
path, rules, mcp = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "true"
covering = min(10, rules)
out = ['[[expose]]\nnames = ["*"]\n']
for i in range(rules - covering):
    out.append(f'''[[access]]
id = "tenant-{i}"
names = ["tenant{i}-*"]
allow = ['http.method == "POST" && http.path.startsWith("/t{i}/")', 'source.ip in cidr("10.{i % 256}.0.0/16")']
deny = ['http.path.startsWith("/t{i}/admin")']
''')
# The rules covering the tunnels under test ("load-*" for tunnelgate-load, "notes" for the
# probe): the decision evaluates all of them.
names = '["load-*", "notes"]'
for i in range(covering):
    extra = "mcp = true\n" if (mcp and i == 0) else ""
    if i == 0:
        allow = "['http.method == \"POST\" && http.path == \"/mcp\"']"
        deny = ("['has(mcp.tool) && mcp.tool in [\"delete_everything\", \"forbidden_tool\"]', "
                "'has(mcp.method) && mcp.method == \"sampling/createMessage\"']") if mcp else \
               "['http.path.startsWith(\"/admin\")']"
    else:
        allow = f"['http.method == \"GET\" && http.path.startsWith(\"/public{i}/\")']"
        deny = (f"['http.path.startsWith(\"/internal{i}/\")', "
                f"'source.ip in cidr(\"192.0.{i}.0/24\")']")
    out.append(f'''[[access]]
id = "covering-{i}"
names = {names}
allow = {allow}
deny = {deny}
{extra}''')
open(path, "w").write("\n".join(out))
EOF
}

reload_policy() { # FILE -> 0 when the relay took it (its error on stderr otherwise)
  cp "$1" tg/policy.toml
  local out
  out=$(curl -sS -m 30 -X POST "http://127.0.0.1:$TG_ADMIN_PORT/v1/reload" -w '\n%{http_code}') || return 1
  [ "${out##*$'\n'}" = 200 ] && return 0
  say "reload refused: ${out%$'\n'*}"
  return 1
}

write_open_policy policy-open.toml
mcp=true
write_rules_policy policy-rules.toml "$RULES" true
RULES_LABEL="$RULES rules + MCP inspection"
if ! reload_policy policy-rules.toml; then
  say "note: the relay refused the rules with mcp = true; measuring the rules without MCP inspection"
  mcp=false
  write_rules_policy policy-rules.toml "$RULES" false
  reload_policy policy-rules.toml || die "scenario 6: the relay refused the generated policy"
  RULES_LABEL="$RULES rules (mcp = true refused: no MCP inspection)"
fi
if [ "$mcp" = true ]; then
  probe=$(curl -sS -m 10 --cacert "$WORK/ca.pem" --resolve "$HOSTNAME_PUBLISHED:$TG_HTTPS_PORT:127.0.0.1" \
    -X POST -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"forbidden_tool","arguments":{}}}' \
    -w '\n%{http_code}' "https://$HOSTNAME_PUBLISHED:$TG_HTTPS_PORT/mcp" 2>/dev/null) || true
  if [ "$probe" = "$BACKEND_REPLY"$'\n200' ]; then
    say "note: a tools/call the rules deny reached the service: this build accepts mcp = true but does not inspect MCP bodies yet; the figure is for the rules alone"
    RULES_LABEL="$RULES rules; mcp = true accepted but MCP bodies NOT inspected in this build (a denied tools/call reached the service)"
  else
    say "MCP inspection active: the denied tools/call got: ${probe//$'\n'/ HTTP }"
  fi
fi

for ((round = 1; round <= ROUNDS; round++)); do
  for variant in open rules; do
    reload_policy "policy-$variant.toml" || die "scenario 6: reload of the $variant policy failed"
    measure_load 6 "$variant" tunnelgate "$round" --publish 1 --connections 16 \
      --body "$TOOLS_CALL" --duration "$DURATION" --warmup "$WARMUP" ||
      die "scenario 6 failed ($variant policy)"
  done
done
write_tunnelgate_policy policy-bench.toml
reload_policy policy-bench.toml || true
python3 "$HERE/tables.py" scenario 6 results.jsonl rows.jsonl "rules_label=$RULES_LABEL"
