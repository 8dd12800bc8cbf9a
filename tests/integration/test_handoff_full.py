"""A full cross-worker handoff queue: the connection is refused cleanly (closed at once,
counted, logged) and never lost in flight. `[tuning] handoff_queue_entries = 0` is the
test setting that makes every visitor queue count as full, so the outcome of each connection
depends only on which worker the kernel gave it to, never on timing: on the tunnel's own
worker it is served, on the other it is refused. Admin requests use the same queues and must
still get through."""

import unittest

import harness

from test_source_and_memory_limits import metric_sum


class FullHandoffQueue(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.class_relay(cls, workers=2, extra_config=(
            "\n[tuning]\nhandoff_queue_entries = 0\n"
            f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n'))
        cls.backend = harness.class_backend(cls, "handoff")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"full:80:localhost:{cls.backend.port}")

    def test_every_connection_is_served_or_refused_and_counted(self):
        served = refused = 0
        refused_before = metric_sum(self.admin_port, "tunnelgate_handoffs_refused_total")
        # The kernel picks the worker per connection: go on until both outcomes were seen.
        for attempt in range(200):
            r = self.relay.curl("full", f"/whoami?{attempt}", timeout=10)
            if r.returncode == 0:
                self.assertEqual((r.status, r.body), (200, b"handoff"), r.describe())
                served += 1
            else:
                # Closed by the relay after the ClientHello: a TLS error at once, never a hang.
                self.assertIn(r.returncode, (35, 56), r.describe())
                self.assertEqual(r.status, 0)
                refused += 1
            if served >= 3 and refused >= 3:
                break
        self.assertGreaterEqual(served, 3)
        self.assertGreaterEqual(refused, 3)
        self.assertEqual(metric_sum(self.admin_port, "tunnelgate_handoffs_refused_total") - refused_before,
                         refused, "every refusal is counted, and nothing else was refused")
        refusals = [line for line in self.relay.logs() if line.get("event") == "handoff_refused"]
        self.assertEqual(len(refusals), refused)
        self.assertEqual(len(self.backend.seen("/whoami")), served, "only served requests reached the service")
        # Nothing is left in flight: no connection is held anywhere once the clients are gone.
        # (Each /metrics answer is itself a round of cross-worker admin messages: control
        # messages still pass the queues visitors may not use.)
        self.assertTrue(harness.wait_until(
            lambda: metric_sum(self.admin_port, "tunnelgate_visitor_connections") == 0, 10))


if __name__ == "__main__":
    unittest.main()
