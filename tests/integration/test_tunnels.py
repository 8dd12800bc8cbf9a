"""Names and tunnels: several at once, names held by keys, takeover, invalid names, stable
names for anonymous forwards (across reconnects and relay restarts), and the relay's own
answers: unknown name 404, Host not matching SNI 421, publisher gone 502."""

import re
import unittest
import urllib.parse

import harness

# 12 characters from "abcdefghijkmnpqrstuvwxyz23456789", starting with a letter.
STABLE_NAME = re.compile(r"[a-km-np-z][a-km-np-z2-9]{11}")


def same_url(url):
    """The URL without a trailing slash (test_proxy_basic checks the exact printed form)."""
    return url.rstrip("/")


class Tunnels(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, keys=("alice", "bob"), extra_keys=("mallory",))
        cls.a = harness.class_backend(cls, "backend-a")
        cls.b = harness.class_backend(cls, "backend-b")

    def publish(self, spec, key="alice"):
        pub = self.relay.publish(spec, key=key)
        self.addCleanup(pub.close)
        return pub

    def whoami(self, name):
        r = self.relay.curl(name, "/whoami")
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        return r.body.decode()

    def test_two_tunnels_each_serve_their_backend(self):
        pa = self.publish(f"one:80:localhost:{self.a.port}")
        pb = self.publish(f"two:80:localhost:{self.b.port}", key="bob")
        self.assertEqual(same_url(pa.wait_for_url()), same_url(self.relay.url("one")))
        self.assertEqual(same_url(pb.wait_for_url()), same_url(self.relay.url("two")))
        self.assertEqual(self.whoami("one"), "backend-a")
        self.assertEqual(self.whoami("two"), "backend-b")
        self.assertEqual(self.whoami("one"), "backend-a")

    def test_name_held_by_another_key(self):
        holder = self.publish(f"held:80:localhost:{self.a.port}")
        holder.wait_for_url()
        rival = self.publish(f"held:80:localhost:{self.b.port}", key="bob")
        rival.wait_for_text("held by another key")
        self.assertTrue(holder.alive(), holder.output())
        self.assertEqual(self.whoami("held"), "backend-a")

    def test_takeover_by_same_key(self):
        first = self.publish(f"take:80:localhost:{self.a.port}")
        first.wait_for_url()
        self.assertEqual(self.whoami("take"), "backend-a")
        second = self.publish(f"take:80:localhost:{self.b.port}")
        self.assertEqual(same_url(second.wait_for_url()), same_url(self.relay.url("take")))
        self.assertIsNotNone(first.wait_exit(10), f"first publisher still running after takeover\n{first.output()}")
        self.assertEqual(self.whoami("take"), "backend-b")
        self.assertTrue(second.alive(), second.output())

    def test_invalid_name_rejected(self):
        pub = self.publish(f"Bad_Name:80:localhost:{self.a.port}")
        pub.wait_for_text("not a valid name")

    def test_unauthorized_key_refused(self):
        pub = self.publish(f"intruder:80:localhost:{self.a.port}", key="mallory")
        self.assertEqual(pub.wait_exit(10), 255, pub.output())  # ssh's exit code for a refused login
        self.assertIsNone(harness.URL_RE.search(pub.output().encode()), pub.output())
        r = self.relay.curl("intruder", "/whoami")
        self.assertEqual(r.status, 404, r.describe())

    def test_unknown_name_404(self):
        r = self.relay.curl("nosuchname", "/hello")
        self.assertEqual((r.returncode, r.status), (0, 404), r.describe())
        self.assertFalse(self.a.seen("nosuchname") or self.b.seen("nosuchname"))

    def test_host_not_matching_sni_421(self):
        pub = self.publish(f"sni:80:localhost:{self.a.port}")
        pub.wait_for_url()
        before = len(self.a.seen("/hello/misdirected"))
        r = self.relay.curl("sni", "/hello/misdirected", headers=[f"Host: other.tg.test:{self.relay.https_port}"])
        self.assertEqual((r.returncode, r.status), (0, 421), r.describe())
        self.assertEqual(len(self.a.seen("/hello/misdirected")), before, "a misdirected request reached the backend")
        # The same name in other case and without the port is the same host.
        r = self.relay.curl("sni", "/hello", headers=["Host: SNI.tg.test"])
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())

    def test_publisher_killed_gives_502_at_once(self):
        pub = self.publish(f"gone:80:localhost:{self.a.port}")
        pub.wait_for_url()
        self.assertEqual(self.whoami("gone"), "backend-a")
        pub.kill()  # SIGKILL: the ssh client says nothing, its socket just closes
        r = self.relay.curl("gone", "/whoami", timeout=20)
        self.assertEqual(r.status, 502, r.describe())
        self.assertLess(r.elapsed, 5.0, f"502 took {r.elapsed:.2f} s (liveness bound)")


class StableNames(unittest.TestCase):
    """`-R 80:…` gets the key's stable name: the same on reconnect and across a restart."""

    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, keys=("alice", "bob"))
        cls.backend = harness.class_backend(cls, "anon")

    def anonymous_url(self, key="alice"):
        pub = self.relay.publish(f"80:localhost:{self.backend.port}", key=key)
        try:
            url = pub.wait_for_url()
            host = urllib.parse.urlsplit(url).hostname
            name, _, domain = host.partition(".")
            self.assertEqual(domain, "tg.test", url)
            self.assertRegex(name, f"^{STABLE_NAME.pattern}$", url)
            self.assertEqual(same_url(url), same_url(self.relay.url(name)))
            r = harness.curl(same_url(url) + "/whoami", ca=self.relay.ca_path)
            self.assertEqual((r.status, r.body), (200, b"anon"), r.describe())
        finally:
            pub.close()
        return same_url(url)

    def test_stable_name_across_reconnect_and_restart(self):
        first = self.anonymous_url()
        self.assertEqual(self.anonymous_url(), first, "reconnecting with the same key changed the URL")
        other = self.anonymous_url(key="bob")
        self.assertNotEqual(other, first, "two keys got the same stable name")
        self.relay.restart()
        self.assertEqual(self.anonymous_url(), first, "a relay restart with the same state changed the URL")


if __name__ == "__main__":
    unittest.main()
