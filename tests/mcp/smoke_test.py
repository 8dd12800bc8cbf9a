#!/usr/bin/env python3
"""MCP smoke test: the official TypeScript SDK's client and server talking through tunnelgate.

  TG_BIN=/path/to/tunnelgate python3 tests/mcp/smoke_test.py

In a fresh temporary directory it makes a test CA and a wildcard certificate for *.tg.test
(openssl CLI, EC P-256), an ed25519 host key and client key (ssh-keygen), authorized_keys and a
config with free loopback ports; starts the relay ($TG_BIN) and waits for its "ready" event;
starts server.mjs (McpServer + StreamableHTTPServerTransport) on a free port; publishes it with
the stock OpenSSH client (`ssh -T -R notes:80:localhost:PORT`) and waits for the URL the relay
prints on the session; then runs client.mjs (Client + StreamableHTTPClientTransport) against
https://notes.tg.test:PORT/mcp, trusting the test CA through NODE_EXTRA_CA_CERTS and resolving
notes.tg.test to 127.0.0.1. Passes only if the client exits 0 with a summary that shows the
tool list, the echo result and the countdown's notifications arriving before its result.

It fails (never skips) when TG_BIN, node, ssh, openssl or tests/mcp/node_modules is missing:
tools/setup.sh installs them. Every process it starts is stopped, and the directory removed,
on every path (set TG_KEEP_TMP=1 to keep the directory for a look).
"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
DOMAIN = "tg.test"
NAME = "notes"


class Failure(Exception):
    pass


def log(message):
    print(f"[mcp-smoke] {message}", flush=True)


def die_with_parent():
    """Runs in each child before exec: the kernel kills it if this test process dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, cwd):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise Failure(f"{' '.join(cmd)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


class Proc:
    """A child process whose stdout is read line by line on a thread (so it never blocks)."""

    def __init__(self, name, cmd, cwd, log_dir, env=None, stdin=None, merge_stderr=False):
        self.name = name
        self.lines = []
        self.cond = threading.Condition()
        self.stderr_path = os.path.join(log_dir, f"{name}.stderr")
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else self.stderr_file,
            preexec_fn=die_with_parent)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.stderr_path[: -len(".stderr")] + ".stdout", "wb") as copy:
            for raw in self.proc.stdout:
                copy.write(raw)
                copy.flush()
                with self.cond:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, predicate, timeout, what):
        """Returns the first stdout line for which predicate(line) is truthy."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                for line in self.lines[seen:]:
                    match = predicate(line)
                    if match:
                        return match
                seen = len(self.lines)
                if self.proc.poll() is not None and not self.reader.is_alive():
                    raise Failure(f"{self.name} exited ({self.proc.returncode}) before {what}\n"
                                  + self.describe())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"no {what} from {self.name} within {timeout}s\n" + self.describe())
                self.cond.wait(min(left, 0.2))

    def stderr_tail(self, limit=3000):
        try:
            self.stderr_file.flush()
            with open(self.stderr_path, "rb") as f:
                return f.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""

    def describe(self):
        with self.cond:
            out = "\n".join(self.lines[-30:])
        return (f"--- {self.name} stdout (last lines) ---\n{out}\n"
                f"--- {self.name} stderr (tail) ---\n{self.stderr_tail()}")

    def stop(self):
        if self.proc.poll() is None:
            if self.proc.stdin:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.reader.join(timeout=2)
        self.stderr_file.close()


def make_credentials(tmp):
    # Certificates and config come from the integration tests' harness: one way to make them.
    harness.make_certificates(tmp, DOMAIN)
    harness.write_open_policy(tmp)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tunnelgate host", "-f", "host_key"], tmp)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "smoke publisher", "-f", "client_key"], tmp)
    shutil.copyfile(os.path.join(tmp, "client_key.pub"), os.path.join(tmp, "authorized_keys"))
    os.chmod(os.path.join(tmp, "client_key"), 0o600)


def write_config(tmp, https_port, ssh_port):
    path = os.path.join(tmp, "tunnelgate.toml")
    os.makedirs(os.path.join(tmp, "state"), exist_ok=True)
    with open(path, "w") as f:
        f.write(harness.config_text(https_port, ssh_port, DOMAIN))
    return path


def check_prerequisites():
    tg_bin = os.environ.get("TG_BIN", "")
    if not tg_bin:
        raise Failure("TG_BIN is not set: point it at the tunnelgate binary")
    if not (os.path.isfile(tg_bin) and os.access(tg_bin, os.X_OK)):
        raise Failure(f"TG_BIN={tg_bin} is not an executable file (build tunnelgate first)")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@modelcontextprotocol", "sdk")):
        raise Failure(f"{HERE}/node_modules has no @modelcontextprotocol/sdk: run tools/setup.sh "
                      "(npm ci in tests/mcp)")
    for tool in ("node", "ssh", "ssh-keygen", "openssl"):
        if not shutil.which(tool):
            raise Failure(f"{tool} is not installed: run tools/setup.sh")
    return os.path.abspath(tg_bin)


def smoke(tmp, tg_bin, procs):
    make_credentials(tmp)
    https_port, ssh_port = free_port(), free_port()
    while ssh_port == https_port:
        ssh_port = free_port()
    config = write_config(tmp, https_port, ssh_port)

    log(f"starting {tg_bin} (https 127.0.0.1:{https_port}, ssh 127.0.0.1:{ssh_port})")
    relay = Proc("tunnelgate", [tg_bin, "--config", config], tmp, tmp)
    procs.append(relay)
    relay.wait_for(lambda line: '"event":"ready"' in line.replace(" ", ""), 30, "ready event")

    log("starting server.mjs")
    server = Proc("server", ["node", os.path.join(HERE, "server.mjs"), "0"], HERE, tmp)
    procs.append(server)
    backend_port = server.wait_for(
        lambda line: json.loads(line).get("port") if line.startswith("{") else None, 30,
        "listening line")

    log(f"publishing localhost:{backend_port} with ssh -R {NAME}:80:...")
    publisher = Proc("ssh", [
        "ssh", "-F", "/dev/null", "-p", str(ssh_port), "-i", os.path.join(tmp, "client_key"),
        "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
        "-o", "ExitOnForwardFailure=yes", "-T",
        "-R", f"{NAME}:80:localhost:{backend_port}", "x@127.0.0.1"],
        tmp, tmp, stdin=subprocess.PIPE, merge_stderr=True)  # the URL may come either way
    procs.append(publisher)
    url_re = re.compile(r"https://" + re.escape(f"{NAME}.{DOMAIN}") + r":(\d+)/")
    match = publisher.wait_for(url_re.search, 30, "public URL")
    url = match.group(0)
    if int(match.group(1)) != https_port:
        raise Failure(f"relay printed {url}, expected port {https_port}")
    log(f"relay published {url}")

    env = dict(os.environ, NODE_EXTRA_CA_CERTS=os.path.join(tmp, "ca.pem"))
    cmd = ["node", os.path.join(HERE, "client.mjs"), url + "mcp",
           "--resolve", f"{NAME}.{DOMAIN}:127.0.0.1", "--timeout-ms", "60000"]
    log("running client.mjs " + " ".join(cmd[2:]))
    try:
        client = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True, timeout=90,
                                preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        raise Failure("client.mjs did not finish within 90s")
    out_lines = [line for line in client.stdout.splitlines() if line.startswith("{")]
    summary = json.loads(out_lines[-1]) if out_lines else None
    print(json.dumps(summary, indent=2) if summary else client.stdout, flush=True)
    if client.returncode != 0 or not summary or not summary.get("ok"):
        raise Failure(f"client.mjs exited {client.returncode}\n--- client stderr ---\n"
                      f"{client.stderr[-3000:]}\n" + "\n".join(p.describe() for p in procs))

    # The client checked everything; re-check the essentials so a client change can't drop them.
    errors = []
    if summary.get("tools") is None or not {"countdown", "echo"} <= set(summary["tools"]):
        errors.append(f"tools: {summary.get('tools')}")
    if not str(summary.get("echo", "")).startswith("hello through the tunnel"):
        errors.append(f"echo: {summary.get('echo')}")
    countdown = summary.get("countdown") or {}
    result_at = countdown.get("result_at_ms")
    progress = countdown.get("progress") or []
    logs = countdown.get("logs") or []
    if result_at is None or not progress or not logs:
        errors.append(f"countdown: {countdown}")
    elif any(p["at_ms"] > result_at for p in progress + logs):
        errors.append(f"a countdown notification arrived after the result: {countdown}")
    if errors:
        raise Failure("summary check failed: " + "; ".join(errors))
    log(f"ok: notifications led the countdown result by {countdown.get('lead_ms')} ms")


def run_check(label, check):
    """Runs `check(tmp, tg_bin, procs)` in a fresh temporary folder, stops every process it
    started (last first) and removes the folder, whatever happens; prints LABEL: N passed,
    M failed; returns the exit code."""
    # ctest stops a test with SIGTERM on timeout: turn it into an exception so cleanup runs.
    def on_signal(signum, _frame):
        raise Failure(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    procs = []
    tmp = None
    ok = False
    try:
        tg_bin = check_prerequisites()
        tmp = tempfile.mkdtemp(prefix=f"tg-{label}-")
        check(tmp, tg_bin, procs)
        ok = True
    except Failure as failure:
        print(f"[{label}] FAIL: {failure}", file=sys.stderr, flush=True)
    except Exception as error:  # noqa: BLE001 - any surprise is a failure, with cleanup
        print(f"[{label}] FAIL: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    finally:
        for proc in reversed(procs):
            try:
                proc.stop()
            except Exception as error:  # noqa: BLE001
                print(f"[{label}] while stopping {proc.name}: {error}", file=sys.stderr)
        if tmp:
            if os.environ.get("TG_KEEP_TMP"):
                print(f"[{label}] kept {tmp}", flush=True)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    print(f"{label}: {1 if ok else 0} passed, {0 if ok else 1} failed", flush=True)
    return 0 if ok else 1


def main():
    return run_check("mcp-smoke", smoke)


if __name__ == "__main__":
    sys.exit(main())
