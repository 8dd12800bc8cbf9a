"""Request and response framing across keep-alive exchanges, HTTP/1.0 visitors, request
trailers and bodies on GET and HEAD, with exact bytes on both sides.

- An error found in a request that follows a kept-alive exchange (pipelined, or sent after
  the last response) is answered with its status after every response already produced,
  then the connection closes.
- An HTTP/1.0 visitor never gets a 1xx, nor a transfer coding: a chunked response reaches it
  decoded and delimited by closing (RFC 9112 6.1).
- A chunked request's trailer fields never reach the service: the body ends with the last
  chunk and an empty trailer section.
- A GET or HEAD with a body is refused (400) before a byte reaches the service, unless
  `[limits] allow_get_head_bodies` is set.

The service here is a raw TCP server that records every byte it receives per connection and
never reads the body of a GET or HEAD (like many small servers): if such a body reached it,
a request hidden in it would run."""

import socket
import unittest

import harness

HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
CHUNKED_REPLY = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n")
TRAILERS = (b"X-Forwarded-For: 6.6.6.6\r\nX-Tunnelgate-Assertion: forged.jwt.value\r\n"
            b"Forwarded: for=6.6.6.6\r\nHost: evil.example\r\nContent-Length: 9\r\n"
            b"Transfer-Encoding: chunked\r\nX-Harmless: trailer-value\r\n")
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"


class RecordingService(harness.RawService):
    """A raw HTTP/1.1 service. Records (connection number, request path) for every head it
    parses and every byte received per connection. Reads the body of requests other than GET
    and HEAD (Content-Length or chunked, trailers included), never that of a GET or HEAD.
    Answers /early-hints with a 103 before its 200, /chunked-reply with CHUNKED_REPLY (whatever
    the request's version, as a careless service would), anything else with
    `seen:<path>:<connection>` and a Content-Length."""

    def __init__(self):
        self.received: dict[int, bytearray] = {}
        super().__init__()

    def serve(self, conn: socket.socket, number: int):
        buf = bytearray()
        with self.lock:
            self.received[number] = bytearray()

        def fill():
            data = conn.recv(65536)
            if not data:
                raise ConnectionError("closed")
            with self.lock:
                self.received[number] += data
            buf.extend(data)

        def line():
            while b"\r\n" not in buf:
                fill()
            i = buf.index(b"\r\n")
            out = bytes(buf[:i])
            del buf[:i + 2]
            return out

        def take(n):
            while len(buf) < n:
                fill()
            del buf[:n]

        while True:
            while b"\r\n\r\n" not in buf:
                fill()
            end = buf.index(b"\r\n\r\n")
            head = bytes(buf[:end]).decode("iso-8859-1")
            del buf[:end + 4]
            request_line, *fields = head.split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
            self.record(number, path)
            if method not in ("GET", "HEAD"):
                if "chunked" in headers.get("transfer-encoding", ""):
                    while (size := int(line().split(b";")[0], 16)) != 0:
                        take(size + 2)
                    while line() != b"":
                        pass
                else:
                    take(int(headers.get("content-length", "0")))
            if path == "/early-hints":
                conn.sendall(HINTS + b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhinted")
            elif path == "/chunked-reply":
                conn.sendall(CHUNKED_REPLY)
            else:
                body = f"seen:{path}:{number}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    def bytes_of(self, path: str) -> bytes:
        """Everything received on the connection that carried `path`."""
        number = self.connection_of(path)
        with self.lock:
            return bytes(self.received[number])


def read_responses(sock, count: int) -> tuple[list[harness.HttpResponse], bytearray]:
    """Reads `count` responses in a row from one connection; returns them and the bytes read
    past the last one."""
    responses, leftover = [], bytearray()
    for _ in range(count):
        response = harness.HttpResponse(sock)
        response.buf = leftover
        response.read_all()
        responses.append(response)
        leftover = response.buf
    return responses, leftover


class FramingCase(unittest.TestCase):
    NAME = "framing"
    EXTRA_CONFIG = ""

    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, extra_config=cls.EXTRA_CONFIG)
        cls.service = RecordingService()
        cls.addClassCleanup(cls.service.close)
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"{cls.NAME}:80:localhost:{cls.service.port}")

    def visitor(self):
        sock = self.relay.tls(self.NAME)
        self.addCleanup(sock.close)
        return sock

    def get(self, path: str, version: str = "1.1", fields: str = "") -> bytes:
        return f"GET {path} HTTP/{version}\r\nHost: {self.relay.host(self.NAME)}\r\n{fields}\r\n".encode()

    def assert_answered_then_closed(self, sock, leftover: bytearray, status: int):
        """The next bytes are one whole response with `status`, then the connection closes."""
        response = harness.HttpResponse(sock)
        response.buf = leftover
        response.read_all()
        self.assertEqual(response.status, status, bytes(response.body))
        self.assertTrue(response.complete, "the error response arrives whole")
        self.assertEqual(response.headers.get("connection"), "close")
        rest, closed = harness.read_until_closed(sock, 10)
        self.assertTrue(closed, "the connection closes after the error")
        self.assertEqual(bytes(response.buf) + rest, b"", "nothing follows the error response")


class ErrorsAfterKeepAlive(FramingCase):
    NAME = "keepalive"

    def test_pipelined_requests_then_a_malformed_one(self):
        sock = self.visitor()
        paths = [f"/pipelined/{i}" for i in range(5)]
        bad = f"GET /pipelined/bad HTTP/1.1\r\nHost: {self.relay.host(self.NAME)}\r\nBad Name: x\r\n\r\n"
        sock.sendall(b"".join(self.get(path) for path in paths) + bad.encode())
        responses, leftover = read_responses(sock, 5)
        for path, response in zip(paths, responses):
            self.assertEqual(response.status, 200)
            self.assertTrue(response.complete, path)
            self.assertTrue(bytes(response.body).startswith(f"seen:{path}:".encode()), bytes(response.body))
        self.assert_answered_then_closed(sock, leftover, 400)
        self.assertNotIn("/pipelined/bad", self.service.paths())

    def test_an_error_in_the_request_after_a_response(self):
        host = self.relay.host(self.NAME)
        cases = {
            "bad request line": (f"GET  /after HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(), 400),
            "HTTP/2.0": (f"GET /after HTTP/2.0\r\nHost: {host}\r\n\r\n".encode(), 505),
            "bare LF": (f"GET /after HTTP/1.1\nHost: {host}\n\n".encode(), 400),
            "head over 16 KiB": (f"GET /after HTTP/1.1\r\nHost: {host}\r\nX-Big: {'a' * 20000}\r\n\r\n".encode(),
                                 431),
        }
        for what, (raw, status) in cases.items():
            with self.subTest(what):
                sock = self.visitor()
                sock.sendall(self.get(f"/first/{what.replace(' ', '-')}"))
                (first,), leftover = read_responses(sock, 1)
                self.assertEqual((first.status, first.complete), (200, True))
                sock.sendall(raw)
                self.assert_answered_then_closed(sock, leftover, status)
        self.assertNotIn("/after", self.service.paths())


class Http10Visitors(FramingCase):
    NAME = "oldclient"

    def read_to_close(self, raw: bytes) -> tuple[bytes, bytes]:
        sock = self.visitor()
        sock.sendall(raw)
        data, closed = harness.read_until_closed(sock, 10)
        self.assertTrue(closed, f"the relay did not close after the response: {data[:300]!r}")
        head, _, body = data.partition(b"\r\n\r\n")
        return head, body

    def test_no_interim_response_reaches_an_http10_visitor(self):
        head, body = self.read_to_close(self.get("/early-hints", "1.0"))
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertNotIn(b"103", head)
        self.assertEqual(body, b"hinted")
        r = self.relay.curl(self.NAME, "/early-hints", extra=["--http1.0"])
        self.assertEqual((r.returncode, r.status, r.body), (0, 200, b"hinted"), r.describe())
        self.assertNotIn("103", r.header_text)
        # An HTTP/1.1 visitor still gets them.
        r = self.relay.curl(self.NAME, "/early-hints")
        self.assertEqual((r.status, r.body), (200, b"hinted"), r.describe())
        self.assertIn("HTTP/1.1 103", r.header_text)

    def test_a_chunked_response_reaches_an_http10_visitor_decoded_and_close_delimited(self):
        head, body = self.read_to_close(self.get("/chunked-reply", "1.0", "Connection: keep-alive\r\n"))
        fields = head.lower()
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertNotIn(b"transfer-encoding", fields)
        self.assertNotIn(b"content-length", fields)
        self.assertIn(b"\r\nconnection: close", fields)
        self.assertEqual(body, b"hello world", "the body decoded, trailers dropped, ended by the close")
        r = self.relay.curl(self.NAME, "/chunked-reply", extra=["--http1.0"])
        self.assertEqual((r.returncode, r.status, r.body), (0, 200, b"hello world"), r.describe())
        self.assertNotIn("transfer-encoding", r.header_text.lower())
        # An HTTP/1.1 visitor still gets the chunked response as it was framed.
        sock = self.visitor()
        sock.sendall(self.get("/chunked-reply"))
        (response,), _ = read_responses(sock, 1)
        self.assertEqual(response.headers.get("transfer-encoding"), "chunked")
        self.assertEqual((bytes(response.body), response.complete), (b"hello world", True))


class RequestTrailers(FramingCase):
    NAME = "trailers"

    def test_trailer_fields_never_reach_the_service(self):
        sock = self.visitor()
        body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n" + TRAILERS + b"\r\n"
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: {self.relay.host(self.NAME)}\r\n"
                     "Transfer-Encoding: chunked\r\nTrailer: X-Forwarded-For\r\n\r\n".encode() + body)
        # A second request on the same connection: the body's end was framed right.
        sock.sendall(self.get("/upload-next"))
        (first, second), _ = read_responses(sock, 2)
        self.assertEqual((first.status, second.status), (200, 200))
        received = self.service.bytes_of("/upload")
        head, _, forwarded_body = received.partition(b"\r\n\r\n")
        self.assertTrue(forwarded_body.startswith(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /upload-next "),
                        forwarded_body)
        for claim in (b"6.6.6.6", b"forged.jwt.value", b"evil.example", b"X-Harmless", b"Content-Length: 9"):
            self.assertNotIn(claim, received)
        self.assertNotIn(b"trailer:", head.lower(), "the Trailer field announcing them is dropped too")


class BodiesOnGetAndHead(FramingCase):
    NAME = "getbody"

    def test_a_get_with_a_body_is_refused_before_anything_reaches_the_service(self):
        host = self.relay.host(self.NAME)
        cases = {
            "GET with Content-Length": (f"GET /public-cl HTTP/1.1\r\nHost: {host}\r\n"
                                        f"Content-Length: {len(SMUGGLED)}\r\n\r\n").encode() + SMUGGLED,
            "HEAD with Content-Length": (f"HEAD /public-head HTTP/1.1\r\nHost: {host}\r\n"
                                         f"Content-Length: {len(SMUGGLED)}\r\n\r\n").encode() + SMUGGLED,
            "chunked GET": (f"GET /public-chunked HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
                            f"{len(SMUGGLED):x}\r\n").encode() + SMUGGLED + b"\r\n0\r\n\r\n",
        }
        for what, raw in cases.items():
            with self.subTest(what):
                sock = self.visitor()
                sock.sendall(raw)
                self.assert_answered_then_closed(sock, bytearray(), 400)
        self.assertIsNotNone(self.relay.wait_for_log(
            {"event": "request_refused", "reason": "body_on_get_head", "path": "/public-cl"}, 5))
        paths = self.service.paths()
        for path in ("/public-cl", "/public-head", "/public-chunked", "/smuggled"):
            self.assertNotIn(path, paths)
        # A stated length of zero is no body: served.
        sock = self.visitor()
        sock.sendall(self.get("/empty-length", fields="Content-Length: 0\r\n"))
        (response,), _ = read_responses(sock, 1)
        self.assertEqual(response.status, 200)
        self.assertTrue(bytes(response.body).startswith(b"seen:/empty-length:"))


class BodiesOnGetAndHeadAllowed(unittest.TestCase):
    """With `allow_get_head_bodies = true` the body is forwarded, framed by the relay."""

    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, extra_config="\n[limits]\nallow_get_head_bodies = true\n")
        cls.backend = harness.class_backend(cls)
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"getallowed:80:localhost:{cls.backend.port}")

    def test_the_body_reaches_the_service(self):
        r = self.relay.curl("getallowed", "/echo/get-body", method="GET", data=b"a body on a GET")
        self.assertEqual((r.status, r.body), (200, b"a body on a GET"), r.describe())
        self.assertEqual(r.headers.get("x-seen-method"), "GET")
        self.assertEqual(r.headers.get("x-seen-cl"), "15")


if __name__ == "__main__":
    unittest.main()
