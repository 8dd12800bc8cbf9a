"""SIGTERM drains: listeners close at once, publishers are told on their sessions, a request
in flight still completes, an event stream is ended rather than waited for, and the relay
exits 0; a second SIGTERM ends the drain at once."""

import signal
import threading
import time
import unittest

import harness


class Drain(unittest.TestCase):
    def setUp(self):
        self.relay = harness.Relay()
        self.addCleanup(self.relay.close)
        self.relay.start()
        self.backend = harness.Backend("drain-backend")
        self.addCleanup(self.backend.close)
        self.pub = self.relay.publish(f"drain:80:localhost:{self.backend.port}")
        self.addCleanup(self.pub.close)
        self.pub.wait_for_url()

    def test_in_flight_request_finishes_and_the_relay_exits_zero(self):
        result = {}
        slow = threading.Thread(target=lambda: result.update(
            r=self.relay.curl("drain", "/slow?ms=2000")))
        slow.start()
        time.sleep(0.5)  # the request is now waiting on the backend
        self.relay.proc.send_signal(signal.SIGTERM)
        self.pub.wait_for_text("the relay is draining")
        time.sleep(0.5)  # every worker notices within one loop round (200 ms)
        with self.assertRaises(OSError):  # no new visitors: refused, or closed unserved
            harness.open_tls(self.relay.https_port, f"drain.{self.relay.domain}",
                             self.relay.ca_path, timeout=3)
        slow.join(20)
        r = result["r"]
        self.assertEqual((r.returncode, r.status, r.body), (0, 200, b"slow and complete"), r.describe())
        self.assertEqual(self.relay.proc.wait(timeout=10), 0)

    def test_event_streams_end_and_a_second_sigterm_stops_at_once(self):
        sock = harness.open_tls(self.relay.https_port, f"drain.{self.relay.domain}", self.relay.ca_path)
        self.addCleanup(sock.close)
        sock.sendall(f"GET /slow-half HTTP/1.1\r\nHost: drain.{self.relay.domain}\r\n\r\n".encode())
        harness.HttpResponse(sock).read_head()
        self.backend.slow_half_sent.wait(5)
        self.relay.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(self.relay.proc.poll(), "a half-sent response keeps the drain waiting")
        started = time.monotonic()
        self.relay.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.relay.proc.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - started, 5)


if __name__ == "__main__":
    unittest.main()
