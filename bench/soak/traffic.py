"""The soak's visitors: bounded loops of keep-alive requests, SSE streams, WebSockets and
100 MiB uploads and downloads over TLS to the relay, each outcome written to the ledger.

Every loop paces itself (sleeps between requests, one stream or socket at a time per loop,
one transfer at a time per direction), so the load is modest and fixed whatever the relay's
speed: this is a soak, not a throughput test. Each answer must name the tunnel it was asked
of (the backend echoes X-Forwarded-Host) and carry exactly the bytes sent or expected.
"""
import asyncio
import json
import os
import random
import ssl
import zlib

from ledger import now
from payload import BLOCK, MAX_HEAD, frame_head, payload_crc32, read_frame, xor_mask

READ_TIMEOUT_S = 30  # no byte for this long is a failure (the relay's own timers are longer)


class Failure(Exception):
    pass


class Visitors:
    def __init__(self, args, ledger, https_port, ca_file, stable, flapping):
        self.args = args
        self.ledger = ledger
        self.port = https_port
        self.stable = stable
        self.flapping = flapping
        self.stopping = False
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.download_crc = payload_crc32(args.transfer_bytes)

    # -- plumbing ----------------------------------------------------------------------------

    def pick(self):
        """A tunnel: mostly the steady ones, `flap_share` of the time one that is dropped."""
        if self.flapping and random.random() < self.args.flap_share:
            return random.choice(self.flapping)
        return random.choice(self.stable)

    def host(self, name):
        return f"{name}.{self.args.domain}"

    async def connect(self, name):
        try:
            return await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", self.port, ssl=self.ctx, server_hostname=self.host(name),
                limit=MAX_HEAD * 4), READ_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
            raise Failure(f"connect: {type(e).__name__}: {e}") from None

    async def timed(self, coro):
        try:
            return await asyncio.wait_for(coro, READ_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise Failure(f"no byte for {READ_TIMEOUT_S} s") from None
        except asyncio.IncompleteReadError:
            raise Failure("connection closed early") from None
        except asyncio.LimitOverrunError:
            raise Failure("answer head too long") from None
        except (OSError, ssl.SSLError) as e:
            raise Failure(f"{type(e).__name__}: {e}") from None

    async def read_head(self, reader):
        raw = await self.timed(reader.readuntil(b"\r\n\r\n"))
        lines = raw.decode("latin-1").split("\r\n")[:-2]
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise Failure(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers

    async def read_body(self, reader, headers, on_data=None):
        """The body (Content-Length or chunked); with on_data, each piece goes there instead."""
        pieces = []
        take = on_data or pieces.append
        if "content-length" in headers:
            left = int(headers["content-length"])
            while left > 0:
                data = await self.timed(reader.read(min(left, 1 << 20)))
                if not data:
                    raise Failure(f"body cut short, {left} bytes missing")
                left -= len(data)
                take(data)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                line = await self.timed(reader.readuntil(b"\r\n"))
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    await self.timed(reader.readuntil(b"\r\n"))
                    break
                take(await self.timed(reader.readexactly(size)))
                await self.timed(reader.readexactly(2))
        return b"".join(pieces)

    def request(self, method, name, path, body=b"", extra=""):
        return (f"{method} {path} HTTP/1.1\r\nHost: {self.host(name)}:{self.port}\r\n"
                f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body

    def check_host(self, name, answer_host):
        if answer_host.split(":")[0] != self.host(name):
            raise Failure(f"answer from {answer_host!r}, asked {self.host(name)!r}")

    async def run_op(self, kind, name, op):
        """Runs one operation and records its outcome."""
        start = now()
        try:
            detail = await op
            self.ledger.record(kind, name, start, True, detail or "")
        except Failure as e:
            self.ledger.record(kind, name, start, False, str(e))
        except (ValueError, KeyError, TypeError) as e:  # a malformed answer (bad JSON, chunk …)
            self.ledger.record(kind, name, start, False, f"malformed: {type(e).__name__}: {e}")

    @staticmethod
    def close(writer):
        writer.transport.abort()

    # -- keep-alive requests -----------------------------------------------------------------

    async def keepalive_loop(self):
        while not self.stopping:
            name = self.pick()
            start = now()
            try:
                reader, writer = await self.connect(name)
            except Failure as e:
                self.ledger.record("request", name, start, False, str(e))
                await asyncio.sleep(1)
                continue
            try:
                for _ in range(random.randint(1, self.args.requests_per_connection)):
                    if self.stopping:
                        break
                    ok = await self.one_request(name, reader, writer)
                    if not ok:
                        break
                    await asyncio.sleep(random.uniform(0.5, 1.5) / self.args.request_rate)
            finally:
                self.close(writer)

    async def one_request(self, name, reader, writer):
        start = now()
        body = os.urandom(random.randint(0, 2048)).hex().encode() if random.random() < 0.5 else b""
        method = "POST" if body else "GET"
        try:
            writer.write(self.request(method, name, "/ka", body))
            status, headers = await self.read_head(reader)
            answer = await self.read_body(reader, headers)
            if status != 200:
                raise Failure(f"status {status}: {answer[:200]!r}")
            doc = json.loads(answer)
            self.check_host(name, doc["host"])
            if doc["n"] != len(body):
                raise Failure(f"backend read {doc['n']} body bytes of {len(body)}")
            self.ledger.record("request", name, start, True)
            return True
        except Failure as e:
            self.ledger.record("request", name, start, False, str(e))
            return False
        except (ValueError, KeyError, TypeError) as e:
            self.ledger.record("request", name, start, False,
                               f"malformed: {type(e).__name__}: {e}")
            return False

    # -- server-sent events ------------------------------------------------------------------

    async def sse_loop(self):
        while not self.stopping:
            name = self.pick()
            events = random.randint(self.args.sse_events // 2, self.args.sse_events)
            await self.run_op("sse", name, self.one_stream(name, events))
            await asyncio.sleep(random.uniform(0, 1))

    async def one_stream(self, name, events):
        reader, writer = await self.connect(name)
        try:
            writer.write(self.request("GET", name, f"/sse?events={events}&ms=1000",
                                      extra="Accept: text/event-stream\r\n"))
            status, headers = await self.read_head(reader)
            if status != 200 or "text/event-stream" not in headers.get("content-type", ""):
                raise Failure(f"status {status}, {headers.get('content-type')!r}")
            buffer, expected = b"", 0

            def on_data(data):
                nonlocal buffer, expected
                buffer += data
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    fields = dict(line.split(": ", 1) for line in event.decode().split("\n"))
                    if fields.get("event") == "end":
                        continue
                    host, seq = fields["data"].rsplit(" ", 1)
                    self.check_host(name, host)
                    if int(seq) != expected:
                        raise Failure(f"event {seq} where {expected} was due")
                    expected += 1
                    self.ledger.add("sse_events")

            await self.read_body(reader, headers, on_data)
            if expected != events:
                raise Failure(f"stream ended after {expected} of {events} events")
            return f"{events} events"
        finally:
            self.close(writer)

    # -- WebSockets --------------------------------------------------------------------------

    async def websocket_loop(self):
        while not self.stopping:
            name = self.pick()
            messages = random.randint(self.args.ws_messages // 2, self.args.ws_messages)
            await self.run_op("websocket", name, self.one_websocket(name, messages))
            await asyncio.sleep(random.uniform(0, 1))

    async def one_websocket(self, name, messages):
        reader, writer = await self.connect(name)
        try:
            key = "dGhlIHNhbXBsZSBub25jZQ=="
            writer.write(self.request("GET", name, "/ws", extra=(
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")))
            status, headers = await self.read_head(reader)
            if status != 101:
                raise Failure(f"status {status} to the upgrade")
            for _ in range(messages):
                message = os.urandom(random.randint(1, 4096))
                mask = os.urandom(4)
                writer.write(frame_head(2, len(message), masked=True) + mask +
                             xor_mask(message, mask))
                opcode, echo = await self.timed(read_frame(reader))
                if opcode != 2 or echo != message:
                    raise Failure(f"echo differs (opcode {opcode}, {len(echo)} bytes of "
                                  f"{len(message)})")
                self.ledger.add("ws_messages")
                await asyncio.sleep(1)
            mask = os.urandom(4)
            writer.write(frame_head(8, 2, masked=True) + mask + xor_mask(b"\x03\xe8", mask))
            opcode, _ = await self.timed(read_frame(reader))
            if opcode != 8:
                raise Failure(f"opcode {opcode} where the close was due")
            return f"{messages} messages"
        finally:
            self.close(writer)

    # -- 100 MiB transfers -------------------------------------------------------------------

    async def transfer_loop(self, direction):
        """One transfer every `transfer_every` seconds (or back to back when one takes longer)."""
        op = self.upload if direction == "upload" else self.download
        while not self.stopping:
            started = now()
            name = self.pick()
            await self.run_op(direction, name, op(name))
            await self.pause(self.args.transfer_every - (now() - started))

    async def pause(self, seconds):
        end = now() + seconds
        while not self.stopping and now() < end:
            await asyncio.sleep(min(1, end - now()))

    async def upload(self, name):
        size = self.args.transfer_bytes
        reader, writer = await self.connect(name)
        try:
            writer.write((f"POST /upload HTTP/1.1\r\nHost: {self.host(name)}:{self.port}\r\n"
                          f"Content-Type: application/octet-stream\r\n"
                          f"Content-Length: {size}\r\n\r\n").encode())
            left = size
            while left > 0:
                piece = BLOCK if left >= len(BLOCK) else BLOCK[:left]
                writer.write(piece)
                left -= len(piece)
                await self.timed(writer.drain())
            status, headers = await self.read_head(reader)
            answer = await self.read_body(reader, headers)
            if status != 200:
                raise Failure(f"status {status}: {answer[:200]!r}")
            doc = json.loads(answer)
            self.check_host(name, doc["host"])
            if doc["bytes"] != size or doc["crc32"] != payload_crc32(size):
                raise Failure(f"backend received {doc['bytes']} bytes (crc {doc['crc32']:08x})")
            self.ledger.add("bytes_up", size)
            return f"{size} bytes"
        finally:
            self.close(writer)

    async def download(self, name):
        size = self.args.transfer_bytes
        reader, writer = await self.connect(name)
        try:
            writer.write(self.request("GET", name, f"/download?bytes={size}"))
            status, headers = await self.read_head(reader)
            if status != 200:
                raise Failure(f"status {status}")
            crc, got = 0, 0

            def on_data(data):
                nonlocal crc, got
                crc = zlib.crc32(data, crc)
                got += len(data)

            await self.read_body(reader, headers, on_data)
            if got != size or crc != self.download_crc:
                raise Failure(f"received {got} bytes of {size} (crc {crc:08x})")
            self.ledger.add("bytes_down", size)
            return f"{size} bytes"
        finally:
            self.close(writer)

    # -- all of it ---------------------------------------------------------------------------

    def tasks(self):
        a = self.args
        coros = [self.keepalive_loop() for _ in range(a.keepalive)]
        coros += [self.sse_loop() for _ in range(a.sse)]
        coros += [self.websocket_loop() for _ in range(a.websockets)]
        if a.transfer_every > 0:
            coros += [self.transfer_loop("upload"), self.transfer_loop("download")]
        return [asyncio.ensure_future(c) for c in coros]
