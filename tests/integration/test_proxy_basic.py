"""HTTP/1.1 through one tunnel: bodies both ways, forwarding headers, keep-alive, 100-continue,
chunked responses, and the per-request log line.

One relay, one backend and one publisher (`ssh -R notes:80:localhost:PORT`) for the class."""

import os
import unittest
import uuid

import harness
from harness import pattern_bytes


class ProxyBasic(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls)
        cls.backend = harness.class_backend(cls)
        cls.pub, cls.url = harness.publish_and_wait(cls.relay, f"notes:80:localhost:{cls.backend.port}")

    def curl(self, path, **kwargs):
        return self.relay.curl("notes", path, **kwargs)

    def test_url_printed_on_session(self):
        self.assertEqual(self.url, f"https://notes.tg.test:{self.relay.https_port}/", self.pub.output())

    def test_get_returns_backend_body(self):
        r = self.curl("/hello")
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.body, b"hello from backend")

    def test_post_with_content_length_echoes_exact_bytes(self):
        data = os.urandom(100_000)
        r = self.curl("/echo", data=data)
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        self.assertEqual(r.body, data)
        self.assertEqual(r.headers.get("x-seen-cl"), str(len(data)))

    def test_post_chunked_echoes_exact_bytes(self):
        data = os.urandom(300_000)
        r = self.curl("/echo", data=data, headers=["Transfer-Encoding: chunked"])
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        self.assertEqual(r.body, data)

    def test_forwarding_headers_and_host_rewrite(self):
        r = self.curl("/echo", data=b"x")
        self.assertEqual(r.status, 200, r.describe())
        # The contract says Host is rewritten to the local target the publisher named
        # ("localhost:PORT" for -R notes:80:localhost:PORT). The SSH "tcpip-forward" request
        # carries only the remote side ("notes", 80), never the client's local target, so a
        # relay can know "localhost" by convention but not the port: both are accepted.
        self.assertIn(r.headers.get("x-seen-host"), (f"localhost:{self.backend.port}", "localhost"), r.describe())
        self.assertEqual(r.headers.get("x-seen-xff"), "127.0.0.1", r.describe())
        self.assertEqual(r.headers.get("x-seen-xfp"), "https", r.describe())
        self.assertEqual(r.headers.get("x-seen-xfh"), f"notes.tg.test:{self.relay.https_port}", r.describe())

    def test_keepalive_two_requests_in_one_curl(self):
        results = harness.curl_sequence([self.relay.url("notes", "/hello"), self.relay.url("notes", "/whoami")],
                                        ca=self.relay.ca_path)
        self.assertEqual([(s, b) for s, _, b in results], [(200, b"hello from backend"), (200, b"backend")])
        # num_connects 0: the second request went over the first one's connection.
        self.assertEqual(results[1][1], 0, f"second request opened a new connection: {results}")

    def test_expect_100_continue(self):
        data = os.urandom(1_000_000)
        r = self.curl("/echo", data=data, headers=["Expect: 100-continue"])
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        self.assertEqual(r.body, data)
        # curl waits for the interim response before sending the body (1 s, then sends anyway):
        # the relay either forwards the backend's 100 or answers it itself.
        self.assertRegex(r.header_text, r"^HTTP/1\.1 100", r.describe())

    def test_chunked_response_arrives_intact(self):
        r = self.curl("/chunked?n=100000")
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        self.assertEqual(len(r.body), 100_000)
        self.assertEqual(r.body, pattern_bytes(100_000))

    def test_request_log_line(self):
        path = f"/hello/log-{uuid.uuid4().hex}"
        r = self.curl(path)
        self.assertEqual(r.status, 200, r.describe())
        line = self.relay.wait_for_log({"event": "request", "path": path}, timeout=5)
        self.assertIsNotNone(line, f"no request log line for {path}\n{self.relay.log_text()}")
        self.assertEqual(line.get("name"), "notes", line)
        self.assertEqual(line.get("method"), "GET", line)
        self.assertEqual(line.get("status"), 200, line)


if __name__ == "__main__":
    unittest.main()
