"""Checks the harness itself, without tunnelgate: run `python3 -m unittest -v selftest_harness`
in this folder after changing harness.py.

Not a ctest (its name does not start with test_): it needs the OpenSSH server (/usr/sbin/sshd,
run as root on a loopback port) which the relay's own tests do not. It proves the pieces the
end-to-end tests stand on against real peers:
- Backend: every endpoint hit directly with curl or a raw socket (chunked both ways, SSE
  arrival order, WebSocket echo, slow-half).
- Certificates: `openssl verify`, then curl and Python's ssl against `openssl s_server -www`
  serving the wildcard leaf, for a sub-name and the apex, and a name outside it rejected.
- Publisher: stock ssh against a real sshd; `-R 0:localhost:BACKEND` allocates a port that
  reaches the backend, session output is read (wait_for_url), -N works, exit is observed.
- Relay lifecycle (ready wait, logs, stop, restart, early exit, timeout) against a fake
  TG_BIN that only prints log lines.
"""

import getpass
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import harness
from harness import Key, Publisher, pattern_bytes, sha256_hex
import test_faults
import test_large_bodies
import test_proxy_basic
import test_streaming

SSHD = "/usr/sbin/sshd"


def http_curl(url, *args, timeout=30):
    """curl over plain HTTP: (exit code, status, headers text, body)."""
    tmp = tempfile.mkdtemp()
    try:
        head, body = os.path.join(tmp, "h"), os.path.join(tmp, "b")
        proc = subprocess.run(["curl", "-sS", "-D", head, "-o", body, "-w", "%{http_code}", *args, url],
                              capture_output=True, timeout=timeout)
        with open(head, "rb") as f:
            h = f.read().decode("iso-8859-1")
        with open(body, "rb") as f:
            b = f.read()
        return proc.returncode, int(proc.stdout or 0), h, b
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BackendDirect(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = harness.class_backend(cls, "direct")
        cls.base = f"http://127.0.0.1:{cls.backend.port}"
        cls.tmp = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)

    def test_hello_and_unknown(self):
        rc, status, head, body = http_curl(self.base + "/hello")
        self.assertEqual((rc, status, body), (0, 200, b"hello from backend"))
        self.assertIn("Content-Length: 18", head)
        self.assertEqual(http_curl(self.base + "/nope")[1], 404)
        self.assertEqual(http_curl(self.base + "/whoami")[3], b"direct")

    def test_echo_content_length_chunked_and_expect(self):
        data = os.urandom(200000)
        path = os.path.join(self.tmp, "up")
        with open(path, "wb") as f:
            f.write(data)
        rc, status, head, body = http_curl(self.base + "/echo", "--data-binary", "@" + path,
                                           "-H", "X-Forwarded-For: 1.2.3.4", "-H", "X-Forwarded-Proto: https",
                                           "-H", "X-Forwarded-Host: a.tg.test:1")
        self.assertEqual((rc, status), (0, 200))
        self.assertEqual(body, data)
        self.assertIn(f"x-seen-host: 127.0.0.1:{self.backend.port}", head)
        self.assertIn("x-seen-xff: 1.2.3.4", head)
        self.assertIn("x-seen-xfp: https", head)
        self.assertIn("x-seen-xfh: a.tg.test:1", head)
        rc, status, head, body = http_curl(self.base + "/echo", "--data-binary", "@" + path,
                                           "-H", "Transfer-Encoding: chunked")
        self.assertEqual((rc, status, body), (0, 200, data))
        self.assertIn("x-seen-te: chunked", head)
        rc, status, head, body = http_curl(self.base + "/echo", "--data-binary", "@" + path,
                                           "-H", "Expect: 100-continue")
        self.assertEqual((rc, status, body), (0, 200, data))
        self.assertIn("HTTP/1.1 100", head)

    def test_sha256_bytes_chunked(self):
        data = pattern_bytes(3 * 1024 * 1024 + 5)
        path = os.path.join(self.tmp, "big")
        with open(path, "wb") as f:
            f.write(data)
        for extra in ([], ["-H", "Transfer-Encoding: chunked"]):
            rc, status, _, body = http_curl(self.base + "/sha256", "--data-binary", "@" + path, *extra)
            self.assertEqual((rc, status, body.decode()), (0, 200, sha256_hex(data)))
        rc, status, head, body = http_curl(self.base + f"/bytes?n={len(data)}")
        self.assertEqual((rc, status, body), (0, 200, data))
        rc, status, head, body = http_curl(self.base + "/chunked?n=100000")
        self.assertEqual((rc, status, body), (0, 200, pattern_bytes(100000)))
        self.assertIn("Transfer-Encoding: chunked", head)

    def test_keepalive_two_urls(self):
        proc = subprocess.run(["curl", "-sS", "-w", "%{http_code} %{num_connects}\\n", "-o", "/dev/null",
                               self.base + "/hello", "-o", "/dev/null", self.base + "/hello"],
                              capture_output=True, timeout=20)
        self.assertEqual(proc.stdout.decode().split("\n")[:2], ["200 1", "200 0"])

    def _sse(self, framing):
        sid = f"direct-{framing}"
        sock = socket.create_connection(("127.0.0.1", self.backend.port), timeout=10)
        sock.sendall(f"GET /sse?id={sid}&hold=1&framing={framing} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        resp = harness.HttpResponse(sock).read_head()
        got, first_at = b"", None
        for piece in resp.iter_body():
            got += piece
            if first_at is None and b"data: first\n\n" in got:
                first_at = time.monotonic()
        sock.close()
        self.assertTrue(resp.complete)
        self.assertEqual(got, b"data: first\n\ndata: second\n\n")
        self.assertLess(first_at, self.backend.sse_times[sid]["second_sent"] - 0.5)

    def test_sse_chunked_and_close_delimited(self):
        self._sse("chunked")
        self._sse("close")

    def test_sse_with_curl_no_buffer(self):
        proc = subprocess.Popen(["curl", "-sS", "-N", f"{self.base}/sse?id=curl&hold=1"], stdout=subprocess.PIPE)
        self.addCleanup(proc.stdout.close)
        line = proc.stdout.readline()
        t_first = time.monotonic()
        rest = proc.stdout.read()
        proc.wait(10)
        self.assertEqual(line, b"data: first\n")
        self.assertIn(b"data: second", rest)
        self.assertLess(t_first, self.backend.sse_times["curl"]["second_sent"] - 0.5)

    def test_websocket_echo(self):
        sock = socket.create_connection(("127.0.0.1", self.backend.port), timeout=10)
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        sock.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = harness.HttpResponse(sock).read_head()
        self.assertEqual(resp.status, 101)
        self.assertEqual(resp.headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")  # RFC 6455 example
        read_exact = harness.sock_read_exact(sock, resp.buf)
        for payload, opcode in ((b"ping-123", 1), (os.urandom(70000), 2), (b"x" * 300, 1)):
            sock.sendall(harness.ws_frame(opcode, payload, mask=True))
            self.assertEqual(harness.ws_read_frame(read_exact), (opcode, payload))
        sock.sendall(harness.ws_frame(8, b"\x03\xe8", mask=True))
        self.assertEqual(harness.ws_read_frame(read_exact)[0], 8)
        sock.close()

    def test_slow_half_and_request_log(self):
        sock = socket.create_connection(("127.0.0.1", self.backend.port), timeout=10)
        sock.sendall(b"GET /slow-half/unique-abc HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = harness.HttpResponse(sock).read_head()
        self.assertEqual(resp.headers["content-length"], "100000")
        got = b""
        for piece in resp.iter_body():
            got += piece
            if len(got) >= 50000:
                break
        self.assertTrue(self.backend.slow_half_sent.wait(5))
        sock.close()
        self.assertEqual(len(self.backend.seen("unique-abc")), 1)
        self.assertEqual(self.backend.seen("unique-abc")[0].method, "GET")


class Certificates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.paths = harness.make_certificates(cls.dir)

    def test_openssl_verify(self):
        out = harness.run(["openssl", "verify", "-CAfile", self.paths["ca"], self.paths["cert"]]).stdout
        self.assertIn(b": OK", out)
        text = harness.run(["openssl", "x509", "-in", self.paths["cert"], "-noout", "-text"]).stdout.decode()
        self.assertIn("DNS:*.tg.test", text)
        self.assertIn("DNS:tg.test", text)
        self.assertIn("prime256v1", harness.run(["openssl", "pkey", "-in", self.paths["key"], "-noout", "-text"]).stdout.decode())

    def test_wildcard_against_s_server(self):
        for attempt in range(5):
            port = harness.free_port()
            server = subprocess.Popen(["openssl", "s_server", "-www", "-accept", f"127.0.0.1:{port}",
                                       "-cert", self.paths["cert"], "-key", self.paths["key"]],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self.addCleanup(server.stdout.close)
            self.addCleanup(server.wait)
            self.addCleanup(server.kill)
            started = False
            for _ in range(5):  # "Using default temp DH parameters", then "ACCEPT"
                line = server.stdout.readline()
                if b"ACCEPT" in line or not line:
                    started = b"ACCEPT" in line
                    break
            if started:
                break
            server.kill()
        else:
            self.fail("openssl s_server did not start")
        for host in ("notes.tg.test", "tg.test"):
            r = harness.curl(f"https://{host}:{port}/", ca=self.paths["ca"])
            self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        sock = harness.open_tls(port, "abc.tg.test", self.paths["ca"])
        self.assertEqual(sock.version()[:3], "TLS")
        sock.close()
        r = harness.curl(f"https://notes.other.test:{port}/", ca=self.paths["ca"])
        self.assertEqual(r.returncode, 60, r.describe())  # certificate does not match the name
        with self.assertRaises(ssl.SSLCertVerificationError):
            harness.open_tls(port, "a.b.tg.test", self.paths["ca"])  # a wildcard covers one label


@unittest.skipUnless(os.path.exists(SSHD) and os.geteuid() == 0, "needs /usr/sbin/sshd and root")
class PublisherAgainstSshd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        cls.key = Key(cls.dir, "pub")
        cls.stranger = Key(cls.dir, "stranger")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(cls.dir, "host_key")])
        with open(os.path.join(cls.dir, "authorized_keys"), "w") as f:
            f.write(cls.key.public + "\n")
        conf = os.path.join(cls.dir, "sshd_config")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                ListenAddress 127.0.0.1
                HostKey {cls.dir}/host_key
                AuthorizedKeysFile {cls.dir}/authorized_keys
                StrictModes no
                UsePAM no
                PidFile none
                GatewayPorts no
                AllowTcpForwarding yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                """))
        for attempt in range(5):
            cls.port = harness.free_port()
            log = open(os.path.join(cls.dir, "sshd.log"), "wb")
            cls.addClassCleanup(log.close)
            cls.sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", conf, "-p", str(cls.port)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
            cls.addClassCleanup(cls.sshd.wait)
            cls.addClassCleanup(cls.sshd.kill)
            if harness.wait_until(lambda: cls._listening(cls.port), 5):
                break
            cls.sshd.kill()
        else:
            raise AssertionError("sshd did not start")
        cls.backend = harness.class_backend(cls, "behind-sshd")

    @staticmethod
    def _listening(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def publish(self, spec, **kw):
        pub = Publisher(self.port, self.key.path, spec, user=getpass.getuser(), **kw)
        self.addCleanup(pub.close)
        return pub

    def test_allocated_port_reaches_backend_and_session_output_is_read(self):
        pub = self.publish(f"0:localhost:{self.backend.port}", log_level="INFO")
        m = pub.wait_for(re.compile(rb"Allocated port (\d+)"))
        self.assertIsNotNone(m, pub.output())
        port = int(m.group(1))
        rc, status, head, body = http_curl(f"http://127.0.0.1:{port}/hello")
        self.assertEqual((rc, status, body), (0, 200, b"hello from backend"))
        data = pattern_bytes(5 * 1024 * 1024)
        path = os.path.join(self.dir, "up")
        with open(path, "wb") as f:
            f.write(data)
        rc, status, _, body = http_curl(f"http://127.0.0.1:{port}/sha256", "--data-binary", "@" + path)
        self.assertEqual(body.decode(), sha256_hex(data))
        # The remote shell prints what we ask on the session channel: wait_for_url sees it.
        pub.proc.stdin.write(b"echo https://notes.tg.test:1234/ ; echo done\n")
        pub.proc.stdin.flush()
        self.assertEqual(pub.wait_for_url(), "https://notes.tg.test:1234/")
        pub.proc.stdin.write(b"exit 3\n")
        pub.proc.stdin.flush()
        self.assertEqual(pub.wait_exit(10), 3)

    def test_no_shell_flag_and_kill(self):
        port = harness.free_port()
        pub = self.publish(f"{port}:localhost:{self.backend.port}", no_shell=True)
        self.assertIn("-N", pub.cmd)
        self.assertTrue(harness.wait_until(lambda: self._listening(port), 10), pub.output())
        self.assertEqual(http_curl(f"http://127.0.0.1:{port}/whoami")[3], b"behind-sshd")
        pub.kill()
        self.assertFalse(pub.alive())
        self.assertTrue(harness.wait_until(lambda: not self._listening(port), 10))

    def test_unauthorized_key_is_refused(self):
        pub = Publisher(self.port, self.stranger.path, f"0:localhost:{self.backend.port}", user=getpass.getuser())
        self.addCleanup(pub.close)
        self.assertEqual(pub.wait_exit(10), 255)
        self.assertIn("Permission denied", pub.output())
        self.assertIsNone(pub.wait_for(harness.URL_RE, 0.1))


class TlsFront:
    """A stand-in for the relay's HTTPS side only: terminates TLS with the Relay's wildcard
    certificate and pipes bytes to a backend, one backend connection per visitor connection.
    It lets the end-to-end test methods that need no SSH run against real TLS here."""

    def __init__(self, cert, key, backend_port):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.backend_port = backend_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        be = socket.create_connection(("127.0.0.1", self.backend_port))
        try:
            while True:  # one thread: an SSLSocket must not be read and written concurrently
                readable = select.select([tls, be], [], [], 0.2)[0]
                if tls.pending():
                    readable.append(tls)
                if tls in readable:
                    tls.settimeout(0.05)
                    try:
                        data = tls.recv(65536)
                    except (socket.timeout, ssl.SSLWantReadError):
                        data = None
                    tls.settimeout(None)
                    if data == b"":
                        be.shutdown(socket.SHUT_WR)
                    elif data:
                        be.sendall(data)
                if be in readable:
                    data = be.recv(65536)
                    if not data:
                        return
                    tls.sendall(data)
        except (OSError, ssl.SSLError):
            return
        finally:
            be.close()
            tls.close()

    def close(self):
        self.closed = True
        self.listener.close()


def fronted(base, label="backend", needs_relay=()):
    """`base` (an end-to-end TestCase) with its relay replaced by a TlsFront to its backend;
    the methods in `needs_relay` are skipped."""
    class Fronted(base):
        @classmethod
        def setUpClass(cls):
            cls.relay = harness.Relay()  # certificates only; never started
            cls.addClassCleanup(cls.relay.close)
            cls.backend = harness.class_backend(cls, label)
            front = TlsFront(cls.relay.cert_path, cls.relay.key_path, cls.backend.port)
            cls.addClassCleanup(front.close)
            cls.relay.https_port = front.port
            if hasattr(cls, "prepare_fixtures"):
                cls.prepare_fixtures()
    for name in needs_relay:
        assert hasattr(base, name), name
        setattr(Fronted, name, unittest.skip("needs the relay")(lambda self: None))
    Fronted.__name__ = Fronted.__qualname__ = "Fronted" + base.__name__
    return Fronted


# The end-to-end test methods that need neither SSH nor relay-specific answers, run over TLS
# through TlsFront: this checks the tests' own client code (SSE timing, WebSocket frames,
# curl invocations, digests, ClientHello capture) against a correct, simple peer.
FrontedStreaming = fronted(test_streaming.Streaming)
FrontedLargeBodies = fronted(test_large_bodies.LargeBodies)
FrontedProxyBasic = fronted(test_proxy_basic.ProxyBasic, needs_relay=(
    "test_url_printed_on_session", "test_forwarding_headers_and_host_rewrite", "test_request_log_line"))
FrontedFaults = fronted(test_faults.Faults, "steady", needs_relay=(
    "test_publisher_killed_mid_response", "test_oversized_request_head_431",
    "test_content_length_and_transfer_encoding_400", "test_two_different_content_lengths_400",
    "test_bad_chunk_size_rejected", "test_garbage_on_ssh_port", "test_z_relay_alive_serving_and_fds_back_to_baseline"))


FAKE_RELAY = r'''
import json, os, signal, sys, time
args = sys.argv[1:]
conf = args[args.index("--config") + 1]
mode = open(os.path.join(os.path.dirname(conf), "mode")).read().strip() if os.path.exists(
    os.path.join(os.path.dirname(conf), "mode")) else "ok"
if mode == "exit":
    print("cannot start: something", file=sys.stderr); sys.exit(2)
if mode == "silent":
    time.sleep(60); sys.exit(0)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("not json at first", flush=True)
print(json.dumps({"event": "ready", "workers": 2, "config": conf}), flush=True)
print(json.dumps({"event": "request", "name": "notes", "status": 200}), flush=True)
while True: time.sleep(1)
'''


class RelayLifecycle(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        fake = os.path.join(self.tmp, "fake-relay")
        with open(fake, "w") as f:
            f.write(f"#!{sys.executable}\n{FAKE_RELAY}")
        os.chmod(fake, 0o755)
        old = os.environ.get("TG_BIN")
        os.environ["TG_BIN"] = fake
        self.addCleanup(lambda: os.environ.__setitem__("TG_BIN", old) if old else os.environ.pop("TG_BIN", None))

    def test_ready_logs_stop_restart(self):
        relay = harness.Relay(keys=("a", "b"))
        self.addCleanup(relay.close)
        relay.start()
        with open(relay.config_path) as f:
            conf = f.read()
        self.assertIn(f'listen = ["127.0.0.1:{relay.https_port}"]', conf)
        self.assertIn('host_keys = ["host_key"]', conf)
        with open(os.path.join(relay.dir, "authorized_keys")) as f:
            self.assertEqual(len(f.read().splitlines()), 2)
        self.assertIsNotNone(relay.wait_for_log({"event": "request", "status": 200}))
        self.assertEqual(relay.logs()[0], {"raw": "not json at first"})
        ports = (relay.https_port, relay.ssh_port)
        pid = relay.pid
        relay.restart()
        self.assertEqual((relay.https_port, relay.ssh_port), ports)
        self.assertNotEqual(relay.pid, pid)
        self.assertGreater(relay.fd_count(), 2)
        self.assertEqual(relay.stop(), 0)
        self.assertFalse(relay.alive())
        d = relay.dir
        relay.close()
        self.assertFalse(os.path.exists(d))

    def test_early_exit_and_no_ready_fail_with_logs(self):
        relay = harness.Relay()
        self.addCleanup(relay.close)
        with open(os.path.join(relay.dir, "mode"), "w") as f:
            f.write("exit")
        with self.assertRaisesRegex(AssertionError, "(?s)exited with 2.*cannot start"):
            relay.start()
        with open(os.path.join(relay.dir, "mode"), "w") as f:
            f.write("silent")
        relay.READY_TIMEOUT = 1.0
        with self.assertRaisesRegex(AssertionError, "no ready line"):
            relay.start()
        self.assertFalse(relay.alive())

    def test_missing_tg_bin_fails(self):
        os.environ["TG_BIN"] = "/nonexistent/tunnelgate"
        with self.assertRaises(AssertionError):
            harness.tg_bin()
        del os.environ["TG_BIN"]
        with self.assertRaises(AssertionError):
            harness.tg_bin()


if __name__ == "__main__":
    unittest.main()
