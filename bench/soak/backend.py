#!/usr/bin/env python3
"""The soak's local service: what every tunnel's -R target answers (standard library only).

  backend.py PORT

One asyncio process on 127.0.0.1:PORT, HTTP/1.1 with keep-alive. tunnelgate-load splices each
forwarded channel of its 1,000 tunnels to it (--backend-url) and the stock `ssh -R`
publishers forward to it, so every tunnel reaches the same service. Each answer names the
tunnel it came through (the X-Forwarded-Host the relay set), so a visitor can tell a
misrouted answer from a right one.

  GET|POST /ka                  a small JSON answer: {"host": X-Forwarded-Host, "n": body bytes}
  GET /sse?events=N&ms=I        text/event-stream, chunked: events "id: k / data: HOST k" every
                                I ms, then "event: end"
  GET /ws (Upgrade: websocket)  101, then every data frame echoed back; a close is answered
  POST /upload                  reads the body (Content-Length), answers {"bytes", "crc32"}
  GET /download?bytes=N         N bytes of payload(N), Content-Length framing
"""
import asyncio
import base64
import hashlib
import json
import sys
import urllib.parse
import zlib

from payload import BLOCK, MAX_HEAD, frame_head, read_frame

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B65"


async def read_head(reader):
    """The request head's lines, or None at a clean end of the connection."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial:
            raise ValueError("connection ended inside a request head")
        return None
    except asyncio.LimitOverrunError:
        raise ValueError("request head too long")
    if len(raw) > MAX_HEAD:
        raise ValueError("request head too long")
    lines = raw.decode("latin-1").split("\r\n")[:-2]
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers


async def read_body(reader, headers, sink=None):
    """Reads a Content-Length or chunked body; returns (bytes read, crc32) or the bytes."""
    crc, total, keep = 0, 0, []

    def take(data):
        nonlocal crc, total
        total += len(data)
        crc = zlib.crc32(data, crc)
        if sink is None:
            keep.append(data)

    if "content-length" in headers:
        left = int(headers["content-length"])
        while left > 0:
            data = await reader.read(min(left, 1 << 20))
            if not data:
                raise ValueError("body cut short")
            left -= len(data)
            take(data)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            take(await reader.readexactly(size))
            await reader.readexactly(2)
    return (total, crc) if sink else b"".join(keep)


def response(status, body, content_type="application/json", extra=""):
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


async def serve_sse(writer, host, query):
    events = int(query.get("events", ["10"])[0])
    interval = int(query.get("ms", ["1000"])[0]) / 1000
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")

    def chunk(text):
        data = text.encode()
        return b"%x\r\n%s\r\n" % (len(data), data)

    for k in range(events):
        writer.write(chunk(f"id: {k}\ndata: {host} {k}\n\n"))
        await writer.drain()
        await asyncio.sleep(interval)
    writer.write(chunk("event: end\ndata: end\n\n") + b"0\r\n\r\n")
    await writer.drain()


async def serve_websocket(reader, writer, headers):
    accept = base64.b64encode(
        hashlib.sha1((headers["sec-websocket-key"] + WS_GUID).encode()).digest()).decode()
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
    await writer.drain()
    while True:
        opcode, data = await read_frame(reader)
        writer.write(frame_head(opcode, len(data), masked=False) + data)
        await writer.drain()
        if opcode == 0x8:  # close: answered, then the connection ends
            return


async def serve_download(writer, size):
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 f"Content-Length: {size}\r\n\r\n".encode())
    left = size
    while left > 0:
        piece = BLOCK if left >= len(BLOCK) else BLOCK[:left]
        writer.write(piece)
        left -= len(piece)
        await writer.drain()


async def handle(reader, writer):
    try:
        while True:
            head = await read_head(reader)
            if head is None:
                break
            method, target, headers = head
            url = urllib.parse.urlsplit(target)
            query = urllib.parse.parse_qs(url.query)
            host = headers.get("x-forwarded-host", "?")
            if url.path == "/ws" and headers.get("upgrade", "").lower() == "websocket":
                await serve_websocket(reader, writer, headers)
                break
            if url.path == "/upload" and method == "POST":
                total, crc = await read_body(reader, headers, sink=True)
                writer.write(response("200 OK", json.dumps(
                    {"host": host, "bytes": total, "crc32": crc}).encode()))
            elif url.path == "/download" and method == "GET":
                await serve_download(writer, int(query.get("bytes", ["0"])[0]))
            elif url.path == "/sse" and method == "GET":
                await serve_sse(writer, host, query)
            elif url.path == "/ka":
                body = await read_body(reader, headers)
                writer.write(response("200 OK", json.dumps({"host": host, "n": len(body)}).encode()))
            else:
                writer.write(response("404 Not Found", b"{}"))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass  # a visitor that went away (publisher drops cut channels): nothing to answer
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port, limit=MAX_HEAD * 2,
                                        backlog=1024)
    print(f"backend listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
