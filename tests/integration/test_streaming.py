"""Streaming through the relay: server-sent events arrive as they are sent (never buffered
until the response ends), and a WebSocket upgrade becomes a two-way byte pipe.

The SSE assertions are about arrival order, not speed: the backend holds the stream open
for 2 s between two events and records when it sent the second; the first event must reach
the visitor more than 1 s before that moment."""

import base64
import os
import time
import unittest
import uuid

import harness

HOLD = 2.0


class Streaming(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls)
        cls.backend = harness.class_backend(cls)
        cls.pub, cls.url = harness.publish_and_wait(cls.relay, f"stream:80:localhost:{cls.backend.port}")

    def _sse(self, framing):
        sid = uuid.uuid4().hex
        sock = self.relay.tls("stream", timeout=15)
        self.addCleanup(sock.close)
        host = f"stream.tg.test:{self.relay.https_port}"
        sock.sendall(f"GET /sse?id={sid}&hold={HOLD}&framing={framing} HTTP/1.1\r\nHost: {host}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        resp = harness.HttpResponse(sock).read_head()
        self.assertEqual(resp.status, 200, resp.header_list)
        self.assertIn("text/event-stream", resp.headers.get("content-type", ""))
        received, first_at = b"", None
        for piece in resp.iter_body():
            received += piece
            if first_at is None and b"data: first\n\n" in received:
                first_at = time.monotonic()
        self.assertEqual(received, b"data: first\n\ndata: second\n\n")
        self.assertTrue(resp.complete, "the stream ended without its end marker")
        second_sent = self.backend.sse_times[sid]["second_sent"]
        self.assertLess(first_at, second_sent - 1.0,
                        f"first event arrived {first_at - second_sent:+.3f} s relative to the backend sending "
                        "the second one: the relay held it back")

    def test_sse_first_event_arrives_while_stream_is_open(self):
        self._sse("chunked")

    def test_sse_close_delimited_stream(self):
        # A response with neither Content-Length nor chunked ends when the backend closes.
        self._sse("close")

    def test_websocket_echo(self):
        sock = self.relay.tls("stream", timeout=15)
        self.addCleanup(sock.close)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ws HTTP/1.1\r\nHost: stream.tg.test:{self.relay.https_port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = harness.HttpResponse(sock).read_head()
        self.assertEqual(resp.status, 101, resp.header_list)
        self.assertEqual(resp.headers.get("sec-websocket-accept"), harness.ws_accept(key))
        self.assertEqual(resp.headers.get("upgrade", "").lower(), "websocket")
        read_exact = harness.sock_read_exact(sock, resp.buf)
        sock.sendall(harness.ws_frame(0x1, b"ping-123", mask=True))
        self.assertEqual(harness.ws_read_frame(read_exact), (0x1, b"ping-123"))
        big = os.urandom(200_000)  # several TLS records and SSH packets in one frame
        sock.sendall(harness.ws_frame(0x2, big, mask=True))
        self.assertEqual(harness.ws_read_frame(read_exact), (0x2, big))
        sock.sendall(harness.ws_frame(0x8, b"\x03\xe8", mask=True))
        self.assertEqual(harness.ws_read_frame(read_exact)[0], 0x8)


if __name__ == "__main__":
    unittest.main()
