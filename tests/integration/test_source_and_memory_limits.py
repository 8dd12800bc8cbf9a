"""Limits a stranger runs into before the relay's resources do: open connections per source
address (one over the cap answered 503 with Retry-After after TLS, or closed before TLS when
every refusal slot is taken; counted, the others unaffected, room again once some close), and
the process-wide memory budget for connection buffers (503 with Retry-After for new
connections and new requests while a slow reader holds a large response, 200 again once it
has finished)."""

import socket
import ssl
import unittest
import urllib.request

import harness

SLOW_RESPONSE_BYTES = 32 << 20


def metric_sum(admin_port: int, series: str) -> int:
    """The value of `series` (a name with its labels, as the relay writes them before the
    worker label) summed over every worker."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    name, _, labels = series.partition("{")
    total = 0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        key, _, value = line.rpartition(" ")
        if key.partition("{")[0] == name and labels.rstrip("}") in key:
            total += int(float(value))
    return total


def request_on(sock, host: str, path: str) -> harness.HttpResponse:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return harness.HttpResponse(sock).read_all()


class PerSourceCap(unittest.TestCase):
    CAP = 3

    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        # The cap counts per accepting worker (the kernel spreads one source's connections over
        # the workers): one worker makes the count exact.
        cls.relay = harness.class_relay(cls, workers=1, extra_config=(
            f"\n[limits]\nmax_connections_per_source = {cls.CAP}\n"
            f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n'))
        cls.backend = harness.class_backend(cls, "per-source")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"src:80:localhost:{cls.backend.port}")

    def open(self):
        sock = self.relay.tls("src")
        self.addCleanup(sock.close)
        return sock

    def try_open(self):
        """A TLS connection, or None when the relay closed it before the handshake."""
        try:
            return self.open()
        except (ssl.SSLError, ConnectionError, OSError):
            return None

    def admitted(self):
        """A connection the relay serves (200), or None when it is refused (503)."""
        sock = self.open()
        r = request_on(sock, self.relay.host("src"), "/whoami")
        return sock if r.status == 200 else None

    def fill_the_cap(self):
        """CAP connections the relay serves. Each is polled for: the relay sees the close of an
        earlier connection a moment after the client made it."""
        held = [harness.wait_until(self.admitted, 10) for _ in range(self.CAP)]
        self.assertTrue(all(held), "the cap's connections are served")
        return held

    def test_the_connection_over_the_cap_gets_503_and_the_others_still_work(self):
        host = self.relay.host("src")
        held = self.fill_the_cap()
        refused_before = metric_sum(self.admin_port, 'tunnelgate_connections_refused_total{reason="per_source"}')
        answered_before = metric_sum(self.admin_port, 'tunnelgate_per_source_refusals_total{answer="503"}')
        extra = self.open()  # the handshake completes: the refusal is said in HTTP
        r = request_on(extra, host, "/never")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.headers.get("retry-after"), "1")
        self.assertEqual(r.headers.get("connection"), "close")
        self.assertEqual(r.headers.get("strict-transport-security"), "max-age=63072000; includeSubDomains")
        self.assertIn(b"too many connections from your address", bytes(r.body))
        self.assertTrue(r.complete)
        self.assertEqual(extra.recv(1), b"", "the relay closes the refused connection after its answer")
        self.assertEqual(
            metric_sum(self.admin_port, 'tunnelgate_connections_refused_total{reason="per_source"}'),
            refused_before + 1)
        self.assertEqual(
            metric_sum(self.admin_port, 'tunnelgate_per_source_refusals_total{answer="503"}'),
            answered_before + 1)
        self.assertIsNotNone(self.relay.wait_for_log({"event": "connection_refused", "reason": "per_source"}))
        for sock in held:
            r = request_on(sock, host, "/whoami")
            self.assertEqual((r.status, bytes(r.body)), (200, b"per-source"), "held connections are served")
        self.assertEqual(self.backend.seen("/never"), [])
        held.pop().close()
        # The relay counts the close when it sees it: poll for the slot, then fill the cap again.
        again = harness.wait_until(self.admitted, 10)
        self.assertIsNotNone(again, "a closed connection makes room for a new one")
        self.assertIsNone(self.admitted(), "and the cap holds again")

    def test_beyond_the_refusal_slots_connections_are_closed_before_tls(self):
        held = self.fill_the_cap()
        # Refused connections that never send a ClientHello hold every refusal slot of the
        # worker (SourceRefusals::kMaxInFlight, 32) until the refusal bound (3 s) closes them.
        silent = []
        for _ in range(32):
            sock = socket.create_connection(("127.0.0.1", self.relay.https_port), timeout=20)
            self.addCleanup(sock.close)
            silent.append(sock)
        closed_before = metric_sum(self.admin_port, 'tunnelgate_per_source_refusals_total{answer="close"}')
        self.assertIsNone(self.try_open(), "with every refusal slot taken, one more is closed before TLS")
        self.assertEqual(
            metric_sum(self.admin_port, 'tunnelgate_per_source_refusals_total{answer="close"}'), closed_before + 1)
        for sock in silent:
            self.assertEqual(sock.recv(1), b"", "a refusal that never starts TLS is closed within its bound")
        extra = self.open()
        self.assertEqual(request_on(extra, self.relay.host("src"), "/never").status, 503,
                         "slots given back: an over-cap connection is answered again")
        for sock in held:
            self.assertEqual(request_on(sock, self.relay.host("src"), "/whoami").status, 200)


class PerSourceCapAcrossWorkers(unittest.TestCase):
    """A connection accepted by one worker and served by another is counted by the first
    until the second closes it: closes must come back, or the source would be locked out."""

    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, workers=2, extra_config="\n[limits]\nmax_connections_per_source = 1\n")
        cls.backend = harness.class_backend(cls, "across")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"across:80:localhost:{cls.backend.port}")

    def test_closed_connections_are_released_on_the_accepting_worker(self):
        for i in range(20):
            # One connection at a time; the relay may see the previous close a moment later.
            ok = harness.wait_until(lambda: self.relay.curl("across", f"/whoami?{i}").status == 200, 10)
            self.assertTrue(ok, f"connection {i} refused: a release was lost\n{self.relay.log_text()}")
        handed = [line for line in self.relay.logs() if line.get("event") == "request"]
        self.assertGreaterEqual(len(handed), 20)


class MemoryBudget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.class_relay(cls, extra_config=(
            "\n[limits]\nmemory_budget_bytes = 131072\n"
            f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n'))
        cls.backend = harness.class_backend(cls, "budget")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"mem:80:localhost:{cls.backend.port}")

    def slow_reader(self):
        """A visitor with a tiny receive buffer, so the response piles up in the relay rather
        than in the kernel."""
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(30)
        raw.connect(("127.0.0.1", self.relay.https_port))
        sock = harness.client_context(self.relay.ca_path).wrap_socket(raw, server_hostname=self.relay.host("mem"))
        self.addCleanup(sock.close)
        return sock

    def test_over_budget_new_work_gets_503_until_the_slow_reader_finishes(self):
        host = self.relay.host("mem")
        self.assertEqual(self.relay.curl("mem", "/whoami").status, 200)
        early = self.relay.tls("mem")  # a keep-alive connection opened while there was room
        self.addCleanup(early.close)
        self.assertEqual(request_on(early, host, "/whoami").status, 200)

        slow = self.slow_reader()
        slow.sendall(f"GET /bytes?n={SLOW_RESPONSE_BYTES} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        refused = harness.wait_until(
            lambda: (lambda r: r if r.status == 503 else None)(self.relay.curl("mem", "/whoami")), 20)
        self.assertIsNotNone(refused, "a new connection gets 503 while the budget is spent\n" + self.relay.log_text())
        self.assertEqual(refused.headers.get("retry-after"), "1", refused.describe())
        self.assertEqual(request_on(early, host, "/whoami").status, 503,
                         "a new request on an open connection gets 503 too")
        self.assertGreater(metric_sum(self.admin_port, "tunnelgate_buffered_bytes"), 131072)
        self.assertGreaterEqual(
            metric_sum(self.admin_port, 'tunnelgate_connections_refused_total{reason="memory_budget"}'), 2)

        response = harness.HttpResponse(slow).read_all()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.complete)
        self.assertEqual(bytes(response.body), harness.pattern_bytes(SLOW_RESPONSE_BYTES),
                         "the exchange in progress is never cut by the budget")
        slow.close()
        ok = harness.wait_until(lambda: self.relay.curl("mem", "/whoami").status == 200, 20)
        self.assertTrue(ok, "served again once the slow reader has finished\n" + self.relay.log_text())


if __name__ == "__main__":
    unittest.main()


class PerSourceCapBehindABalancer(unittest.TestCase):
    """Behind a trusted balancer every connection comes from its address: the cap counts the
    client each PROXY v2 header names instead, so one client is capped and the others are not."""

    CAP = 2

    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, workers=1,
                                        https_config='proxy_protocol_from = ["127.0.0.1/32"]\n',
                                        extra_config=f"\n[limits]\nmax_connections_per_source = {cls.CAP}\n")

    def connect_as(self, client: str):
        from test_proxy_protocol import proxy_v2, tls_over
        raw = socket.create_connection(("127.0.0.1", self.relay.https_port), timeout=10)
        raw.sendall(proxy_v2(client, 40000, self.relay.https_port))
        sock = tls_over(raw, self.relay, "nobody")
        self.addCleanup(sock.close)
        return sock

    def status_as(self, client: str) -> int:
        """The status a new connection from `client` gets: 404 (no tunnel "nobody") when
        admitted, 503 when over its cap."""
        sock = self.connect_as(client)
        return request_on(sock, self.relay.host("nobody"), "/").status

    def test_each_client_named_by_the_balancer_has_its_own_cap(self):
        held = [self.connect_as("203.0.113.7") for _ in range(self.CAP)]
        self.assertEqual(self.status_as("203.0.113.7"), 503, "one more from the same client is refused")
        self.assertEqual(self.status_as("203.0.113.8"), 404, "another client behind the balancer is not")
        held[0].close()
        self.assertTrue(harness.wait_until(lambda: self.status_as("203.0.113.7") == 404, 10))
