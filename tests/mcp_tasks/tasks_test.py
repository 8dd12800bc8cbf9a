#!/usr/bin/env python3
"""MCP revision 2026-07-28 and the Tasks extension end to end through an MCP tunnel, driven by
the official TypeScript SDK v2 (client, server, node: pinned in package-lock.json) in each of
its negotiation modes, and by the 1.32 client beside it.

  TG_BIN=/path/to/tunnelgate python3 tests/mcp_tasks/tasks_test.py

Set-up as in tests/mcp/smoke_test.py (test CA, keys, a relay on free ports, server.mjs
published with the stock `ssh -R`), an audit trail, two callers identified by API keys (alice
and bob), and this policy for the name `notes`:

    mcp   = true
    allow = ['has(api_key.name) && (!has(mcp.tool) || mcp.tool in [TOOLS])']
    deny  = ['mcp.tool == "audit" && mcp.method == "tasks/cancel"']

with TOOLS echo, countdown, report and audit (not wipe). Checks:
- each mode (legacy, auto, pinned to 2026-07-28, the 1.32 client): tools/list filtered (no
  wipe), wipe refused with -32602, echo, countdown's three progress notifications before its
  result, a `report` task polled by its caller to completion, another cancelled by its caller;
  in the 2026-07-28 era the SDK sends the task id in Mcp-Name (the relay refused those with
  -32020 before issue 17), and the service saw the task requests;
- a second caller (bob) asking tasks/get, tasks/update or tasks/cancel about alice's task, or
  subscriptions/listen for its notifications, gets -32602 "Failed to retrieve task: Task not
  found" and the service never sees the request;
- a task of `audit` cannot be cancelled (the deny rule sees mcp.tool = audit on tasks/cancel),
  the service never sees that cancel, and its caller may still poll it;
- a policy reload that drops `report` from TOOLS ends alice's access to her running report
  task: not found, never forwarded;
- an Mcp-Name naming another task than the body: 400 -32020, not forwarded;
- the audit trail: the task methods carry `task`, the creating `tool` and `protocol_version`.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "mcp"))
import smoke_test  # noqa: E402
from smoke_test import Failure, Proc, die_with_parent, free_port  # noqa: E402

NAME = smoke_test.NAME
DOMAIN = smoke_test.DOMAIN
KEYS = {"alice": "tgk_alice-tasks-test-key-0001", "bob": "tgk_bob-tasks-test-key-000002"}
NOT_FOUND = "Failed to retrieve task: Task not found"


def log(message):
    print(f"[mcp-tasks] {message}", flush=True)


def policy(tools, deny_listen=False):
    import hashlib
    keys = "".join(
        f'\n[[identity.api_key]]\nname = "{name}"\nsha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\n'
        for name, key in KEYS.items())
    listed = ", ".join(f'"{t}"' for t in tools)
    listen_rule = ", 'mcp.method == \"subscriptions/listen\"'" if deny_listen else ""
    return f"""[[expose]]
id = "publish"
names = ["*"]
classes = ["human", "workload", "agent"]

[[access]]
id = "notes-tasks"
names = ["notes"]
mcp = true
allow = ['has(api_key.name) && (!has(mcp.tool) || mcp.tool in [{listed}])']
deny = ['mcp.tool == "audit" && mcp.method == "tasks/cancel"',
        'mcp.tool == "locate" && mcp.param["region"] == "forbidden"'{listen_rule}]
{keys}"""


EXTRA_CONFIG = """
[audit]
file = "audit.jsonl"
"""


def tasks(tmp, tg_bin, procs):
    policy_path = os.path.join(tmp, "policy.toml")
    with open(policy_path, "w") as f:
        f.write(policy(["echo", "countdown", "report", "audit", "locate", "confirm"]))
    smoke_test.make_credentials(tmp)  # keeps the policy written above
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
    url = match.group(0) + "mcp"
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=os.path.join(tmp, "ca.pem"))

    def client(caller, mode, *command):
        cmd = ["node", os.path.join(HERE, "tasks_client.mjs"), url, "--resolve",
               f"{NAME}.{DOMAIN}:127.0.0.1", "--key", KEYS[caller], "--mode", mode, *command]
        try:
            done = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True,
                                  timeout=90, preexec_fn=die_with_parent)
        except subprocess.TimeoutExpired:
            raise Failure(f"tasks_client.mjs {mode} {command} did not finish within 90s")
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        out = json.loads(lines[-1]) if lines else {}
        if done.returncode != 0 or "fatal" in out:
            raise Failure(f"tasks_client.mjs {caller} {mode} {command} exited {done.returncode}: "
                          f"{out.get('fatal', done.stdout[-2000:])}\n{done.stderr[-2000:]}")
        return out

    def seen(task_id, method=None):
        """The task requests the service received for `task_id`."""
        with server.cond:
            lines = list(server.lines)
        out = []
        for line in lines:
            if line.startswith("{") and '"request"' in line:
                event = json.loads(line)
                if event.get("taskId") == task_id and (method is None or event["method"] == method):
                    out.append(event)
        return out

    errors = []

    def expect(condition, what):
        if not condition:
            errors.append(what)
        return condition

    def not_found(answer):
        error = answer.get("error") or {}
        return error.get("code") == -32602 and NOT_FOUND in error.get("message", "")

    # Every negotiation mode, and the 1.32 client.
    eras = {"legacy": "legacy", "auto": "modern", "pin": "modern", "v1": "legacy"}
    for mode, era in eras.items():
        out = client("alice", mode, "check")
        log(f"{mode}: {json.dumps(out)}")
        expect(out.get("era") == era, f"{mode}: era {out.get('era')}, expected {era}")
        expect(out.get("ok"), f"{mode}: {out.get('errors')}")
        completed = (out.get("tasks") or {}).get("completed")
        cancelled = (out.get("tasks") or {}).get("cancelled")
        expect(completed and seen(completed, "tasks/get"), f"{mode}: the service saw no tasks/get")
        expect(cancelled and seen(cancelled, "tasks/cancel"), f"{mode}: the service saw no tasks/cancel")
        if era == "modern" and completed:
            names = {e.get("mcpName") for e in seen(completed, "tasks/get")}
            expect(names == {completed}, f"{mode}: Mcp-Name on tasks/get was {names}")

    # Another caller cannot touch alice's task, in either era.
    started = client("alice", "pin", "start", "report")
    task = started.get("taskId")
    if not expect(task, f"alice could not start a report task: {started}"):
        raise Failure("; ".join(errors))
    for mode in ("pin", "legacy", "v1"):
        for command in ("get", "update", "cancel"):
            answer = client("bob", mode, command, task)
            expect(not_found(answer), f"bob {mode} {command} on alice's task: {answer}")
    listen = client("bob", "pin", "listen", task)
    expect(not_found(listen), f"bob's subscriptions/listen for alice's task: {listen}")
    expect(seen(task) == [], f"the service saw bob's requests: {seen(task)}")
    mine = client("alice", "pin", "get", task)
    expect((mine.get("result") or {}).get("status") == "working", f"alice's own get: {mine}")
    expect(len(seen(task, "tasks/get")) == 1, f"alice's get did not reach the service: {seen(task)}")

    # The policy denies cancelling audit's tasks: decided as the tool that created the task.
    audit_task = client("alice", "pin", "start", "audit").get("taskId")
    denied = client("alice", "pin", "cancel", audit_task)
    expect(not_found(denied), f"cancel of an audit task: {denied}")
    expect(seen(audit_task, "tasks/cancel") == [], "the service saw the denied cancel")
    polled = client("alice", "legacy", "get", audit_task)
    expect((polled.get("result") or {}).get("status") == "working", f"get of the audit task: {polled}")

    # An Mcp-Name naming another task than the body's: 400 -32020, not forwarded.
    raw = smoke_test.harness.curl(
        url, ca=os.path.join(tmp, "ca.pem"), method="POST",
        headers=["Content-Type: application/json", "Accept: application/json, text/event-stream",
                 f"Authorization: Bearer {KEYS['alice']}", "MCP-Protocol-Version: 2026-07-28",
                 "Mcp-Method: tasks/get", "Mcp-Name: another-task"],
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {
            "taskId": task, "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                      "io.modelcontextprotocol/clientCapabilities": {}}}}).encode())
    expect(raw.status == 400 and b"-32020" in raw.body, f"Mcp-Name mismatch: {raw.describe()}")
    expect(len(seen(task, "tasks/get")) == 1, "the mismatched tasks/get reached the service")

    def events(**match):
        """The requests the service received whose logged fields equal `match`."""
        with server.cond:
            lines = list(server.lines)
        out = []
        for line in lines:
            if line.startswith("{") and '"request"' in line:
                event = json.loads(line)
                if all(event.get(k) == v for k, v in match.items()):
                    out.append(event)
        return out

    modern_meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                   "io.modelcontextprotocol/clientCapabilities": {}}

    def post(target, method, params, extra_headers=(), name_header=None, meta=None):
        headers = ["Content-Type: application/json", "Accept: application/json, text/event-stream",
                   f"Authorization: Bearer {KEYS['alice']}", "MCP-Protocol-Version: 2026-07-28",
                   f"Mcp-Method: {method}", *extra_headers]
        if name_header:
            headers.append(f"Mcp-Name: {name_header}")
        body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method,
                           "params": {**params, "_meta": meta or modern_meta}}).encode()
        return smoke_test.harness.curl(target, ca=os.path.join(tmp, "ca.pem"), method="POST",
                                       headers=headers, data=body)

    # Mcp-Param-*: `locate` declares region with x-mcp-header (learnt by the relay from the
    # tools/list it filtered). The 2026-07-28 clients mirror it and the service sees the
    # header; the older ones send none and pass; the policy reads it as mcp.param["region"].
    for mode in ("pin", "auto", "legacy", "v1"):
        region = f"eu-{mode}"
        located = client("alice", mode, "locate", region)
        text = ((located.get("result") or {}).get("content") or [{}])[0].get("text")
        expect(text == f"located in {region}", f"{mode}: locate: {located}")
        arrived = events(tool="locate", region=region)
        mirrored = region if eras[mode] == "modern" else None
        expect(len(arrived) == 1 and arrived[0].get("paramRegion") == mirrored,
               f"{mode}: the service saw {arrived}, expected Mcp-Param-Region {mirrored}")
        refused = client("alice", mode, "locate", "forbidden")
        expect((refused.get("error") or {}).get("code") == -32602,
               f"{mode}: locate forbidden, denied by mcp.param: {refused}")
    expect(events(tool="locate", region="forbidden") == [], "a denied locate reached the service")
    # Forged: the header says eu, the argument something else; and a 2026-07-28 call without
    # the header. Both 400 -32020, never forwarded. The Base64 form of a non-ASCII value passes.
    forged = post(url, "tools/call", {"name": "locate", "arguments": {"region": "elsewhere"}},
                  ["Mcp-Param-Region: eu"], "locate")
    expect(forged.status == 400 and b"-32020" in forged.body, f"forged Mcp-Param: {forged.describe()}")
    missing = post(url, "tools/call", {"name": "locate", "arguments": {"region": "nowhere"}},
                   [], "locate")
    expect(missing.status == 400 and b"-32020" in missing.body,
           f"missing Mcp-Param: {missing.describe()}")
    hidden = post(url, "tools/call", {"name": "locate", "arguments": {"region": "forbidden"}},
                  ["Mcp-Param-Region: eu"], "locate")
    expect(hidden.status == 400 and b"-32020" in hidden.body,
           f"a forged header to slip past the rule: {hidden.describe()}")
    import base64
    wrapped = "=?base64?" + base64.b64encode("zürich".encode()).decode() + "?="
    accepted = post(url, "tools/call", {"name": "locate", "arguments": {"region": "zürich"}},
                    [f"Mcp-Param-Region: {wrapped}"], "locate")
    expect(accepted.status == 200 and "located in zürich" in accepted.body.decode(),
           f"Base64 Mcp-Param: {accepted.describe()}")
    for region in ("elsewhere", "nowhere"):
        expect(events(tool="locate", region=region) == [], f"the refused locate {region} was forwarded")

    # server/discover passes in every mode: the service answers it. (The v2 client in legacy
    # mode refuses to send it itself: a legacy-era probe goes with curl, without the headers.)
    for mode in ("auto", "pin", "v1"):
        before = len(events(method="server/discover"))
        found = client("alice", mode, "discover")
        expect(len(events(method="server/discover")) > before,
               f"{mode}: server/discover did not reach the service: {found}")
        if eras[mode] == "modern":
            expect("2026-07-28" in (found.get("result") or {}).get("supportedVersions", []),
                   f"{mode}: server/discover: {found}")
        log(f"{mode}: server/discover -> {json.dumps(found)[:160]}")
    before = len(events(method="server/discover"))
    probe = smoke_test.harness.curl(
        url, ca=os.path.join(tmp, "ca.pem"), method="POST",
        headers=["Content-Type: application/json", "Accept: application/json, text/event-stream",
                 f"Authorization: Bearer {KEYS['alice']}"],
        data=b'{"jsonrpc":"2.0","id":3,"method":"server/discover","params":{}}')
    expect(len(events(method="server/discover")) == before + 1 and b'"id":3' in probe.body,
           f"legacy-era server/discover: {probe.describe()}")

    # An InputRequiredResult passes untouched: the same bytes as from the service directly.
    backend = f"http://127.0.0.1:{backend_port}/mcp"
    confirm = {"name": "confirm", "arguments": {"action": "deploy"}}
    elicit = {**modern_meta, "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}}}
    via_relay = post(url, "tools/call", confirm, [], "confirm", meta=elicit)
    direct = smoke_test.harness.curl(backend, ca=os.path.join(tmp, "ca.pem"), method="POST", headers=[
        "Content-Type: application/json", "Accept: application/json, text/event-stream",
        "MCP-Protocol-Version: 2026-07-28", "Mcp-Method: tools/call", "Mcp-Name: confirm"],
        data=json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                         "params": {**confirm, "_meta": elicit}}).encode())
    expect(via_relay.status == 200 and b'"input_required"' in via_relay.body
           and via_relay.body == direct.body,
           f"InputRequiredResult: relay {via_relay.describe()} direct {direct.describe()}")

    # An open subscriptions/listen stream, cut when a reload denies the method.
    listen_body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen", "params": {
        "notifications": {"toolsListChanged": True}, "_meta": modern_meta}})
    listen_cmd = ["curl", "-sS", "-N", "--cacert", os.path.join(tmp, "ca.pem"),
                  *smoke_test.harness.resolve_arg(url), "-X", "POST",
                  "-H", "Content-Type: application/json", "-H", "Accept: application/json, text/event-stream",
                  "-H", f"Authorization: Bearer {KEYS['alice']}", "-H", "MCP-Protocol-Version: 2026-07-28",
                  "-H", "Mcp-Method: subscriptions/listen", "--data-binary", listen_body, url]
    listener = subprocess.Popen(listen_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=die_with_parent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not events(method="subscriptions/listen"):
        time.sleep(0.05)
    expect(events(method="subscriptions/listen"), "alice's listen did not reach the service")
    expect(listener.poll() is None, f"alice's listen stream ended before the reload: {listener.poll()}")

    # A reload that drops report ends alice's access to her running report task, and denies
    # subscriptions/listen: the open stream is cut.
    with open(policy_path, "w") as f:
        f.write(policy(["echo", "countdown", "audit"], deny_listen=True))
    reloads = sum('"reloaded"' in line for line in relay.lines)
    relay.proc.send_signal(signal.SIGHUP)
    relay.wait_for(lambda line: sum('"reloaded"' in l for l in relay.lines) >= reloads + 2,
                   30, "reloaded events")
    try:
        listener.wait(timeout=30)
    except subprocess.TimeoutExpired:
        listener.kill()
        listener.wait()
        expect(False, "the listen stream stayed open after the reload denied it")
    revoked = client("alice", "pin", "get", task)
    expect(not_found(revoked), f"alice's get after the reload: {revoked}")
    expect(len(seen(task, "tasks/get")) == 1, "the revoked tasks/get reached the service")

    # The audit trail.
    audit_path = os.path.join(tmp, "audit.jsonl")
    deadline = time.monotonic() + 10
    lines = []
    while time.monotonic() < deadline:
        with open(audit_path) as f:
            lines = [json.loads(l) for l in f if '"kind":"mcp"' in l.replace(" ", "")]
        if sum(1 for l in lines if l.get("task") == task) >= 12:
            break
        time.sleep(0.1)
    about = [l for l in lines if l.get("task") == task]
    created = [l for l in about if l["mcp_method"] == "tools/call"]
    expect(len(created) == 1 and created[0]["tool"] == "report" and created[0]["decision"] == "allow"
           and created[0].get("protocol_version") == "2026-07-28", f"audit of the creating call: {created}")
    refused = [l for l in about if l["mcp_method"].startswith("tasks/") and l["decision"] == "deny"]
    expect(len(refused) >= 10 and all(l["reason"] == "task not held for this caller" for l in refused
                                      if l["subject"] == "bob"), f"audit of refused task requests: {refused}")
    allowed = [l for l in about if l["mcp_method"] == "tasks/get" and l["decision"] == "allow"]
    expect(len(allowed) == 1 and allowed[0]["tool"] == "report" and allowed[0]["subject"] == "alice",
           f"audit of alice's get: {allowed}")
    cut = [l for l in lines if l["mcp_method"] == "subscriptions/listen" and l["subject"] == "alice"]
    expect(len(cut) == 1 and cut[0]["decision"] == "deny"
           and cut[0]["reason"] == "revoked by a policy reload"
           and cut[0]["rule"] == "notes-tasks", f"audit of the cut listen stream: {cut}")
    if errors:
        raise Failure("tasks check failed:\n  " + "\n  ".join(errors))
    log(f"ok: {len(eras)} modes, task {task} bound to alice, {len(about)} audit lines about it")


def main():
    return smoke_test.run_check("mcp-tasks", tasks)


if __name__ == "__main__":
    sys.exit(main())
