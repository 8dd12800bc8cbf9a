"""Slow clients: a request head that trickles in is cut with 408 after header_timeout_ms, and
hundreds of connections holding half a head do not keep a normal visitor from being served."""

import time
import unittest

import harness


class SlowHeads(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, extra_config="\n[limits]\nheader_timeout_ms = 1000\n")
        cls.backend = harness.class_backend(cls, "limits-backend")
        cls.pub = cls.relay.publish(f"slow:80:localhost:{cls.backend.port}")
        cls.addClassCleanup(cls.pub.close)
        cls.pub.wait_for_url()

    def open(self):
        sock = harness.open_tls(self.relay.https_port, f"slow.{self.relay.domain}", self.relay.ca_path)
        self.addCleanup(sock.close)
        return sock

    def test_a_trickling_head_gets_408(self):
        sock = self.open()
        started = time.monotonic()
        response = None
        for byte in b"GET /whoami HTTP/1.1\r\nHost: slow." + self.relay.domain.encode():
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.1)
            if time.monotonic() - started > 1.5:
                break
        response = harness.HttpResponse(sock).read_head()
        self.assertEqual(response.status, 408)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(self.backend.seen("/whoami"), [], "an incomplete head is never forwarded")

    def test_many_half_heads_do_not_stop_a_normal_visitor(self):
        holders = []
        for _ in range(300):
            sock = self.open()
            sock.sendall(b"GET /whoami HTTP/1.1\r\nHost: slow.")
            holders.append(sock)
        started = time.monotonic()
        r = self.relay.curl("slow", "/whoami")
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        self.assertLess(time.monotonic() - started, 5, "a liveness bound, not a performance one")


if __name__ == "__main__":
    unittest.main()
