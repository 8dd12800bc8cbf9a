"""The cluster's etcd client (relay/cluster) against a real three-member etcd cluster.

The cluster is Debian's etcd 3.4 on loopback ports this file picks, its data in a temporary
folder removed at the end. The client is driven through tg_etcd_probe (tests/cluster/), a
test-only program built beside the unit tests: one probe process per client, commands on its
stdin, one JSON answer per line; `--watch` mode prints events. etcdctl (a real peer) checks
what the client wrote and finds the leader.
"""
import base64
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import free_port, run, tg_bin, wait_until

PREFIX = "/tg-test/"
DEADLINE_MS = 1000
# Liveness bound for a call that must fail "within the deadline": its deadline plus what a
# loaded two-core machine adds (process scheduling, connect attempts), far below etcd's own
# 7 s hang without quorum.
FAIL_BOUND_MS = DEADLINE_MS + 1500


def probe_path() -> str:
    path = os.path.join(os.path.dirname(tg_bin()), "tests", "tg_etcd_probe")
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: build the tg_etcd_probe target")
    return path


class EtcdCluster:
    """Three etcd members on 127.0.0.1; members can be killed (-9) and started again."""

    def __init__(self, size: int = 3):
        self.dir = tempfile.mkdtemp(prefix="tg-etcd-")
        self.names = [f"m{i}" for i in range(1, size + 1)]
        self.client_ports = {n: free_port() for n in self.names}
        self.peer_ports = {n: free_port() for n in self.names}
        self.procs: dict[str, subprocess.Popen] = {}
        for name in self.names:
            self.start(name)
        for name in self.names:
            self.wait_healthy(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.client_ports[name]}"

    def endpoints(self, order=None) -> str:
        return ",".join(self.url(n) for n in (order or self.names))

    def start(self, name: str) -> None:
        initial = ",".join(f"{n}=http://127.0.0.1:{self.peer_ports[n]}" for n in self.names)
        log = open(os.path.join(self.dir, f"{name}.log"), "ab")
        self.procs[name] = subprocess.Popen(
            ["etcd", "--name", name, "--data-dir", os.path.join(self.dir, name),
             "--listen-client-urls", self.url(name), "--advertise-client-urls", self.url(name),
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer_ports[name]}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_ports[name]}",
             "--initial-cluster", initial, "--initial-cluster-state", "new",
             "--initial-cluster-token", os.path.basename(self.dir)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()

    def etcdctl(self, *args, endpoints=None, check=True) -> subprocess.CompletedProcess:
        env_endpoints = endpoints or self.endpoints()
        return run(["etcdctl", "--endpoints", env_endpoints, "--command-timeout=3s", *args],
                   check=check, timeout=20)

    def wait_healthy(self, name: str) -> None:
        ok = wait_until(lambda: self.etcdctl("endpoint", "health", endpoints=self.url(name),
                                             check=False).returncode == 0, timeout=30, interval=0.2)
        if not ok:
            raise AssertionError(f"etcd member {name} not healthy; see {self.dir}/{name}.log")

    def leader(self) -> str:
        status = json.loads(self.etcdctl("endpoint", "status", "-w", "json",
                                         endpoints=self.endpoints(self.alive())).stdout)
        leader_id = status[0]["Status"]["leader"]
        for entry in status:
            if entry["Status"]["header"]["member_id"] == leader_id:
                port = int(entry["Endpoint"].rsplit(":", 1)[1])
                return next(n for n in self.names if self.client_ports[n] == port)
        raise AssertionError(f"no leader in {status}")

    def alive(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is None]

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def restore(self) -> None:
        """Starts every killed member again (its data dir kept) and waits until all are healthy."""
        for name in self.names:
            if self.procs[name].poll() is not None:
                self.start(name)
        for name in self.names:
            self.wait_healthy(name)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if os.environ.get("TG_KEEP_TMP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


class Probe:
    """One EtcdClient in a tg_etcd_probe process: `call("claim …")` returns its JSON answer."""

    def __init__(self, endpoints: str, deadline_ms: int = DEADLINE_MS, tls: tuple = ()):
        self.proc = subprocess.Popen([probe_path(), "--endpoints", endpoints,
                                      "--deadline-ms", str(deadline_ms), *tls],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, line: str) -> dict:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise AssertionError(f"tg_etcd_probe died on {line!r}")
        return json.loads(answer)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


class Watcher:
    """A tg_etcd_probe --watch process; its lines are queued as they arrive."""

    def __init__(self, endpoints: str, prefix: str):
        self.proc = subprocess.Popen([probe_path(), "--endpoints", endpoints, "--watch", prefix],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def next(self, want, timeout: float) -> dict | None:
        """The next line for which want(line) is true, skipping others; None after `timeout`."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if want(line):
                return line
        return None

    def events(self, count: int, timeout: float) -> list[dict]:
        got = []
        while len(got) < count:
            line = self.next(lambda x: "type" in x, timeout)
            if line is None:
                break
            got.append(line)
        return got

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class EtcdClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = EtcdCluster()

    @classmethod
    def tearDownClass(cls):
        cls.etcd.close()

    def tearDown(self):
        self.etcd.restore()

    def probe(self, **kwargs) -> Probe:
        probe = Probe(self.etcd.endpoints(), **kwargs)
        self.addCleanup(probe.close)
        return probe

    def watcher(self, prefix: str, endpoints: str | None = None) -> Watcher:
        watcher = Watcher(endpoints or self.etcd.endpoints(), prefix)
        self.addCleanup(watcher.close)
        self.assertIsNotNone(watcher.next(lambda x: "stream" in x, 10), "the watch never started")
        return watcher

    def test_1_claim_refusal_and_takeover(self):
        probe = self.probe()
        lease_a = probe.call("grant 30")["lease"]
        lease_b = probe.call("grant 30")["lease"]
        first = probe.call(f"claim notes node-a SHA256:alice s1 {lease_a}")
        self.assertEqual((first["ok"], first["claimed"], first["took_over"], first["generation"]),
                         (True, True, False, 1), first)
        # Another key: refused, and told who holds it.
        other = probe.call(f"claim notes node-b SHA256:bob s2 {lease_b}")
        self.assertEqual((other["claimed"], other["node"], other["key"]),
                         (False, "node-a", "SHA256:alice"), other)
        # The same key from another node: taken over by compare-and-swap, generation 2.
        takeover = probe.call(f"claim notes node-b SHA256:alice s3 {lease_b}")
        self.assertEqual((takeover["claimed"], takeover["took_over"], takeover["generation"],
                          takeover["node"]), (True, True, 2, "node-b"), takeover)
        self.assertGreater(takeover["mod_revision"], first["mod_revision"])
        # What etcd holds (read by etcdctl): node-b's record under node-b's lease.
        stored = json.loads(self.etcd.etcdctl("get", PREFIX + "names/notes", "-w", "json").stdout)
        kv = stored["kvs"][0]
        self.assertEqual(json.loads(base64.b64decode(kv["value"])),
                         {"node": "node-b", "key": "SHA256:alice", "session": "s3",
                          "generation": "2"})
        self.assertEqual(kv["lease"], lease_b)
        # The same session claiming again (a retry whose first answer was lost) gets the record
        # it holds, not another takeover.
        again = probe.call(f"claim notes node-b SHA256:alice s3 {lease_b}")
        self.assertEqual((again["claimed"], again["generation"]), (True, 2), again)
        probe.call(f"revoke {lease_a}")
        probe.call(f"revoke {lease_b}")

    def test_2_lease_expiry_frees_the_name(self):
        watcher = self.watcher(PREFIX + "names/")
        probe = self.probe()
        ttl = 3
        granted_at = time.monotonic()
        lease = probe.call(f"grant {ttl}")["lease"]
        self.assertTrue(probe.call(f"claim expiring node-a SHA256:alice s1 {lease}")["claimed"])
        put = watcher.next(lambda x: x.get("key") == PREFIX + "names/expiring", 5)
        self.assertEqual(put["type"], "put", put)
        # No keepalive: etcd drops the lease and its key; the watcher sees the delete within
        # the TTL plus a second of the grant.
        deleted = watcher.next(lambda x: x.get("type") == "delete", ttl + 1 - (time.monotonic() - granted_at))
        self.assertIsNotNone(deleted, "no delete within TTL + 1 s")
        self.assertEqual(deleted["key"], PREFIX + "names/expiring")
        self.assertGreater(deleted["revision"], put["revision"])
        # The lease is gone (a keepalive says TTL 0), and another key may claim the name.
        self.assertEqual(probe.call(f"keepalive {lease}")["ttl"], 0)
        lease_b = probe.call("grant 30")["lease"]
        self.assertTrue(probe.call(f"claim expiring node-b SHA256:bob s2 {lease_b}")["claimed"])
        probe.call(f"revoke {lease_b}")

    def test_3_watch_resumes_after_its_connection_is_cut(self):
        # The watch starts on a follower (its first endpoint), so cutting it leaves writes
        # unaffected by an election.
        leader = self.etcd.leader()
        victim = next(n for n in self.etcd.names if n != leader)
        others = [n for n in self.etcd.names if n != victim]
        watcher = self.watcher(PREFIX + "resume/", self.etcd.endpoints([victim] + others))
        writer = Probe(self.etcd.endpoints(others))
        self.addCleanup(writer.close)
        self.assertTrue(writer.call(f"put {PREFIX}resume/k1 one")["ok"])
        self.assertEqual([e["value"] for e in watcher.events(1, 5)], ["one"])
        # Killing the watch's member cuts its stream. The watcher is stopped (SIGSTOP) while
        # that happens and three writes land, so it cannot reconnect before them; once it
        # runs again it reconnects to another member and resumes from the revision after the
        # last event it delivered: every event once, in order (a watch that started again
        # "from now" would miss all three).
        watcher.proc.send_signal(signal.SIGSTOP)
        try:
            self.etcd.kill(victim)
            for i, value in enumerate(["two", "three", "four"]):
                answer = writer.call(f"put {PREFIX}resume/k{i + 2} {value}")
                self.assertTrue(answer["ok"], answer)
        finally:
            watcher.proc.send_signal(signal.SIGCONT)
        stream = watcher.next(lambda x: "stream" in x, 10)
        self.assertIsNotNone(stream, "the watch did not reconnect")
        self.assertNotEqual(stream["stream"], self.etcd.url(victim))
        events = watcher.events(3, 10)
        self.assertEqual([e["value"] for e in events], ["two", "three", "four"])
        self.assertEqual(sorted(e["revision"] for e in events), [e["revision"] for e in events])
        self.assertIsNone(watcher.next(lambda x: "type" in x, 1), "an event came twice")

    def test_4_leader_killed_writes_succeed_again(self):
        leader = self.etcd.leader()
        order = [leader] + [n for n in self.etcd.names if n != leader]
        probe = Probe(self.etcd.endpoints(order))
        self.addCleanup(probe.close)
        self.assertTrue(probe.call(f"put {PREFIX}leader/before x")["ok"])
        self.etcd.kill(leader)
        # Writes fail for a moment (no leader, or the dead member), each failure within the
        # deadline; they succeed again once the two others elect a leader.
        attempts = []
        for _ in range(30):
            answer = probe.call(f"put {PREFIX}leader/after y")
            attempts.append(answer)
            self.assertLess(answer["elapsed_ms"], FAIL_BOUND_MS, answer)
            if answer["ok"]:
                break
            time.sleep(0.2)
        self.assertTrue(attempts[-1]["ok"], attempts)
        lease = probe.call("grant 10")
        self.assertTrue(lease["ok"], lease)
        claim = probe.call(f"claim after-leader node-a SHA256:alice s1 {lease['lease']}")
        self.assertTrue(claim["ok"] and claim["claimed"], claim)
        got = self.etcd.etcdctl("get", PREFIX + "leader/after", "--print-value-only",
                                endpoints=self.etcd.endpoints(self.etcd.alive()))
        self.assertEqual(got.stdout.strip(), b"y")

    def test_5_two_members_down_calls_fail_within_the_deadline(self):
        probe = self.probe()
        lease = probe.call("grant 30")["lease"]
        survivor = self.etcd.leader()
        for name in self.etcd.names:
            if name != survivor:
                self.etcd.kill(name)
        # The survivor holds no quorum: etcd itself would hang about 7 s on a write; every
        # call (idempotent or not, on every endpoint) fails within the client's deadline.
        for command in ("put {p}quorum/k v", "get {p}quorum/k",
                        f"claim quorum node-a SHA256:alice s1 {lease}"):
            answer = probe.call(command.format(p=PREFIX))
            self.assertFalse(answer["ok"], answer)
            self.assertLess(answer["elapsed_ms"], FAIL_BOUND_MS, answer)
            self.assertIn("etcd", answer["error"])
        # Each failure is counted, and so is every member the calls moved on from.
        stats = probe.call("stats")
        self.assertGreaterEqual(stats["failed"], 3, stats)
        self.assertGreaterEqual(stats["failovers"], 3 * 2, stats)
        # A keepalive may still be answered by a leader that has not yet noticed it lost its
        # quorum (etcd renews leases on the leader alone); either way it returns in time.
        answer = probe.call(f"keepalive {lease}")
        self.assertLess(answer["elapsed_ms"], FAIL_BOUND_MS, answer)
        # Once the members are back, calls succeed again on the same client.
        self.etcd.restore()
        answer = wait_until(lambda: probe.call(f"put {PREFIX}quorum/k v").get("ok"), 20, 0.2)
        self.assertTrue(answer)


def make_tls_files(directory: str) -> dict[str, str]:
    """A CA, etcd's server certificate for 127.0.0.1, a client certificate from the same CA,
    and a second CA nobody uses, made with the openssl CLI."""
    files = {}
    for ca in ("ca", "other-ca"):
        files[ca] = os.path.join(directory, f"{ca}.pem")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", f"/CN=tg test {ca}",
             "-keyout", os.path.join(directory, f"{ca}.key"), "-out", files[ca]])
    for leaf, extension in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                            ("client", "extendedKeyUsage=clientAuth")):
        key, csr = os.path.join(directory, f"{leaf}.key"), os.path.join(directory, f"{leaf}.csr")
        files[leaf], files[leaf + "_key"] = os.path.join(directory, f"{leaf}.pem"), key
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", f"/CN=tg-{leaf}", "-keyout", key, "-out", csr])
        ext = os.path.join(directory, f"{leaf}.ext")
        with open(ext, "w") as f:
            f.write(extension + "\n")
        run(["openssl", "x509", "-req", "-in", csr, "-CA", files["ca"],
             "-CAkey", os.path.join(directory, "ca.key"), "-CAcreateserial", "-days", "2",
             "-extfile", ext, "-out", files[leaf]])
    return files


class EtcdTlsTest(unittest.TestCase):
    """One etcd member serving https with client-cert-auth: the client's TLS (wolfSSL) with a
    client certificate, and what it refuses."""

    def test_client_certificates(self):
        directory = tempfile.mkdtemp(prefix="tg-etcd-tls-")
        self.addCleanup(shutil.rmtree, directory, True)
        files = make_tls_files(directory)
        port, peer = free_port(), free_port()
        listen = f"https://127.0.0.1:{port}"
        # By name: the relay's wolfSSL matches a certificate's DNS names, not its IP addresses
        # (it is built without WOLFSSL_IP_ALT_NAME).
        url = f"https://localhost:{port}"
        with open(os.path.join(directory, "etcd.log"), "wb") as log:
            etcd = subprocess.Popen(
                ["etcd", "--name", "t1", "--data-dir", os.path.join(directory, "data"),
                 "--listen-client-urls", listen, "--advertise-client-urls", listen,
                 "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                 "--initial-cluster", f"t1=http://127.0.0.1:{peer}",
                 "--cert-file", files["server"], "--key-file", files["server_key"],
                 "--client-cert-auth", "--trusted-ca-file", files["ca"]],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.addCleanup(etcd.wait)
        self.addCleanup(etcd.kill)
        with_cert = ("--ca", files["ca"], "--cert", files["client"], "--key", files["client_key"])
        probe = Probe(url, tls=with_cert)
        self.addCleanup(probe.close)
        answer = wait_until(lambda: (lambda a: a if a["ok"] else None)(
            probe.call(f"put {PREFIX}tls/k secret")), 20, 0.2)
        self.assertTrue(answer, "no answer over TLS with a client certificate")
        got = probe.call(f"get {PREFIX}tls/k")
        self.assertEqual([kv["value"] for kv in got["kvs"]], ["secret"])
        # Without a client certificate etcd refuses the handshake; with another CA the
        # client refuses etcd's certificate.
        for tls, expected in ((("--ca", files["ca"]), "TLS error"),
                              (("--ca", files["other-ca"], "--cert", files["client"],
                                "--key", files["client_key"]), "certificate not trusted")):
            other = Probe(url, tls=tls)
            self.addCleanup(other.close)
            answer = other.call(f"get {PREFIX}tls/k")
            self.assertFalse(answer["ok"], answer)
            self.assertIn(expected, answer["error"])


if __name__ == "__main__":
    unittest.main()
