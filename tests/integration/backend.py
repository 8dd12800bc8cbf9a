"""The service a publisher publishes in the end-to-end tests: a small HTTP/1.1 server on
127.0.0.1 with the endpoints the tests need, recording every request head it parses.

Endpoints (the first path segment picks one; /hello/anything is /hello):
  GET  /hello       "hello from backend" with Content-Length
  GET  /whoami      the backend's label (tests with several backends tell them apart)
  POST /echo        the request body back, plus x-seen-host, x-seen-xff, x-seen-xfp, x-seen-xfh
                    (Host, X-Forwarded-For/-Proto/-Host as received), x-seen-te, x-seen-cl
  POST /sha256      hex SHA-256 of the body (Content-Length or chunked, read streaming)
  GET  /bytes?n=N   pattern_bytes(N) with Content-Length
  GET  /chunked?n=N the same with chunked encoding, uneven chunk sizes
  GET  /sse         "data: first", the stream held open, "data: second"; send times recorded
  GET  /ws          WebSocket upgrade, then every frame echoed
  GET  /slow-half   100000 bytes promised, 50000 sent, then silence
  GET  /with-header?name=N&value=V  "ok", with the response header N: V

Standard library only (http.server's ThreadingHTTPServer in a thread).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import os
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Iterator

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@functools.lru_cache(maxsize=8)
def pattern_bytes(n: int) -> bytes:
    """n deterministic bytes: the SHAKE-256 stream of a fixed seed (no period, so a dropped or
    repeated block anywhere changes the digest)."""
    return hashlib.shake_256(b"tunnelgate integration test stream").digest(n)



# --------------------------------------------------------------------------------------------
# WebSocket frames (RFC 6455), just what the echo test needs


def ws_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_frame(opcode: int, payload: bytes, mask: bool) -> bytes:
    head = bytearray([0x80 | opcode])
    mask_bit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head.append(mask_bit | n)
    elif n < 65536:
        head.append(mask_bit | 126)
        head += n.to_bytes(2, "big")
    else:
        head.append(mask_bit | 127)
        head += n.to_bytes(8, "big")
    if mask:
        key = os.urandom(4)
        head += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes(head) + payload


def ws_read_frame(read_exact: Callable[[int], bytes]) -> tuple[int, bytes]:
    """(opcode, unmasked payload) of one frame; `read_exact(n)` returns exactly n bytes or raises."""
    b0, b1 = read_exact(2)
    opcode = b0 & 0x0F
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(read_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(read_exact(8), "big")
    key = read_exact(4) if b1 & 0x80 else None
    payload = read_exact(n) if n else b""
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return opcode, payload


# --------------------------------------------------------------------------------------------
# The backend: what the publisher publishes


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() when the head was parsed


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tg-test-backend"

    def log_message(self, *args) -> None:  # keep test output readable
        pass

    @property
    def backend(self) -> "Backend":
        return self.server.backend  # type: ignore[attr-defined]

    # -- request bodies

    def iter_request_body(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                line = self.rfile.readline(1024)
                if not line.endswith(b"\n"):
                    raise ConnectionError("bad chunk size line")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ConnectionError(f"bad chunk size line {line!r}") from None
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    piece = self.rfile.read(min(left, 1 << 16))
                    if not piece:
                        raise ConnectionError("body cut short")
                    left -= len(piece)
                    yield piece
                self.rfile.readline(8)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                piece = self.rfile.read(min(left, 1 << 16))
                if not piece:
                    raise ConnectionError("body cut short")
                left -= len(piece)
                yield piece

    def read_request_body(self) -> bytes:
        return b"".join(self.iter_request_body())

    # -- responses

    def send_simple(self, status: int, body: bytes, content_type: str = "text/plain",
                    extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _route(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.backend._record(SeenRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                         time.monotonic()))
        first = "/" + url.path.lstrip("/").split("/", 1)[0]
        handler = getattr(self, "ep_" + first.strip("/").replace("-", "_"), None) if first != "/" else None
        try:
            (handler or self.not_found)(query)
        except ConnectionError:  # a malformed or cut request body: drop the connection
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _route

    # -- endpoints

    def not_found(self, query) -> None:
        self.read_request_body()
        self.send_simple(404, b"no such backend endpoint\n")

    def ep_hello(self, query) -> None:
        self.read_request_body()
        self.send_simple(200, self.backend.hello_body)

    def ep_whoami(self, query) -> None:
        self.read_request_body()
        self.send_simple(200, self.backend.label.encode())

    def ep_echo(self, query) -> None:
        body = self.read_request_body()
        seen = {"x-seen-host": "host", "x-seen-xff": "x-forwarded-for", "x-seen-xfp": "x-forwarded-proto",
                "x-seen-xfh": "x-forwarded-host", "x-seen-te": "transfer-encoding",
                "x-seen-cl": "content-length", "x-seen-method": None}
        extra = {}
        for out, name in seen.items():
            value = self.command if name is None else self.headers.get(name)
            if value is not None:
                extra[out] = value
        self.send_simple(200, body, "application/octet-stream", extra)

    def ep_with_header(self, query) -> None:
        self.read_request_body()
        self.send_simple(200, b"ok", extra={query["name"]: query["value"]})

    def ep_sha256(self, query) -> None:
        h = hashlib.sha256()
        n = 0
        for piece in self.iter_request_body():
            h.update(piece)
            n += len(piece)
        self.send_simple(200, h.hexdigest().encode(), extra={"x-body-length": str(n)})

    def ep_bytes(self, query) -> None:
        self.read_request_body()
        data = pattern_bytes(int(query.get("n", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        view = memoryview(data)
        for i in range(0, len(data), 1 << 16):
            self.wfile.write(view[i:i + (1 << 16)])

    def ep_chunked(self, query) -> None:
        self.read_request_body()
        data = pattern_bytes(int(query.get("n", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sizes = (1, 7, 100, 4096, 16384, 65536, 3)  # uneven chunk sizes on purpose
        i = k = 0
        while i < len(data):
            piece = data[i:i + sizes[k % len(sizes)]]
            self.write_chunk(piece)
            i += len(piece)
            k += 1
        self.wfile.write(b"0\r\n\r\n")

    def ep_sse(self, query) -> None:
        """Event "first" at once, the stream held open `hold` seconds, then "second" and end.
        ?id=X names the stream in backend.sse_times; ?framing=close delimits by close instead
        of chunked encoding."""
        self.read_request_body()
        stream_id, hold = query.get("id", "sse"), float(query.get("hold", "2"))
        chunked = query.get("framing", "chunked") == "chunked"
        times = self.backend.sse_times.setdefault(stream_id, {})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        send = self.write_chunk if chunked else (lambda d: (self.wfile.write(d), self.wfile.flush()))
        times["first_sent"] = time.monotonic()
        send(b"data: first\n\n")
        self.backend.stop_event.wait(hold)
        times["second_sent"] = time.monotonic()
        send(b"data: second\n\n")
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def ep_ws(self, query) -> None:
        """WebSocket upgrade, then echo every data frame until a close frame."""
        key = self.headers.get("Sec-WebSocket-Key")
        if "websocket" not in self.headers.get("Upgrade", "").lower() or not key:
            self.send_simple(400, b"not a websocket upgrade\n")
            return
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", ws_accept(key))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

        def read_exact(n: int) -> bytes:
            data = self.rfile.read(n)
            if len(data) != n:
                raise ConnectionError("closed inside a frame")
            return data
        try:
            while True:
                opcode, payload = ws_read_frame(read_exact)
                self.backend.ws_frames.append((opcode, payload))
                if opcode == 0x8:
                    self.wfile.write(ws_frame(0x8, payload[:2], mask=False))
                    self.wfile.flush()
                    return
                if opcode == 0x9:
                    self.wfile.write(ws_frame(0xA, payload, mask=False))
                else:
                    self.wfile.write(ws_frame(opcode, payload, mask=False))
                self.wfile.flush()
        except (ConnectionError, OSError):
            return

    def ep_slow(self, query) -> None:
        """Answers after `ms` milliseconds (default 1500): an in-flight request for drains."""
        self.read_request_body()
        time.sleep(int(query.get("ms", "1500")) / 1000)
        body = b"slow and complete"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def ep_slow_half(self, query) -> None:
        """Headers promising 100000 bytes, the first 50000, then nothing for up to 30 s (or
        until the backend closes): for cutting the tunnel mid-response."""
        self.read_request_body()
        total = 100000
        data = pattern_bytes(total)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        self.wfile.write(data[:total // 2])
        self.wfile.flush()
        self.backend.slow_half_sent.set()
        if self.backend.stop_event.wait(30):
            self.close_connection = True
            return
        try:
            self.wfile.write(data[total // 2:])
        except OSError:
            pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class Backend:
    """The service behind a tunnel: an HTTP/1.1 server on 127.0.0.1 in a thread.

    GET /hello[/...] → "hello from backend"; GET /whoami → the label; POST /echo → the body,
    with x-seen-host, x-seen-xff, x-seen-xfp, x-seen-xfh (Host and X-Forwarded-For/-Proto/
    -Host as received); POST /sha256 → hex digest of the body; GET /bytes?n=N and
    /chunked?n=N → pattern_bytes(N) with Content-Length or chunked; GET /sse; GET /ws;
    GET /slow-half. `requests` holds every request head seen."""

    def __init__(self, label: str = "backend"):
        self.label = label
        self.hello_body = b"hello from backend"
        self.requests: list[SeenRequest] = []
        self.sse_times: dict[str, dict[str, float]] = {}
        self.ws_frames: list[tuple[int, bytes]] = []
        self.stop_event = threading.Event()
        self.slow_half_sent = threading.Event()
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.backend = self  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def _record(self, req: SeenRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def seen(self, path_part: str) -> list[SeenRequest]:
        """Requests whose path contains `path_part`."""
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    @property
    def target(self) -> str:
        return f"localhost:{self.port}"

    def close(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RawService:
    """A raw TCP service on 127.0.0.1 for tests that need exact bytes or a misbehaving peer:
    numbers its connections from 1 and runs `serve(conn, number)` for each in a thread (the
    subclass reads and writes the socket itself; the connection is closed when it returns).
    `seen` holds (connection number, path) pairs the subclass records with `record`."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.seen: list[tuple[int, str]] = []
        self.connections: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def serve(self, conn: socket.socket, number: int) -> None:
        raise NotImplementedError

    def record(self, number: int, path: str) -> None:
        with self.lock:
            self.seen.append((number, path))

    def connection_of(self, path: str) -> int:
        with self.lock:
            return next(number for number, seen in self.seen if seen == path)

    def paths(self) -> list[str]:
        with self.lock:
            return [path for _, path in self.seen]

    def _accept(self) -> None:
        number = 0
        while not self.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            number += 1
            with self.lock:
                self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        try:
            self.serve(conn, number)
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        with self.lock:
            for conn in self.connections:
                try:
                    conn.close()
                except OSError:
                    pass
