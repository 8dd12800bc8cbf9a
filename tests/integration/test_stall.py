"""A publisher that stops answering (its ssh suspended with SIGSTOP, as a network stall
looks from the relay): its visitors get 504 within response_timeout_ms instead of hanging,
and other tunnels keep being served."""

import os
import signal
import time
import unittest

import harness


class StalledPublisher(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, keys=("alice", "bob"),
                                        extra_config="\n[limits]\nresponse_timeout_ms = 1000\n")
        cls.backend = harness.class_backend(cls, "stall-backend")

    def test_stalled_publisher_gives_504_and_others_are_unaffected(self):
        stalled = self.relay.publish(f"frozen:80:localhost:{self.backend.port}")
        self.addCleanup(stalled.close)
        stalled.wait_for_url()
        healthy = self.relay.publish(f"healthy:80:localhost:{self.backend.port}", key="bob")
        self.addCleanup(healthy.close)
        healthy.wait_for_url()
        self.assertEqual(self.relay.curl("frozen", "/whoami").status, 200)

        os.killpg(stalled.proc.pid, signal.SIGSTOP)
        self.addCleanup(lambda: os.killpg(stalled.proc.pid, signal.SIGCONT))
        started = time.monotonic()
        r = self.relay.curl("frozen", "/whoami")
        self.assertEqual(r.status, 504, r.describe())
        self.assertLess(time.monotonic() - started, 5, "a liveness bound: 1 s timeout + ticks")
        self.assertEqual(self.relay.curl("healthy", "/whoami").status, 200)

        os.killpg(stalled.proc.pid, signal.SIGCONT)
        harness.wait_until(lambda: self.relay.curl("frozen", "/whoami").status == 200, 10)


if __name__ == "__main__":
    unittest.main()
