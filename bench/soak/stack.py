"""What the soak runs against: the relay, the backend, and the publishers, as child processes.

Every process is started in its own session (a Ctrl-C reaches only the orchestrator, which then
stops them in order) and recorded, so that stop_all() ends all of them, whatever happened.
Everything listens on 127.0.0.1, on ports picked here.
"""
import asyncio
import os
import signal
import socket
import subprocess
import time

DOMAIN = "tg.test"


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Processes:
    """Children by name; stop_all() ends them newest first (SIGCONT first for stopped ones)."""

    def __init__(self, work):
        self.work = work
        self.started = []

    def start(self, argv, log_name, cwd=None, stdin=subprocess.DEVNULL):
        log = open(os.path.join(self.work, log_name), "ab")
        proc = subprocess.Popen(argv, stdin=stdin, stdout=log, stderr=subprocess.STDOUT,
                                cwd=cwd or self.work, start_new_session=True)
        log.close()
        self.started.append(proc)
        return proc

    def stop_all(self, relay=None):
        for proc in reversed(self.started):
            if proc.poll() is None and proc is not relay:
                try:
                    os.kill(proc.pid, signal.SIGCONT)
                    proc.kill()
                except ProcessLookupError:
                    pass
        if relay is not None and relay.poll() is None:
            relay.terminate()
            try:
                relay.wait(10)
            except subprocess.TimeoutExpired:
                relay.kill()
        for proc in self.started:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


def run(argv, cwd):
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_credentials(work):
    """A test CA, an ssh host key, and two publisher keys (the load tool's, the ssh clients')."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=tunnelgate soak CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"], work)
    with open(os.path.join(work, "leaf.ext"), "w") as f:
        f.write(f"subjectAltName = DNS:*.{DOMAIN}, DNS:{DOMAIN}\n"
                "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                "extendedKeyUsage = serverAuth\n")
    for key, comment in (("host_key", "soak host"), ("load_key", "soak load publisher"),
                         ("ssh_key", "soak ssh publisher")):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key], work)
    with open(os.path.join(work, "authorized_keys"), "w") as out:
        for key in ("load_key", "ssh_key"):
            with open(os.path.join(work, key + ".pub")) as f:
                out.write(f.read())


async def issue_certificate(work, serial):
    """A fresh leaf key and certificate for *.DOMAIN, moved into place whole (a reload's)."""
    async def run_async(*argv):
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=work, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        if await proc.wait() != 0:
            raise RuntimeError(f"{argv[0]} failed")

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    await run_async("openssl", "req", "-new", *ec, "-keyout", "key.new", "-out", "leaf.csr",
                    "-subj", f"/CN=*.{DOMAIN} {serial}")
    await run_async("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem",
                    "-CAkey", "ca.key", "-set_serial", str(1000 + serial), "-out", "cert.new",
                    "-days", "2", "-extfile", "leaf.ext")
    os.replace(os.path.join(work, "cert.new"), os.path.join(work, "cert.pem"))
    os.replace(os.path.join(work, "key.new"), os.path.join(work, "key.pem"))


def write_relay_config(work, ports, tunnels):
    with open(os.path.join(work, "policy.toml"), "w") as f:
        f.write('[[expose]]\nnames = ["*"]\n\n[[access]]\nnames = ["*"]\n'
                "allow = ['http.method == \"GET\" || http.method == \"POST\"']\n")
    # Defaults everywhere, except: one key publishes all the load tool's tunnels, and a stop
    # at the end need not wait out the default 30 s drain.
    with open(os.path.join(work, "tunnelgate.toml"), "w") as f:
        f.write(f"""workers = 2
domain = "{DOMAIN}"
state_dir = "state"

[https]
listen = ["127.0.0.1:{ports['https']}"]
cert = "cert.pem"
key = "key.pem"

[ssh]
listen = ["127.0.0.1:{ports['ssh']}"]
host_keys = ["host_key"]
authorized_keys = "authorized_keys"
# The load tool's publishers, one SSH session per tunnel, all connect from 127.0.0.1 at once:
# the per-source and unauthenticated caps are off, as in bench/macro/common.sh. The flood from
# 127.0.0.2-9 then meets the login grace time and the descriptor reserve.
max_connections_per_source = 0
max_startups = "1000000"

[policy]
file = "policy.toml"

[admin]
listen = "127.0.0.1:{ports['admin']}"

[limits]
max_tunnels_per_key = {tunnels + 100}
drain_timeout_ms = 2000
""")


async def wait_for(path, text, timeout, proc, what=None):
    """Waits until `text` is in the file at `path`. False when the process ended or time ran
    out; with `what`, that is an error instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, errors="replace") as f:
                if text in f.read():
                    return True
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            if what:
                raise RuntimeError(f"{what} exited ({proc.returncode}); see {path}")
            return False
        await asyncio.sleep(0.1)
    if what:
        raise RuntimeError(f"{what}: no '{text}' after {timeout} s; see {path}")
    return False


async def start_relay(procs, tg_bin, work):
    os.makedirs(os.path.join(work, "state"), exist_ok=True)
    relay = procs.start([tg_bin, "--config", os.path.join(work, "tunnelgate.toml")], "relay.log")
    await wait_for(os.path.join(work, "relay.log"), '"ready"', 30, relay, "tunnelgate")
    return relay


async def start_backend(procs, here, port):
    backend = procs.start(["python3", os.path.join(here, "backend.py"), str(port)], "backend.log")
    await wait_for(os.path.join(procs.work, "backend.log"), "listening", 30, backend, "backend")
    return backend


def load_publisher_argv(load_bin, work, ports, count, prefix):
    return [load_bin, "--publish", str(count), "--name-prefix", prefix,
            "--ssh", f"127.0.0.1:{ports['ssh']}", "--key", os.path.join(work, "load_key"),
            "--user", "soak", "--setup-concurrency", "16",
            "--backend-url", f"http://127.0.0.1:{ports['backend']}", "--duration", "1000000"]


def ssh_publisher_argv(work, ports, name):
    return ["ssh", "-F", "/dev/null", "-i", os.path.join(work, "ssh_key"),
            "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=0", "-T",
            "-p", str(ports["ssh"]), "-R", f"{name}:80:127.0.0.1:{ports['backend']}",
            "soak@127.0.0.1"]
