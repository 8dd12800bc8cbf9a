"""The response side of request smuggling: a publisher's service that answers twice, with a
Content-Length shorter or longer than its body, with both Content-Length and
Transfer-Encoding, with a malformed chunk, or not at all. The visitor gets the first
response only (or 502/504, or a cut connection when the head has already gone out), and
bytes the service sent beyond its framing never reach the visitor's next request: the relay
asks for it over a fresh channel, which the service sees as a new connection."""

import socket
import ssl
import threading
import unittest

import harness

FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
SMUGGLED = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"

# What the service writes for each path, on the connection the request came in on.
MISBEHAVIOURS = {
    "/twice": FIRST + SMUGGLED,
    "/short-length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst" + b"SMUGGLED-TAIL",
    "/long-length": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst",  # then closes
    "/length-and-chunked": (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"8\r\nSMUGGLED\r\n0\r\n\r\n"),
    "/bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\nzz\r\nSMUGGLED\r\n0\r\n\r\n",
    "/silent": b"",  # reads the request and never answers
}
CLOSES_AFTER = {"/long-length"}
# The second answer of /twice-later waits until the test has read the first one.
SECOND_ANSWER_ALLOWED = threading.Event()


class MisbehavingService(harness.RawService):
    """A raw TCP service: answers MISBEHAVIOURS by path, anything else with
    `fresh:<path>:<connection number>`; records (connection number, path) per request."""

    def serve(self, conn: socket.socket, number: int):
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            self.record(number, path)
            if path == "/twice-later":
                conn.sendall(FIRST)
                SECOND_ANSWER_ALLOWED.wait(30)
                conn.sendall(SMUGGLED)
                continue
            if path in MISBEHAVIOURS:
                conn.sendall(MISBEHAVIOURS[path])
                if path in CLOSES_AFTER:
                    return
                continue
            body = f"fresh:{path}:{number}".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


class ResponseDesync(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, extra_config="\n[limits]\nresponse_timeout_ms = 1000\n")
        cls.service = MisbehavingService()
        cls.addClassCleanup(cls.service.close)
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"desync:80:localhost:{cls.service.port}")

    def visitor(self):
        sock = self.relay.tls("desync")
        self.addCleanup(sock.close)
        return sock

    def ask(self, sock, path: str) -> harness.HttpResponse:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.relay.host('desync')}\r\n\r\n".encode())
        return harness.HttpResponse(sock).read_all()

    def assert_closed(self, sock):
        data, closed = harness.read_until_closed(sock, 10)
        self.assertTrue(closed, "the visitor connection is closed")
        self.assertNotIn(b"SMUGGLED", data)

    def desyncs_logged(self) -> int:
        return sum(1 for line in self.relay.logs() if line.get("event") == "response_desync")

    def assert_extra_bytes_never_reach_the_next_request(self, path: str):
        sock = self.visitor()
        desyncs = self.desyncs_logged()
        first = self.ask(sock, path)
        self.assertEqual((first.status, bytes(first.body), first.complete), (200, b"first", True))
        # However the stray bytes arrived (with the response or after it), the relay says so.
        self.assertTrue(harness.wait_until(lambda: self.desyncs_logged() > desyncs, 10),
                        "the stray bytes are logged as response_desync")
        following = f"/after{path}"
        try:
            second = self.ask(sock, following)
        except ConnectionError:
            return  # the relay closed the visitor connection instead: also safe
        self.assertEqual(second.status, 200)
        self.assertNotIn(b"SMUGGLED", bytes(second.body))
        self.assertTrue(bytes(second.body).startswith(f"fresh:{following}:".encode()), bytes(second.body))
        self.assertNotEqual(self.service.connection_of(following), self.service.connection_of(path),
                            "the next request goes over a fresh connection to the service")

    def test_a_second_answer_to_one_request_is_dropped(self):
        self.assert_extra_bytes_never_reach_the_next_request("/twice")

    def test_a_second_answer_arriving_between_requests_drops_the_channel(self):
        sock = self.visitor()
        first = self.ask(sock, "/twice-later")
        self.assertEqual((first.status, bytes(first.body)), (200, b"first"))
        SECOND_ANSWER_ALLOWED.set()
        # The relay says when it saw and dropped the stray answer; only then ask again, so the
        # order of events is fixed without any timing.
        self.assertIsNotNone(self.relay.wait_for_log({"event": "response_desync", "name": "desync"}, 10))
        second = self.ask(sock, "/after/twice-later")
        self.assertEqual(second.status, 200)
        self.assertTrue(bytes(second.body).startswith(b"fresh:/after/twice-later:"), bytes(second.body))
        self.assertNotEqual(self.service.connection_of("/after/twice-later"),
                            self.service.connection_of("/twice-later"))

    def test_bytes_beyond_a_short_content_length_are_dropped(self):
        self.assert_extra_bytes_never_reach_the_next_request("/short-length")

    def test_a_body_shorter_than_its_content_length_cuts_the_visitor(self):
        sock = self.visitor()
        sock.sendall(f"GET /long-length HTTP/1.1\r\nHost: {self.relay.host('desync')}\r\n\r\n".encode())
        response = harness.HttpResponse(sock)
        response.read_all()
        self.assertEqual(response.status, 200)
        self.assertFalse(response.complete, "a truncated body is never passed off as whole")
        self.assertEqual(bytes(response.body), b"first")
        self.assert_closed(sock)

    def test_content_length_with_transfer_encoding_is_502(self):
        sock = self.visitor()
        response = self.ask(sock, "/length-and-chunked")
        self.assertEqual(response.status, 502)
        self.assertNotIn(b"SMUGGLED", bytes(response.body))
        self.assert_closed(sock)

    def test_a_malformed_chunk_cuts_the_visitor(self):
        sock = self.visitor()
        sock.sendall(f"GET /bad-chunk HTTP/1.1\r\nHost: {self.relay.host('desync')}\r\n\r\n".encode())
        response = harness.HttpResponse(sock)
        response.read_all()
        self.assertEqual(response.status, 200)
        self.assertFalse(response.complete)
        self.assertIn(bytes(response.body), (b"", b"first"), "nothing past the bad chunk")
        self.assert_closed(sock)

    def test_a_service_that_never_answers_gets_504(self):
        sock = self.visitor()
        response = self.ask(sock, "/silent")
        self.assertEqual(response.status, 504)
        self.assert_closed(sock)

    def test_z_the_tunnel_still_serves(self):
        r = self.relay.curl("desync", "/plain")
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.body.startswith(b"fresh:/plain:"))


if __name__ == "__main__":
    unittest.main()
