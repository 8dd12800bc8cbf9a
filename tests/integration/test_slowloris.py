"""Slowloris: 5,000 connections that send their bytes as slowly as they like must not stop
a normal client from being served. 4,000 hold the relay in the ClientHello (a few bytes of a
handshake record), 1,000 finish TLS and then dribble a request head; they come from 50
loopback addresses (100 each), and the normal client from another one. Every slow connection
is later closed by the relay's own deadlines (handshake, request head), not by the test."""

import resource
import socket
import ssl
import time
import unittest

import harness

PER_SOURCE = 100
HELLO_SOURCES = 40   # 127.0.0.1 .. 127.0.0.40: stuck in the ClientHello
HEAD_SOURCES = 10    # 127.0.0.41 .. 127.0.0.50: TLS done, the request head dribbled
PARTIAL_HELLO = b"\x16\x03\x01\x02\x00\x01"  # a handshake record that never completes


class Slowloris(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if hard < 6000:
            raise unittest.SkipTest(f"needs 6,000 open files, the hard limit is {hard}")
        cls.relay = harness.class_relay(cls, extra_config=(
            "\n[limits]\nhandshake_timeout_ms = 8000\nheader_timeout_ms = 8000\n"))
        cls.backend = harness.class_backend(cls, "patient-backend")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"patient:80:localhost:{cls.backend.port}")

    def connect_from(self, source):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.relay.https_port))
        return sock

    def test_five_thousand_slow_connections_do_not_stop_a_normal_client(self):
        slow = []
        self.addCleanup(lambda: [s.close() for s in slow])
        for source in range(1, HELLO_SOURCES + 1):
            for _ in range(PER_SOURCE):
                sock = self.connect_from(f"127.0.0.{source}")
                sock.sendall(PARTIAL_HELLO)
                slow.append(sock)
        context = harness.client_context(self.relay.ca_path)
        host = f"patient.{self.relay.domain}"
        for source in range(HELLO_SOURCES + 1, HELLO_SOURCES + HEAD_SOURCES + 1):
            for _ in range(PER_SOURCE):
                tls = context.wrap_socket(self.connect_from(f"127.0.0.{source}"),
                                          server_hostname=host)
                tls.sendall(b"GET /whoami HTTP/1.1\r\nHost: pat")
                slow.append(tls)
        self.assertEqual(len(slow), 5000)

        # Still dribbling: one more byte on a few of them, while a normal client is served.
        for tls in slow[-10:]:
            tls.sendall(b"i")
        r = harness.curl(self.relay.url("patient", "/whoami"), ca=self.relay.ca_path,
                         extra=["--interface", "127.0.0.99"])
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.body, b"patient-backend")
        self.assertTrue(self.relay.alive())

        # The relay's deadlines close every slow connection: a read returns its 408 or EOF,
        # or a reset, instead of waiting on.
        def closed_by_relay(sock):
            try:
                sock.settimeout(20)
                sock.recv(4096)
                return True
            except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
                return True
            except socket.timeout:
                return False
        sample = slow[::250]  # 20 of them, from both kinds
        started = time.monotonic()
        self.assertTrue(all(closed_by_relay(s) for s in sample),
                        f"a slow connection outlived the relay's deadlines "
                        f"({time.monotonic() - started:.1f} s)")
        r = harness.curl(self.relay.url("patient", "/whoami"), ca=self.relay.ca_path)
        self.assertEqual(r.status, 200, r.describe())


if __name__ == "__main__":
    unittest.main()
