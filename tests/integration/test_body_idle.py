"""The body idle timeout: a body that stops moving either way frees its connection (an upload
that stalls gets 408; a service that stalls mid-response leaves the visitor a response cut
short, never a complete one), while an event stream may stay quiet longer than the timeout."""

import time
import unittest

import harness


class BodyIdle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, extra_config=(
            "\n[limits]\nbody_idle_timeout_ms = 1000\n"))
        cls.backend = harness.class_backend(cls, "idle-backend")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"idle:80:localhost:{cls.backend.port}")

    def host(self):
        return f"idle.{self.relay.domain}:{self.relay.https_port}"

    def test_an_upload_that_stalls_gets_408(self):
        sock = self.relay.tls("idle", timeout=20)
        self.addCleanup(sock.close)
        sock.sendall(f"POST /echo?stalled HTTP/1.1\r\nHost: {self.host()}\r\n"
                     "Content-Length: 100\r\n\r\n0123456789".encode())
        resp = harness.HttpResponse(sock)
        resp.read_head()
        self.assertEqual(resp.status, 408)
        self.assertIsNotNone(self.relay.wait_for_log(
            lambda l: l.get("event") == "body_idle_timeout" and "stalled" in l.get("path", "")))

    def test_a_response_that_stalls_is_cut_short(self):
        sock = self.relay.tls("idle", timeout=20)
        self.addCleanup(sock.close)
        sock.sendall(f"GET /slow-half HTTP/1.1\r\nHost: {self.host()}\r\n\r\n".encode())
        resp = harness.HttpResponse(sock)
        resp.read_head()
        self.assertEqual(resp.status, 200)
        body = b"".join(resp.iter_body())
        self.assertEqual(len(body), 50000)  # what the service sent before it stalled
        self.assertFalse(resp.complete)  # and the visitor can tell the response is cut

    def test_an_event_stream_may_be_quiet_longer(self):
        sock = self.relay.tls("idle", timeout=20)
        self.addCleanup(sock.close)
        sock.sendall(f"GET /sse?id=quiet&hold=3 HTTP/1.1\r\nHost: {self.host()}\r\n\r\n".encode())
        resp = harness.HttpResponse(sock)
        resp.read_head()
        body = b"".join(resp.iter_body())
        self.assertIn(b"data: second", body)  # 3 s of silence did not end it
        self.assertTrue(resp.complete)


if __name__ == "__main__":
    unittest.main()
