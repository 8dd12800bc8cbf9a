"""The SSH port under a flood of idle TCP connections from a few addresses (127.0.0.2 to
127.0.0.5), more than the relay has descriptors (its RLIMIT_NOFILE is set low, so the test
stays cheap): visitors from another address keep getting 200, the publisher that was there
keeps its tunnel, and the relay does not spin (its CPU time over the flood stays far below the
wall time; a spin is a whole core).

- FloodFromFewAddresses: the per-source cap on SSH connections closes what is over it before
  any SSH bytes (counted, logged), and a new publisher from 127.0.0.1 still gets in.
- MaxStartups: unauthenticated connections beyond max_startups are closed before the banner,
  at random between start and full and always from full on; an authenticated session gives its
  place back; login_grace_time_ms closes the idle ones (counted).
- DescriptorReserve: with every per-source cap off, SSH stops at the descriptor high-water
  mark and the visitors' reserve stays theirs; a visitor flood that takes the rest makes the
  accepts fail with EMFILE, which pauses the listeners (counted, no spin), and the relay serves
  again once the flood is gone."""

import os
import resource
import socket
import time
import unittest
import urllib.request

import harness

FLOOD_SOURCES = [f"127.0.0.{i}" for i in range(2, 6)]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def metric_sum(admin_port, series):
    """`series` (a name, with labels as the relay writes them before the worker label) summed
    over the workers."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    name, _, labels = series.partition("{")
    total = 0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key.partition("{")[0] == name and labels.rstrip("}") in key:
            total += int(float(value))
    return total


def cpu_seconds(pid):
    """User plus system CPU time of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def flood(port, sources, per_source):
    """Idle TCP connections to `port`, `per_source` from each address; the relay may close any
    of them at once, they are held all the same."""
    held = []
    for source in sources:
        for _ in range(per_source):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((source, 0))
            sock.settimeout(10)
            sock.connect(("127.0.0.1", port))
            held.append(sock)
    return held


def first_bytes(sock, timeout=10.0):
    """What the relay sends first on a fresh SSH connection: its banner, or b"" when it closed
    the connection without a byte."""
    sock.settimeout(timeout)
    try:
        return sock.recv(64)
    except (ConnectionResetError, socket.timeout):
        return b""


def raise_own_file_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < needed:
        raise unittest.SkipTest(f"needs {needed} open files, the hard limit is {hard}")


class SpinCheck:
    """Measures the relay's CPU time against wall time over a stretch of the test."""

    def __init__(self, pid):
        self.pid = pid
        self.cpu = cpu_seconds(pid)
        self.wall = time.monotonic()

    def share(self):
        return (cpu_seconds(self.pid) - self.cpu) / (time.monotonic() - self.wall)


def served(relay, name, body):
    result = relay.curl(name, "/whoami", timeout=10)
    return result.status == 200 and result.body == body


class FloodFromFewAddresses(unittest.TestCase):
    PER_SOURCE_CAP = 6  # per worker: 4 addresses x 2 workers x 6 = 48, below max_startups' start
    FLOOD_PER_SOURCE = 400  # 1,600 in all, over the relay's 1,024 descriptors

    @classmethod
    def setUpClass(cls):
        raise_own_file_limit(4000)
        cls.admin_port = harness.free_port()
        cls.relay = harness.class_relay(
            cls, workers=2, open_files=1024,
            ssh_config=f"max_connections_per_source = {cls.PER_SOURCE_CAP}\n",
            extra_config=f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n')
        cls.backend = harness.class_backend(cls, "steady")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"steady:80:localhost:{cls.backend.port}")

    def test_visitors_and_publishers_are_served_through_the_flood(self):
        self.assertTrue(served(self.relay, "steady", b"steady"))
        held = flood(self.relay.ssh_port, FLOOD_SOURCES, self.FLOOD_PER_SOURCE)
        self.addCleanup(lambda: [sock.close() for sock in held])
        spin = SpinCheck(self.relay.pid)
        for i in range(5):
            result = self.relay.curl("steady", f"/whoami?{i}", timeout=10)
            self.assertEqual((result.status, result.body), (200, b"steady"),
                             f"a visitor during the flood\n{result.describe()}\n{self.relay.log_text()}")
        newcomer_backend = harness.class_backend(type(self), "newcomer")
        newcomer, _ = harness.publish_and_wait(self.relay, f"newcomer:80:localhost:{newcomer_backend.port}")
        self.assertTrue(served(self.relay, "newcomer", b"newcomer"), "a new publisher got in")
        self.assertTrue(self.pub.alive(), self.pub.output())
        self.assertTrue(served(self.relay, "steady", b"steady"), "the first publisher kept its tunnel")
        time.sleep(1)  # a stretch with nothing but the flood held
        self.assertLess(spin.share(), 0.5, "the relay's CPU time over the flood (a spin is 1.0)")

        admitted_at_most = len(FLOOD_SOURCES) * 2 * self.PER_SOURCE_CAP
        refused = metric_sum(self.admin_port, 'tunnelgate_ssh_connections_refused_total{reason="per_source"}')
        self.assertGreaterEqual(refused, len(held) - admitted_at_most)
        self.assertLessEqual(metric_sum(self.admin_port, "tunnelgate_ssh_unauthenticated"), admitted_at_most)
        self.assertIsNotNone(self.relay.wait_for_log({"event": "connection_refused", "reason": "ssh_per_source"}))
        self.assertLess(self.relay.fd_count(), 300, "the flood holds few descriptors")
        newcomer.close()


class MaxStartups(unittest.TestCase):
    START, RATE, FULL = 8, 50, 16
    GRACE_MS = 1500

    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.class_relay(
            cls, workers=2,
            ssh_config=(f'max_connections_per_source = 0\nmax_startups = "{cls.START}:{cls.RATE}:{cls.FULL}"\n'
                        f"login_grace_time_ms = {cls.GRACE_MS}\n"),
            extra_config=f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n')
        cls.backend = harness.class_backend(cls, "startups")

    def open_idle(self, count):
        """`count` connections one after the other; (banners, closed without a byte)."""
        admitted, dropped = [], []
        for sock in flood(self.relay.ssh_port, ["127.0.0.2"], count):
            self.addCleanup(sock.close)
            (admitted if first_bytes(sock).startswith(b"SSH-2.0-") else dropped).append(sock)
        return admitted, dropped

    def test_unauthenticated_connections_beyond_max_startups_are_closed_before_the_banner(self):
        admitted, dropped = self.open_idle(60)
        self.assertGreaterEqual(len(admitted), self.START, "below start every connection is admitted")
        self.assertLessEqual(len(admitted), self.FULL, "from full on every connection is dropped")
        self.assertEqual(
            metric_sum(self.admin_port, 'tunnelgate_ssh_connections_refused_total{reason="startups"}'),
            len(dropped))
        self.assertEqual(metric_sum(self.admin_port, "tunnelgate_ssh_unauthenticated"), len(admitted))
        self.assertIsNotNone(self.relay.wait_for_log({"event": "connection_refused", "reason": "ssh_max_startups"}))

        # The login grace time ends the idle ones, and counts them.
        for sock in admitted:
            data, closed = harness.read_until_closed(sock, 15)
            self.assertTrue(closed, "an idle connection is closed at the login grace time")
        self.assertTrue(harness.wait_until(
            lambda: metric_sum(self.admin_port, "tunnelgate_ssh_login_timeouts_total") >= len(admitted), 10))
        self.assertTrue(harness.wait_until(
            lambda: metric_sum(self.admin_port, "tunnelgate_ssh_unauthenticated") == 0, 10))

        # A publisher that has authenticated no longer takes a place: START more are admitted.
        pub, _ = harness.publish_and_wait(self.relay, f"startup:80:localhost:{self.backend.port}")
        again, _ = self.open_idle(self.START)
        self.assertEqual(len(again), self.START)
        self.assertTrue(served(self.relay, "startup", b"startups"))
        pub.close()


class DescriptorReserve(unittest.TestCase):
    OPEN_FILES = 512  # high-water mark 448: the top 64 descriptors are the visitors'
    FLOOD_PER_SOURCE = 150  # 600 SSH connections, over the relay's whole table

    @classmethod
    def setUpClass(cls):
        raise_own_file_limit(4000)
        cls.admin_port = harness.free_port()
        cls.relay = harness.class_relay(
            cls, workers=2, open_files=cls.OPEN_FILES,
            ssh_config='max_connections_per_source = 0\nmax_startups = "100000"\n',
            extra_config=("\n[limits]\nmax_connections_per_source = 0\nhandshake_timeout_ms = 3000\n"
                          f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n'))
        cls.backend = harness.class_backend(cls, "reserved")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"reserved:80:localhost:{cls.backend.port}")
        cls.ssh_flood = flood(cls.relay.ssh_port, FLOOD_SOURCES, cls.FLOOD_PER_SOURCE)
        cls.addClassCleanup(lambda: [sock.close() for sock in cls.ssh_flood])

    def test_a_ssh_flood_leaves_the_visitors_their_reserve(self):
        refused = harness.wait_until(lambda: metric_sum(
            self.admin_port, 'tunnelgate_ssh_connections_refused_total{reason="descriptor_reserve"}'), 10)
        self.assertTrue(refused, "SSH accepts past the high-water mark are refused\n" + self.relay.log_text())
        spin = SpinCheck(self.relay.pid)
        for i in range(5):
            result = self.relay.curl("reserved", f"/whoami?{i}", timeout=10)
            self.assertEqual((result.status, result.body), (200, b"reserved"), result.describe())
        self.assertTrue(self.pub.alive(), self.pub.output())
        time.sleep(1)
        self.assertLess(spin.share(), 0.5)
        self.assertLess(self.relay.fd_count(), self.OPEN_FILES)
        self.assertIsNotNone(self.relay.wait_for_log(
            {"event": "connection_refused", "reason": "ssh_descriptor_reserve"}))

    def test_b_out_of_descriptors_the_listeners_pause_without_spinning(self):
        visitors = flood(self.relay.https_port, [f"127.0.0.{i}" for i in range(6, 10)], 100)
        try:
            paused = self.relay.wait_for_log({"event": "accept_paused"}, timeout=10)
            self.assertIsNotNone(paused, "the descriptors ran out\n" + self.relay.log_text())
            self.assertIn(paused["error"], ("Too many open files", "Too many open files in system"))
            spin = SpinCheck(self.relay.pid)
            time.sleep(2)
            self.assertLess(spin.share(), 0.5, "out of descriptors, the accepts rest instead of spinning")
        finally:
            for sock in visitors:
                sock.close()
        self.assertTrue(harness.wait_until(lambda: served(self.relay, "reserved", b"reserved"), 20),
                        "served again once the flood is gone\n" + self.relay.log_text())
        self.assertGreater(metric_sum(self.admin_port, "tunnelgate_accept_fd_exhausted_total"), 0)
        self.assertTrue(self.pub.alive(), self.pub.output())


if __name__ == "__main__":
    unittest.main()
