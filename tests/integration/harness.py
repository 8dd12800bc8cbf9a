"""Harness for tunnelgate's end-to-end tests: the relay, real peers, and a backend to publish.

Every test file starts what it needs itself on 127.0.0.1 and cleans it up, failure or not:

- `Relay` makes a temp dir with a test CA and a wildcard certificate for *.tg.test (openssl
  CLI), an ssh host key and publisher keys (ssh-keygen), writes tunnelgate.toml, starts
  $TG_BIN on free ports and waits for its {"event":"ready"} log line.
- `Publisher` is the stock OpenSSH client doing `ssh -R SPEC`, its session kept open.
- `Backend` (backend.py, re-exported here) is the publisher's localhost service: a small
  HTTP/1.1 server with the endpoints the tests need (echo, sha256, deterministic bytes,
  chunked, SSE, WebSocket, slow-half) that records every request head it sees.
- `curl()` runs the real curl against the relay; `open_tls()` + `HttpResponse` are a raw
  client for what curl cannot do (malformed requests, arrival times, WebSocket frames).

Only the standard library: the tests must run on a fresh machine with nothing but python3,
openssh-client, curl and openssl installed.

Set TG_KEEP_TMP=1 to keep the temp dirs (relay config, certs, logs) for a post-mortem.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Iterator

from backend import Backend, RawService, SeenRequest, pattern_bytes, ws_accept, ws_frame, ws_read_frame

__all__ = [
    "Backend", "CurlResult", "HttpResponse", "Key", "Publisher", "RawService", "Relay", "SeenRequest",
    "class_backend", "class_relay", "client_context", "curl", "curl_sequence", "free_port", "make_certificates", "open_tls",
    "pattern_bytes", "publish_and_wait", "read_until_closed", "resolve_arg", "run", "sha256_file", "sha256_hex",
    "sock_read_exact", "tg_bin", "wait_until", "ws_accept", "ws_frame", "ws_read_frame",
]

DOMAIN = "tg.test"
KEEP_TMP = bool(os.environ.get("TG_KEEP_TMP"))


# --------------------------------------------------------------------------------------------
# Small utilities


def tg_bin() -> str:
    """The relay binary from $TG_BIN. Missing is a failure, never a skip: a test run that
    silently skips every end-to-end test would report green for a relay nobody ran."""
    path = os.environ.get("TG_BIN")
    if not path:
        raise AssertionError("TG_BIN is not set; run through ctest or set TG_BIN=/path/to/tunnelgate")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError(f"TG_BIN={path!r} is not an executable file")
    return path


def free_port() -> int:
    """A port that was free a moment ago (bind to 0, read it, close). Callers that start a
    server on it retry with another one when the bind loses a race."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], cwd: str | None = None, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"stdout: {proc.stdout.decode(errors='replace')}\nstderr: {proc.stderr.decode(errors='replace')}")
    return proc


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05):
    """Polls `predicate` until it returns something truthy (returned) or `timeout` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Keys and certificates


class Key:
    """An ed25519 key pair made by ssh-keygen in `directory`."""

    def __init__(self, directory: str, name: str):
        self.path = os.path.join(directory, name)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@tg-test", "-f", self.path])
        self.pub_path = self.path + ".pub"
        with open(self.pub_path) as f:
            self.public = f.read().strip()
        out = run(["ssh-keygen", "-l", "-E", "sha256", "-f", self.pub_path]).stdout.decode()
        self.fingerprint = out.split()[1]  # "SHA256:..."


def make_certificates(directory: str, domain: str = DOMAIN) -> dict[str, str]:
    """A test CA (EC P-256) and a leaf for *.DOMAIN and DOMAIN signed by it, with the openssl
    CLI. Returns paths: ca (ca.pem), cert (cert.pem, the leaf), key (key.pem, PKCS#8)."""
    p = lambda name: os.path.join(directory, name)  # noqa: E731
    ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    run(["openssl", "genpkey", *ec, "-out", p("ca.key")])
    run(["openssl", "req", "-x509", "-new", "-key", p("ca.key"), "-sha256", "-days", "30",
         "-subj", "/CN=tunnelgate test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-out", p("ca.pem")])
    run(["openssl", "genpkey", *ec, "-out", p("key.pem")])
    run(["openssl", "req", "-new", "-key", p("key.pem"), "-subj", f"/CN=*.{domain}", "-out", p("leaf.csr")])
    with open(p("leaf.ext"), "w") as f:
        f.write(f"subjectAltName=DNS:*.{domain},DNS:{domain}\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n")
    run(["openssl", "x509", "-req", "-in", p("leaf.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
         "-CAcreateserial", "-days", "30", "-sha256", "-extfile", p("leaf.ext"), "-out", p("cert.pem")])
    return {"ca": p("ca.pem"), "cert": p("cert.pem"), "key": p("key.pem")}


# --------------------------------------------------------------------------------------------
# The relay


class Relay:
    """A tunnelgate process on its own temp dir and ports.

        relay = Relay(keys=("alice", "bob"))   # makes keys, certs, config; does not start
        relay.start()                          # waits for {"event":"ready"}
        relay.keys["alice"].path               # a publisher key listed in authorized_keys
        relay.close()                          # stops everything it started, removes the dir

    `extra_keys` are generated but NOT authorized (for negative tests)."""

    READY_TIMEOUT = 20.0

    def __init__(self, keys=("alice",), extra_keys=(), domain: str = DOMAIN, workers: int = 2,
                 extra_config: str = "", dev: bool = False, https_config: str = "",
                 ssh_config: str = "", host_keys=("host_key",), open_files: int = 0):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="tg-relay-"))
        self.dev = dev
        self.workers = workers
        self.extra_config = extra_config
        self.https_config = https_config  # lines added to [https] (client_certs, proxy_protocol_from)
        self.ssh_config = ssh_config  # lines added to [ssh] (max_startups, login_grace_time_ms)
        self.host_keys = tuple(host_keys)  # files in the dir; a name with "rsa" is an RSA key
        self.open_files = open_files  # the relay's RLIMIT_NOFILE (soft and hard); 0: inherited
        self.config_path = os.path.join(self.dir, "tunnelgate.toml")
        self.keys: dict[str, Key] = {}
        self.unauthorized_keys: dict[str, Key] = {}
        if dev:
            # `--dev --state-dir DIR` makes its own CA (DIR/ca.pem), certificate, host key and
            # demo client key (DIR/client_key) and serves NAME.localhost.
            self.domain = "localhost"
            self.state_dir = os.path.join(self.dir, "state")
            self.ca_path = os.path.join(self.state_dir, "ca.pem")
        else:
            self.domain = domain
            self.state_dir = os.path.join(self.dir, "state")
            certs = make_certificates(self.dir, domain)
            self.policy_path = write_open_policy(self.dir)
            self.ca_path, self.cert_path, self.key_path = certs["ca"], certs["cert"], certs["key"]
            for host_key in self.host_keys:
                kind = ["-t", "rsa", "-b", "3072"] if "rsa" in host_key else ["-t", "ed25519"]
                run(["ssh-keygen", "-q", *kind, "-N", "", "-f", os.path.join(self.dir, host_key)])
            self.keys = {name: Key(self.dir, name) for name in keys}
            self.unauthorized_keys = {name: Key(self.dir, name) for name in extra_keys}
            with open(os.path.join(self.dir, "authorized_keys"), "w") as f:
                for key in self.keys.values():
                    f.write(key.public + "\n")
        self.https_port = 0
        self.ssh_port = 0
        self.proc: subprocess.Popen | None = None
        self._lines: list[dict] = []  # parsed JSON lines of stdout (non-JSON lines as {"raw": line})
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None
        self._stderr_file = None
        self._publishers: list[Publisher] = []
        self.starts = 0

    # -- config and process

    def pick_ports(self) -> None:
        self.https_port, self.ssh_port = free_port(), free_port()
        while self.ssh_port == self.https_port:
            self.ssh_port = free_port()

    def write_config(self) -> None:
        """Writes tunnelgate.toml for the current ports (picking them first if unset)."""
        if not self.https_port:
            self.pick_ports()
        with open(self.config_path, "w") as f:
            f.write(config_text(self.https_port, self.ssh_port, self.domain, self.workers,
                                self.https_config, self.ssh_config, self.host_keys) + self.extra_config)

    def command(self) -> list[str]:
        if self.dev:
            return [tg_bin(), "--dev", "--state-dir", self.state_dir,
                    "--https-port", str(self.https_port), "--ssh-port", str(self.ssh_port)]
        return [tg_bin(), "--config", self.config_path]

    def start(self, attempts: int = 3) -> "Relay":
        """Starts on fresh free ports (keeps the current ones on a restart), retrying with new
        ports when the relay reports a bind conflict."""
        keep_ports = self.https_port != 0
        for attempt in range(attempts):
            if not keep_ports or attempt > 0:
                self.pick_ports()
            if not self.dev:
                self.write_config()
            status = self._start_once()
            if status == "ready":
                return self
            if status == "bind_conflict" and attempt + 1 < attempts:
                continue
            raise AssertionError(f"relay did not become ready ({status}).\n{self.log_text()}")
        raise AssertionError("unreachable")

    def _start_once(self) -> str:
        self.starts += 1
        suffix = f".{self.starts}" if self.starts > 1 else ""
        self._stdout_path = os.path.join(self.dir, f"stdout{suffix}.log")
        self._stderr_path = os.path.join(self.dir, f"stderr{suffix}.log")
        self._stderr_file = open(self._stderr_path, "wb")
        with self._cond:
            self._lines = []
        limit = self.open_files
        self.proc = subprocess.Popen(self.command(), cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr_file, start_new_session=True,
                                     preexec_fn=(lambda: _limit_open_files(limit)) if limit else None)
        self._reader = threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.READY_TIMEOUT
        with self._cond:
            while True:
                if any(line.get("event") == "ready" for line in self._lines):
                    return "ready"
                if self.proc.poll() is not None and not self._reader.is_alive():
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
        exited = self.proc.poll() is not None
        text = self.log_text().lower()
        self._kill()
        if exited and ("address already in use" in text or "eaddrinuse" in text):
            return "bind_conflict"
        return f"exited with {self.proc.returncode}" if exited else f"no ready line within {self.READY_TIMEOUT:.0f} s"

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        with open(self._stdout_path, "wb") as log:
            for raw in proc.stdout:
                log.write(raw)
                log.flush()
                text = raw.decode(errors="replace").strip()
                if not text:
                    continue
                try:
                    parsed = json.loads(text)
                    if not isinstance(parsed, dict):
                        parsed = {"raw": text}
                except ValueError:
                    parsed = {"raw": text}
                with self._cond:
                    self._lines.append(parsed)
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def stop(self, expect_code: int | None = 0, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to `timeout`, and (unless `expect_code` is None) assert the exit code."""
        assert self.proc is not None, "relay not started"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise AssertionError(f"relay did not exit within {timeout} s of SIGTERM\n{self.log_text()}")
        self._finish_process()
        if expect_code is not None and code != expect_code:
            raise AssertionError(f"relay exited with {code}, expected {expect_code}\n{self.log_text()}")
        return code

    def restart(self) -> "Relay":
        """Stop (asserting a clean exit) and start again with the same dir, ports and state."""
        self.stop()
        return self.start()

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._finish_process()

    def _finish_process(self) -> None:
        if self._reader is not None:
            self._reader.join(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None

    def close(self) -> None:
        for pub in self._publishers:
            pub.close()
        self._kill()
        if KEEP_TMP:
            print(f"\n[harness] relay dir kept: {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Relay":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- observation

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stdout_text(self) -> str:
        """Everything the current process printed on stdout so far."""
        return _read_text(self._stdout_path)

    def logs(self) -> list[dict]:
        """The JSON lines the current process printed so far."""
        with self._cond:
            return list(self._lines)

    def wait_for_log(self, match: dict | Callable[[dict], bool], timeout: float = 5.0) -> dict | None:
        """The first log line matching `match` (a dict of required field values, or a
        predicate), waiting up to `timeout` for it; None when none came."""
        pred = match if callable(match) else (lambda line: all(line.get(k) == v for k, v in match.items()))
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines:
                    if pred(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.2))

    def log_text(self, tail: int = 60) -> str:
        def read_tail(path: str) -> str:
            try:
                with open(path, "rb") as f:
                    lines = f.read().decode(errors="replace").splitlines()
            except OSError:
                return "(none)"
            return "\n".join(lines[-tail:])
        if self.proc is None:
            state = "not started"
        elif self.proc.poll() is None:
            state = f"running, pid {self.proc.pid}"
        elif self.proc.returncode < 0:
            state = f"killed by {signal.Signals(-self.proc.returncode).name}"
        else:
            state = f"exited with {self.proc.returncode}"
        return (f"--- relay process: {state} ---\n"
                f"--- relay stdout ({getattr(self, '_stdout_path', '?')}) ---\n{read_tail(getattr(self, '_stdout_path', ''))}\n"
                f"--- relay stderr ---\n{read_tail(getattr(self, '_stderr_path', ''))}")

    # -- conveniences for tests

    def host(self, name: str) -> str:
        return f"{name}.{self.domain}"

    def url(self, name: str, path: str = "/") -> str:
        return f"https://{name}.{self.domain}:{self.https_port}{path}"

    def publish(self, spec: str, key: str = "alice", **kwargs) -> "Publisher":
        """Starts `ssh -R spec` with one of this relay's keys (by name, or a key file path);
        closed with the relay."""
        if os.sep in key:
            key_path = key
        else:
            key_path = (self.keys.get(key) or self.unauthorized_keys[key]).path
        pub = Publisher(self.ssh_port, key_path, spec, relay=self, **kwargs)
        self._publishers.append(pub)
        return pub

    def curl(self, name: str, path: str = "/", **kwargs) -> "CurlResult":
        return curl(self.url(name, path), ca=self.ca_path, **kwargs)

    def tls(self, name: str, timeout: float = 10.0) -> ssl.SSLSocket:
        return open_tls(self.https_port, self.host(name), self.ca_path, timeout)

    def request(self, name: str, raw: bytes, timeout: float = 10.0) -> "HttpResponse":
        """Sends `raw` (a whole request, written at once) over TLS and reads one response."""
        sock = self.tls(name, timeout)
        sock.sendall(raw)
        resp = HttpResponse(sock)
        resp.read_all()
        sock.close()
        return resp


def _limit_open_files(limit: int) -> None:
    """In the relay's child process before exec: its descriptor table holds `limit` at most."""
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def config_text(https_port: int, ssh_port: int, domain: str = DOMAIN, workers: int = 2,
                https_config: str = "", ssh_config: str = "", host_keys=("host_key",)) -> str:
    host_key_list = ", ".join(f'"{name}"' for name in host_keys)
    return f"""workers = {workers}
domain = "{domain}"
state_dir = "state"

[https]
listen = ["127.0.0.1:{https_port}"]
cert = "cert.pem"
key = "key.pem"
{https_config}

[ssh]
listen = ["127.0.0.1:{ssh_port}"]
host_keys = [{host_key_list}]
authorized_keys = "authorized_keys"
{ssh_config}

[policy]
file = "policy.toml"
"""


# Tests that are not about the policy run with one that lets every authorized key publish any
# name with any class, and lets anyone call it; tests about the policy write their own.
OPEN_POLICY = """[[expose]]
id = "test-expose"
names = ["*"]
classes = ["human", "workload", "agent"]

[[access]]
id = "test-access"
names = ["*"]
allow = ['true']
"""


def write_open_policy(directory: str) -> str:
    path = os.path.join(directory, "policy.toml")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(OPEN_POLICY)
    return path


# --------------------------------------------------------------------------------------------
# The publisher: stock OpenSSH


# A URL as printed on the session; stops at whitespace and at an escape (a colour code).
URL_RE = re.compile(rb"https://[^\s\x1b]+")


class Publisher:
    """`ssh -R SPEC` with the session kept open (stdin is a pipe nobody closes).

    The relay prints the URL and status lines on the session channel, so by default there is
    no -N (set `no_shell=True` to pass it). -F /dev/null, IdentitiesOnly and IdentityAgent=none
    keep the user's ssh config and agent out, so the key used is exactly `key_path`."""

    def __init__(self, port: int, key_path: str, spec: str, *, user: str = "tester", no_shell: bool = False,
                 log_level: str = "ERROR", extra_opts: tuple[str, ...] = (), relay: Relay | None = None,
                 command: str = ""):
        self.spec = spec
        self.relay = relay
        self.cmd = ["ssh", "-F", "/dev/null", "-p", str(port), "-i", key_path,
                    "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                    "-o", "ExitOnForwardFailure=no", "-o", "BatchMode=yes",
                    "-o", "ServerAliveInterval=5", "-o", "ConnectTimeout=10",
                    "-o", f"LogLevel={log_level}", *extra_opts, "-T", "-R", spec]
        if no_shell:
            self.cmd.append("-N")
        self.cmd.append(f"{user}@127.0.0.1")
        if command:  # options for the relay, e.g. "class=agent host=localhost:8080"
            self.cmd.append(command)
        self._buf = bytearray()
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if chunk:
                    self._buf += chunk
                self._cond.notify_all()
            if not chunk:
                return

    def output(self) -> str:
        with self._cond:
            return self._buf.decode(errors="replace")

    def _describe(self) -> str:
        text = f"ssh command: {' '.join(self.cmd)}\nssh exit: {self.proc.poll()}\nssh output:\n{self.output()}"
        if self.relay is not None:
            text += "\n" + self.relay.log_text(30)
        return text

    def wait_for(self, pattern: bytes | re.Pattern, timeout: float = 15.0) -> re.Match | None:
        """Waits for `pattern` (a regex or literal bytes) in the output; None when the output
        ended or `timeout` passed without it."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = regex.search(self._buf)
                if m:
                    return m
                if not self._reader.is_alive():
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.2))

    def wait_for_text(self, text: str, timeout: float = 15.0) -> None:
        if not self.wait_for(text.encode(), timeout):
            raise AssertionError(f"{text!r} not printed on the session within {timeout} s\n{self._describe()}")

    def wait_for_url(self, timeout: float = 15.0) -> str:
        """The first https:// URL printed on the session."""
        m = self.wait_for(URL_RE, timeout)
        if not m:
            raise AssertionError(f"no URL printed on the session within {timeout} s\n{self._describe()}")
        return m.group(0).decode()

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        self.kill()
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self._reader.join(5)
        if self.proc.stdout:
            self.proc.stdout.close()


# --------------------------------------------------------------------------------------------
# curl


@dataclass
class CurlResult:
    returncode: int
    status: int  # the final response's status (0 when none)
    headers: dict[str, str]  # the final response's headers, names lower-cased (last value wins)
    header_text: str  # every header block curl saw, 1xx interim responses included
    body: bytes
    stderr: str
    elapsed: float
    cmd: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (f"curl exit {self.returncode}, status {self.status}, {len(self.body)} body bytes, "
                f"{self.elapsed:.2f} s\ncmd: {' '.join(self.cmd)}\nstderr: {self.stderr}\n"
                f"headers:\n{self.header_text}\nbody[:300]: {self.body[:300]!r}")


def resolve_arg(url: str) -> list[str]:
    u = urllib.parse.urlsplit(url)
    return ["--resolve", f"{u.hostname}:{u.port or 443}:127.0.0.1"]


def curl(url: str, *, ca: str, method: str | None = None, headers: tuple[str, ...] | list[str] = (),
         data: bytes | None = None, data_file: str | None = None, extra: tuple[str, ...] | list[str] = (),
         timeout: float = 30.0) -> CurlResult:
    """Runs `curl -sS --cacert CA --resolve HOST:PORT:127.0.0.1 URL` and returns status,
    headers and body. `data` / `data_file` are sent with --data-binary."""
    tmp = tempfile.mkdtemp(prefix="tg-curl-")
    try:
        head_path, body_path = os.path.join(tmp, "head"), os.path.join(tmp, "body")
        cmd = ["curl", "-sS", "--cacert", ca, *resolve_arg(url), "-D", head_path, "-o", body_path,
               "-w", "%{http_code}", "--max-time", str(timeout)]
        if method:
            cmd += ["-X", method]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            data_file = os.path.join(tmp, "upload")
            with open(data_file, "wb") as f:
                f.write(data)
        if data_file is not None:
            cmd += ["--data-binary", "@" + data_file]
        cmd += [*extra, url]
        start = time.monotonic()
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 10)
        elapsed = time.monotonic() - start
        head_text = _read_text(head_path)
        body = _read_bytes(body_path)
        code = proc.stdout.decode().strip()
        return CurlResult(proc.returncode, int(code) if code.isdigit() else 0, parse_last_header_block(head_text),
                          head_text, body, proc.stderr.decode(errors="replace"), elapsed, cmd)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def curl_sequence(urls: list[str], *, ca: str, timeout: float = 30.0) -> list[tuple[int, int, bytes]]:
    """One curl invocation fetching every URL in turn (so it may reuse one connection).
    Returns (status, num_connects, body) per URL; num_connects 0 means the transfer reused
    the previous connection."""
    tmp = tempfile.mkdtemp(prefix="tg-curl-")
    try:
        cmd = ["curl", "-sS", "--cacert", ca, "-w", "%{http_code} %{num_connects}\\n", "--max-time", str(timeout)]
        seen_resolve = set()
        for url in urls:
            r = tuple(resolve_arg(url))
            if r not in seen_resolve:
                cmd += list(r)
                seen_resolve.add(r)
        outs = []
        for i, url in enumerate(urls):
            out = os.path.join(tmp, f"body{i}")
            outs.append(out)
            cmd += ["-o", out, url]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 10)
        lines = proc.stdout.decode().split("\n")
        results = []
        for i, out in enumerate(outs):
            parts = lines[i].split() if i < len(lines) else []
            status = int(parts[0]) if parts and parts[0].isdigit() else 0
            connects = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
            results.append((status, connects, _read_bytes(out)))
        if proc.returncode != 0:
            raise AssertionError(f"curl exit {proc.returncode}: {proc.stderr.decode(errors='replace')}; {results}")
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_text(path: str) -> str:
    return _read_bytes(path).decode("iso-8859-1")


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def parse_last_header_block(text: str) -> dict[str, str]:
    blocks = [b for b in re.split(r"\r?\n\r?\n", text) if b.strip()]
    if not blocks:
        return {}
    headers = {}
    for line in blocks[-1].splitlines()[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return headers


# --------------------------------------------------------------------------------------------
# Raw TLS client


def client_context(ca_path: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_path)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def open_tls(port: int, sni: str, ca_path: str, timeout: float = 10.0) -> ssl.SSLSocket:
    """A verified TLS connection to 127.0.0.1:port with SNI `sni`."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        return client_context(ca_path).wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


class HttpResponse:
    """Reads one HTTP/1.1 response from a socket incrementally, decoding Content-Length,
    chunked and close-delimited bodies, so tests can see when each piece arrived."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.header_list: list[tuple[str, str]] = []
        self.body = bytearray()
        self.complete = False  # the body's framing said it ended (not a cut connection)
        self.interim: list[int] = []  # 1xx statuses seen before the final one

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            data = b""
        if not data:
            return False
        self.buf += data
        return True

    def _line(self) -> bytes | None:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if not self._fill():
                return None

    def read_head(self) -> "HttpResponse":
        while True:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill():
                    raise ConnectionError(f"connection ended before a response head; got {bytes(self.buf)!r}")
            end = self.buf.index(b"\r\n\r\n")
            head = bytes(self.buf[:end]).decode("iso-8859-1")
            del self.buf[:end + 4]
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            status = int(parts[1])
            if 100 <= status < 200 and status != 101:
                self.interim.append(status)
                continue
            self.status, self.reason = status, parts[2] if len(parts) > 2 else ""
            for line in lines[1:]:
                k, _, v = line.partition(":")
                self.header_list.append((k.strip().lower(), v.strip()))
                self.headers[k.strip().lower()] = v.strip()
            return self

    def iter_body(self) -> Iterator[bytes]:
        """Yields body bytes as they arrive (decoded from chunked framing)."""
        if not self.status:
            self.read_head()
        if self.status in (101, 204, 304):
            self.complete = True
            return
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            while True:
                line = self._line()
                if line is None:
                    return
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:  # trailers
                        t = self._line()
                        if t is None or t == b"":
                            break
                    self.complete = True
                    return
                left = size
                while left:
                    if not self.buf and not self._fill():
                        return
                    piece = bytes(self.buf[:left])
                    del self.buf[:len(piece)]
                    left -= len(piece)
                    self.body += piece
                    yield piece
                if self._line() is None:
                    return
        elif "content-length" in self.headers:
            left = int(self.headers["content-length"])
            while left:
                if not self.buf and not self._fill():
                    return
                piece = bytes(self.buf[:left])
                del self.buf[:len(piece)]
                left -= len(piece)
                self.body += piece
                yield piece
            self.complete = True
        else:
            while True:
                if self.buf:
                    piece = bytes(self.buf)
                    self.buf.clear()
                    self.body += piece
                    yield piece
                if not self._fill():
                    self.complete = True
                    return

    def read_all(self) -> "HttpResponse":
        for _ in self.iter_body():
            pass
        return self


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """Reads until the peer closes. Returns (bytes received, closed within timeout)."""
    sock.settimeout(0.2)
    data = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


# --------------------------------------------------------------------------------------------
# WebSocket client side


def sock_read_exact(sock: socket.socket, buf: bytearray) -> Callable[[int], bytes]:
    """A read_exact over `sock` that first consumes `buf` (bytes already read past a head)."""
    def read_exact(n: int) -> bytes:
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed inside a WebSocket frame")
            buf.extend(chunk)
        out = bytes(buf[:n])
        del buf[:n]
        return out
    return read_exact


# --------------------------------------------------------------------------------------------
# unittest glue


def class_relay(cls, **kwargs) -> Relay:
    """Starts a Relay for a TestCase class and registers its cleanup (which runs even when
    setUpClass fails afterwards)."""
    relay = Relay(**kwargs)
    cls.addClassCleanup(relay.close)
    relay.start()
    return relay


def class_backend(cls, label: str = "backend") -> Backend:
    backend = Backend(label)
    cls.addClassCleanup(backend.close)
    return backend


def publish_and_wait(relay: Relay, spec: str, key: str = "alice", **kwargs) -> tuple[Publisher, str]:
    """Publishes `spec`, waits for the URL on the session, returns (publisher, url)."""
    pub = relay.publish(spec, key=key, **kwargs)
    return pub, pub.wait_for_url()


def post_reload(admin_port: int) -> tuple[int, dict]:
    """POST /v1/reload on the admin API; returns (status, parsed JSON body)."""
    import json
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"http://127.0.0.1:{admin_port}/v1/reload", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
