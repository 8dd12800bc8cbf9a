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




class PerKeyAndPerTunnelCaps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, keys=("alice", "bob"), extra_config=(
            "\n[limits]\nmax_tunnels_per_key = 2\nmax_connections_per_tunnel = 2\n"))
        cls.backend = harness.class_backend(cls, "caps-backend")

    def test_a_key_may_hold_only_so_many_names(self):
        port = self.backend.port
        pub = self.relay.publish(f"cap-a:80:localhost:{port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        more = self.relay.publish(f"cap-b:80:localhost:{port}")
        self.addCleanup(more.close)
        more.wait_for_url()
        third = self.relay.publish(f"cap-c:80:localhost:{port}")
        self.addCleanup(third.close)
        third.wait_for_text("the most the relay allows one key")
        other = self.relay.publish(f"cap-d:80:localhost:{port}", key="bob")  # bob has his own
        self.addCleanup(other.close)
        other.wait_for_url()
        more.close()  # a name freed makes room again
        harness.wait_until(lambda: self.relay.curl("cap-b", "/whoami").status == 502, 10)
        again = self.relay.publish(f"cap-e:80:localhost:{port}")
        self.addCleanup(again.close)
        again.wait_for_url()

    def test_a_tunnel_takes_only_so_many_connections(self):
        pub = self.relay.publish(f"crowd:80:localhost:{self.backend.port}", key="bob")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        held = []
        for _ in range(2):
            sock = harness.open_tls(self.relay.https_port, f"crowd.{self.relay.domain}",
                                    self.relay.ca_path)
            self.addCleanup(sock.close)
            held.append(sock)
        harness.wait_until(lambda: self.relay.curl("crowd", "/whoami").status == 503, 10)
        for sock in held:
            sock.close()
        harness.wait_until(lambda: self.relay.curl("crowd", "/whoami").status == 200, 10)


class PerKeyConnectionCap(unittest.TestCase):
    """The cap on visitor connections counts every tunnel of one publisher key, whichever
    worker serves each of its sessions; other keys are not affected."""

    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, keys=("alice", "bob"), extra_config=(
            "\n[limits]\nmax_connections_per_key = 3\nmax_connections_per_tunnel = 100\n"))
        cls.backend = harness.class_backend(cls, "key-caps-backend")

    def hold(self, name):
        sock = harness.open_tls(self.relay.https_port, f"{name}.{self.relay.domain}",
                                self.relay.ca_path)
        self.addCleanup(sock.close)
        return sock

    def test_a_key_takes_only_so_many_connections_over_all_its_tunnels(self):
        port = self.backend.port
        for name, key in (("key-one", "alice"), ("key-two", "alice"), ("key-other", "bob")):
            pub = self.relay.publish(f"{name}:80:localhost:{port}", key=key)  # own sessions
            self.addCleanup(pub.close)
            pub.wait_for_url()
        held = [self.hold("key-one"), self.hold("key-one"), self.hold("key-two")]
        self.assertTrue(harness.wait_until(
            lambda: self.relay.curl("key-two", "/whoami").status == 503, 10))
        self.assertEqual(self.relay.curl("key-one", "/whoami").status, 503)
        self.assertEqual(self.relay.curl("key-other", "/whoami").status, 200)
        held[0].close()
        self.assertTrue(harness.wait_until(
            lambda: self.relay.curl("key-two", "/whoami").status == 200, 10))


if __name__ == "__main__":
    unittest.main()
