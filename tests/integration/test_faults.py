"""Faults and hostile input: a tunnel cut mid-response, non-TLS and truncated TLS on the HTTPS
port, malformed and oversized request heads, ambiguous framing, garbage on the SSH port.

After each, the relay must go on serving; at the end (test_z_…, unittest runs methods in name
order) it must still be alive with its open file descriptors back near the baseline taken
when the class started. Malformed requests must never reach the backend: the backend records
every request head it parses, and each request here uses a unique path."""

import os
import socket
import ssl
import subprocess
import threading
import time
import unittest
import uuid

import harness

FD_SLACK = 4


def check_serves(relay):
    r = relay.curl("steady", "/whoami")
    if (r.returncode, r.status, r.body) != (0, 200, b"steady"):
        raise AssertionError("the relay does not serve the steady tunnel\n" + r.describe() + "\n" + relay.log_text())


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls)
        cls.backend = harness.class_backend(cls, "steady")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"steady:80:localhost:{cls.backend.port}")
        check_serves(cls.relay)
        time.sleep(0.5)  # let the first request's connection close before counting
        cls.fd_baseline = cls.relay.fd_count()

    def assert_serves(self):
        check_serves(self.relay)

    def host_header(self):
        return f"steady.tg.test:{self.relay.https_port}"

    def raw_tcp(self, port=None):
        sock = socket.create_connection(("127.0.0.1", port or self.relay.https_port), timeout=10)
        self.addCleanup(sock.close)
        return sock

    def unique(self, tag):
        return f"/echo/{tag}-{uuid.uuid4().hex}"

    def send_and_read_status(self, raw: bytes) -> tuple[int | None, bool]:
        """Sends `raw` at once over TLS. Returns (response status or None, closed within 5 s)."""
        sock = self.relay.tls("steady")
        self.addCleanup(sock.close)
        sock.sendall(raw)
        sock.settimeout(0.2)
        data, closed = bytearray(), False
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                chunk = b""
            if not chunk:
                closed = True
                break
            data += chunk
        status, data = None, bytes(data)
        if data:
            self.assertRegex(data, rb"^HTTP/1\.[01] \d{3} ", data[:200])
            status = int(data.split(b" ", 2)[1])
        return status, closed

    # -- a tunnel cut mid-response

    def test_publisher_killed_mid_response(self):
        backend = harness.Backend("half")
        self.addCleanup(backend.close)
        pub = self.relay.publish(f"half:80:localhost:{backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        cmd = ["curl", "-sS", "-N", "--cacert", self.relay.ca_path, *harness.resolve_arg(self.relay.url("half")),
               "--max-time", "60", self.relay.url("half", "/slow-half")]
        curl = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (curl.poll() is None and curl.kill(), curl.wait(), curl.stdout.close(),
                                 curl.stderr.close()))
        received = bytearray()

        def reader():
            while chunk := curl.stdout.read1(65536):
                received.extend(chunk)
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        # Body bytes at the visitor mean the response head got through the relay.
        self.assertTrue(harness.wait_until(lambda: len(received) > 0, 15),
                        f"no body bytes reached the visitor\n{self.relay.log_text()}")
        self.assertTrue(backend.slow_half_sent.is_set())
        pub.kill()
        killed_at = time.monotonic()
        try:
            rc = curl.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        ended_after = time.monotonic() - killed_at
        self.assertIsNotNone(rc, "the visitor's transfer still hangs 10 s after the tunnel died")
        self.assertLess(ended_after, 5.0, f"the visitor's transfer ended {ended_after:.2f} s after the kill")
        t.join(5)
        self.assertTrue(rc != 0 or len(received) < 100_000,
                        f"curl reported a complete transfer (exit {rc}, {len(received)} bytes)")
        self.assert_serves()

    # -- not TLS, or not finished TLS, on the HTTPS port

    def assert_closed_without_serving(self, sock, what):
        data, closed = harness.read_until_closed(sock, 5)
        self.assertTrue(closed, f"relay kept the connection open after {what}")
        # Accepted answers: nothing, a TLS alert record (0x15), or a cleartext HTTP 400.
        if data and data[0] != 0x15:
            self.assertRegex(data, rb"^HTTP/1\.[01] 400 ", f"unexpected reply to {what}: {data[:200]!r}")

    def test_plain_http_on_https_port(self):
        sock = self.raw_tcp()
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {self.host_header()}\r\n\r\n".encode())
        self.assert_closed_without_serving(sock, "a cleartext HTTP request")
        self.assert_serves()

    def test_garbage_on_https_port(self):
        sock = self.raw_tcp()
        garbage = b"\x00\xffnot tls at all\r\n" + harness.pattern_bytes(4096)
        sock.sendall(garbage)
        self.assert_closed_without_serving(sock, "garbage bytes")
        self.assert_serves()

    def client_hello(self) -> bytes:
        ctx = harness.client_context(self.relay.ca_path)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing, server_hostname="steady.tg.test")
        with self.assertRaises(ssl.SSLWantReadError):
            obj.do_handshake()
        hello = outgoing.read()
        self.assertEqual(hello[0], 0x16)
        return hello

    def test_truncated_tls_handshake(self):
        hello = self.client_hello()
        stalled = self.raw_tcp()
        stalled.sendall(hello[:len(hello) // 2])
        self.assert_serves()  # a stalled handshake does not hold up other visitors
        closing = self.raw_tcp()
        closing.sendall(hello[:len(hello) // 2])
        closing.close()
        stalled.close()
        self.assert_serves()

    # -- malformed requests over TLS: rejected, never forwarded

    def test_oversized_request_head_431(self):
        path = self.unique("oversized")
        pad = "".join(f"X-Pad-{i}: {'a' * 1000}\r\n" for i in range(20))  # 20 KiB of headers
        raw = f"GET {path} HTTP/1.1\r\nHost: {self.host_header()}\r\n{pad}\r\n".encode()
        status, _ = self.send_and_read_status(raw)
        self.assertEqual(status, 431)
        self.assertEqual(self.backend.seen(path), [])
        self.assert_serves()

    def test_content_length_and_transfer_encoding_400(self):
        path = self.unique("cl-te")
        raw = (f"POST {path} HTTP/1.1\r\nHost: {self.host_header()}\r\nContent-Length: 5\r\n"
               "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").encode()
        status, _ = self.send_and_read_status(raw)
        self.assertEqual(status, 400)
        self.assertEqual(self.backend.seen(path), [])

    def test_two_different_content_lengths_400(self):
        path = self.unique("two-cl")
        raw = (f"POST {path} HTTP/1.1\r\nHost: {self.host_header()}\r\nContent-Length: 5\r\n"
               "Content-Length: 6\r\n\r\nhello!").encode()
        status, _ = self.send_and_read_status(raw)
        self.assertEqual(status, 400)
        self.assertEqual(self.backend.seen(path), [])

    def test_bad_chunk_size_rejected(self):
        path = self.unique("bad-chunk")
        raw = (f"POST {path} HTTP/1.1\r\nHost: {self.host_header()}\r\nTransfer-Encoding: chunked\r\n\r\n"
               "zz\r\nhello\r\n0\r\n\r\n").encode()
        status, closed = self.send_and_read_status(raw)
        self.assertTrue(status == 400 or (status is None and closed),
                        f"bad chunk size got status {status}, connection closed: {closed}")
        self.assertEqual(self.backend.seen(path), [], "a request with a malformed body reached the backend")
        self.assert_serves()

    # -- garbage on the SSH port

    def test_garbage_on_ssh_port(self):
        sock = self.raw_tcp(self.relay.ssh_port)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + harness.pattern_bytes(2048))
        data, closed = harness.read_until_closed(sock, 10)
        self.assertTrue(closed, f"relay kept an SSH connection open after garbage; got {data[:100]!r}")
        self.assert_serves()

    # -- last: still alive, still serving, no leaked descriptors

    def test_z_relay_alive_serving_and_fds_back_to_baseline(self):
        self.assertTrue(self.relay.alive(), self.relay.log_text())
        self.assert_serves()
        settled = harness.wait_until(lambda: self.relay.fd_count() <= self.fd_baseline + FD_SLACK, 10, 0.2)
        if not settled:
            targets = []
            for fd in os.listdir(f"/proc/{self.relay.pid}/fd"):
                try:
                    targets.append(os.readlink(f"/proc/{self.relay.pid}/fd/{fd}"))
                except OSError:
                    pass
            self.fail(f"{len(targets)} open fds, baseline {self.fd_baseline} (+{FD_SLACK}): {sorted(targets)}")


if __name__ == "__main__":
    unittest.main()
