#!/usr/bin/env python3
"""MCP governance end to end: the official TypeScript SDK's client and server through an MCP
tunnel of tunnelgate, under a policy that allows two of the server's three tools.

  TG_BIN=/path/to/tunnelgate python3 tests/mcp/governance_test.py

Set-up as in smoke_test.py (test CA, keys, a relay on free ports, server.mjs published with
the stock `ssh -R`), with this policy for the name `notes`:

    mcp     = true
    allow   = ['jwt.groups.contains("mcp-users") && (!has(mcp.tool) || mcp.tool in [...])']
    origins = ["https://allowed.example"]

and an audit trail. governance_client.mjs does the checks (see its header); this script then
checks the audit trail: one line per JSON-RPC message, the denied `wipe` call with its rule,
status 200 and its arguments with `confirm` redacted, the allowed `echo` call.

Callers are identified by bearer JWTs (ES256) the client signs itself with keys made by
tests/integration/jwt_tool.js; the relay verifies them against the JWKS file. An anonymous
client gets 401 and finds the relay's protected-resource metadata with the SDK's discovery;
a second subject presenting the first's session id gets 404.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import smoke_test  # noqa: E402
from smoke_test import Failure, Proc, die_with_parent, free_port  # noqa: E402

def log(message):
    print(f"[mcp-governance] {message}", flush=True)


NAME = smoke_test.NAME
DOMAIN = smoke_test.DOMAIN

POLICY = """[[expose]]
id = "publish"
names = ["*"]
classes = ["human", "workload", "agent"]

[[access]]
id = "notes-tools"
names = ["notes"]
mcp = true
allow = ['jwt.groups.contains("mcp-users") && (!has(mcp.tool) || mcp.tool in ["echo", "countdown"])']
origins = ["https://allowed.example"]

[[identity.jwt]]
issuer = "https://idp.tunnelgate.test"
jwks = "jwks.json"
"""
ISSUER = "https://idp.tunnelgate.test"
JWT_TOOL = os.path.join(HERE, "..", "integration", "jwt_tool.js")

EXTRA_CONFIG = """
[audit]
file = "audit.jsonl"

[mcp]
audit_arguments = true
redact_keys = ["confirm"]
"""


def governance(tmp, tg_bin, procs):
    with open(os.path.join(tmp, "policy.toml"), "w") as f:
        f.write(POLICY)
    smoke_test.make_credentials(tmp)  # keeps the policy written above
    # The issuer's keys: the client signs its own tokens with es256.pem.
    subprocess.run(["node", JWT_TOOL, "keys", tmp], check=True, timeout=60)
    https_port, ssh_port = free_port(), free_port()
    while ssh_port == https_port:
        ssh_port = free_port()
    config = smoke_test.write_config(tmp, https_port, ssh_port)
    with open(config, "a") as f:
        f.write(EXTRA_CONFIG)

    relay = Proc("tunnelgate", [tg_bin, "--config", config], tmp, tmp)
    procs.append(relay)
    relay.wait_for(lambda line: '"event":"ready"' in line.replace(" ", ""), 30, "ready event")
    server = Proc("server", ["node", os.path.join(HERE, "server.mjs"), "0"], HERE, tmp)
    procs.append(server)
    backend_port = server.wait_for(
        lambda line: json.loads(line).get("port") if line.startswith("{") else None, 30,
        "listening line")
    publisher = Proc("ssh", [
        "ssh", "-F", "/dev/null", "-p", str(ssh_port), "-i", os.path.join(tmp, "client_key"),
        "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
        "-o", "ExitOnForwardFailure=yes", "-T",
        "-R", f"{NAME}:80:localhost:{backend_port}", "x@127.0.0.1"],
        tmp, tmp, stdin=subprocess.PIPE, merge_stderr=True)
    procs.append(publisher)
    match = publisher.wait_for(
        re.compile(r"https://" + re.escape(f"{NAME}.{DOMAIN}") + r":(\d+)/").search, 30, "public URL")
    url = match.group(0)

    env = dict(os.environ, NODE_EXTRA_CA_CERTS=os.path.join(tmp, "ca.pem"))
    cmd = ["node", os.path.join(HERE, "governance_client.mjs"), url + "mcp",
           "--resolve", f"{NAME}.{DOMAIN}:127.0.0.1", "--keys", tmp, "--issuer", ISSUER,
           "--timeout-ms", "60000"]
    log("running " + " ".join(cmd[1:]))
    try:
        client = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True, timeout=90,
                                preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        raise Failure("governance_client.mjs did not finish within 90s")
    lines = [line for line in client.stdout.splitlines() if line.startswith("{")]
    summary = json.loads(lines[-1]) if lines else None
    print(json.dumps(summary, indent=2) if summary else client.stdout, flush=True)
    if client.returncode != 0 or not summary or not summary.get("ok"):
        raise Failure(f"governance_client.mjs exited {client.returncode}\n--- client stderr ---\n"
                      f"{client.stderr[-3000:]}\n" + "\n".join(p.describe() for p in procs))
    expected = {"tools_list_filtered", "echo", "countdown_streamed", "denied_tool_raises",
                "session_survives_denial", "foreign_origin_403", "allowed_origin_passes",
                "own_origin_passes", "unknown_session_404", "get_stream_passes", "delete_passes",
                "ended_session_404", "anonymous_401", "resource_metadata_discovered",
                "anonymous_sdk_refused", "other_subject_session_404"}
    missing = expected - {k for k, v in summary["checks"].items() if v}
    if missing:
        raise Failure(f"checks missing or failed: {sorted(missing)}")

    # The audit trail: written when each exchange ends; the relay flushes it once per round.
    audit_path = os.path.join(tmp, "audit.jsonl")

    def mcp_lines():
        try:
            with open(audit_path) as f:
                return [json.loads(l) for l in f if l.strip() and '"kind":"mcp"' in l.replace(" ", "")]
        except OSError:
            return []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(l.get("tool") == "wipe" for l in mcp_lines()):
        time.sleep(0.1)
    audit = mcp_lines()
    wipe = [l for l in audit if l.get("tool") == "wipe"]
    echo = [l for l in audit if l.get("tool") == "echo" and l.get("decision") == "allow"]
    errors = []
    if len(wipe) != 1:
        errors.append(f"expected one audit line for wipe, got {wipe}")
    else:
        w = wipe[0]
        if (w["decision"], w["rule"], w["status"], w["mcp_method"], w["subject"]) != (
                "deny", "notes-tools", 200, "tools/call", "alice"):
            errors.append(f"wipe audit line: {w}")
        if w.get("arguments") != {"confirm": "[redacted]"}:
            errors.append(f"wipe arguments not redacted: {w.get('arguments')}")
    if len(echo) < 2 or any(l["status"] != 200 for l in echo):
        errors.append(f"echo audit lines: {echo}")
    if not any(l.get("mcp_method") == "initialize" for l in audit):
        errors.append("no audit line for initialize")
    if errors:
        raise Failure("audit check failed: " + "; ".join(errors))
    log(f"ok: {len(audit)} MCP audit lines; wipe denied by notes-tools, arguments redacted")


def main():
    return smoke_test.run_check("mcp-governance", governance)


if __name__ == "__main__":
    sys.exit(main())
