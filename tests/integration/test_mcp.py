"""MCP tunnels on a real relay with a small JSON-RPC backend of the test's own: per-message
decisions, batches split between the publisher and the relay, chunked bodies forwarded with
the length of exactly the bytes inspected, refusals (400 with a JSON-RPC error, nothing
forwarded), filtered lists as JSON and as SSE, the Origin check, session binding, and the
MCP metrics."""

import http.server
import json
import socketserver
import threading
import unittest
import urllib.request

import harness

POLICY = """[[expose]]
id = "publish"
names = ["*"]
classes = ["human", "workload", "agent"]

[[access]]
id = "tools"
names = ["mcp"]
mcp = true
allow = ['!has(mcp.tool)', 'mcp.tool == "echo"']

[[access]]
id = "plain"
names = ["plain"]
allow = ['true']
"""

TOOLS = [{"name": "echo", "inputSchema": {"type": "object"}},
         {"name": "wipe", "inputSchema": {"type": "object"}},
         {"name": "shell", "inputSchema": {"type": "object"}}]


class JsonRpcBackend:
    """The publisher's service: answers tools/list (as JSON, or as SSE with `?sse`), tools/call
    (echo) and initialize (with a session id); records every body it receives."""

    def __init__(self):
        self.bodies = []
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, message):
                method = message.get("method")
                if "id" not in message:
                    return None
                if method == "tools/list":
                    return {"jsonrpc": "2.0", "id": message["id"], "result": {"tools": TOOLS}}
                if method == "initialize":
                    return {"jsonrpc": "2.0", "id": message["id"], "result": {"protocolVersion": "2025-03-26"}}
                return {"jsonrpc": "2.0", "id": message["id"],
                        "result": {"content": [{"type": "text", "text": message["params"]["name"]}]}}

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                backend.bodies.append((dict(self.headers), body))
                try:
                    message = json.loads(body)
                except ValueError:
                    self.send_response(422)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if isinstance(message, list):
                    answers = [a for a in (self.answer(m) for m in message) if a is not None]
                else:
                    answers = self.answer(message)
                if answers is None or answers == []:
                    self.send_response(202)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.endswith("?sse"):
                    events = b"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\n"
                    events += b"data: " + json.dumps(answers).encode() + b"\n\n"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Content-Length", str(len(events)))
                    self.end_headers()
                    self.wfile.write(events)
                    return
                data = json.dumps(answers).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if not isinstance(message, list) and message.get("method") == "initialize":
                    self.send_header("Mcp-Session-Id", "session-1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                data = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def rpc(id, method, **params):
    message = {"jsonrpc": "2.0", "method": method}
    if id is not None:
        message["id"] = id
    if params:
        message["params"] = params
    return message


class McpTunnel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.Relay(extra_config=(
            f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n\n[mcp]\nmax_body = 4096\n'))
        cls.addClassCleanup(cls.relay.close)
        with open(cls.relay.policy_path, "w") as f:
            f.write(POLICY)
        cls.relay.start()
        cls.backend = JsonRpcBackend()
        cls.addClassCleanup(cls.backend.close)
        for name in ("mcp", "plain"):
            pub = cls.relay.publish(f"{name}:80:localhost:{cls.backend.port}")
            cls.addClassCleanup(pub.close)
            pub.wait_for_url()

    def post(self, body, headers=(), path="/mcp", name="mcp"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.relay.curl(name, path, data=data,
                               headers=["Content-Type: application/json", *headers])

    def forwarded(self):
        return len(self.backend.bodies)

    def test_allowed_call_is_forwarded_byte_for_byte(self):
        body = b'{"jsonrpc":"2.0", "id":7, "method":"tools/call", "params":{"name":"echo","arguments":{}}}'
        before = self.forwarded()
        result = self.post(body)
        self.assertEqual(result.status, 200, result.describe())
        self.assertEqual(json.loads(result.body)["result"]["content"][0]["text"], "echo")
        self.assertEqual(self.backend.bodies[before][1], body)

    def test_denied_call_is_answered_by_the_relay_and_not_forwarded(self):
        before = self.forwarded()
        result = self.post(rpc("a", "tools/call", name="wipe", arguments={}))
        self.assertEqual(result.status, 200)
        self.assertEqual(json.loads(result.body), {"jsonrpc": "2.0", "id": "a", "error": {
            "code": -32602, "message": "Unknown tool: wipe"}})
        self.assertEqual(self.forwarded(), before)
        note = self.post(rpc(None, "tools/call", name="wipe"))  # a notification: 202, no body
        self.assertEqual((note.status, note.body), (202, b""))

    def test_batch_is_split_and_answers_merged(self):
        before = self.forwarded()
        batch = [rpc(1, "tools/call", name="echo"), rpc(2, "tools/call", name="wipe"),
                 rpc(3, "tools/list")]
        result = self.post(batch)
        self.assertEqual(result.status, 200, result.describe())
        answers = {a["id"]: a for a in json.loads(result.body)}
        self.assertEqual(answers[2]["error"]["message"], "Unknown tool: wipe")
        self.assertEqual([t["name"] for t in answers[3]["result"]["tools"]], ["echo"])
        self.assertEqual(answers[1]["result"]["content"][0]["text"], "echo")
        sent = json.loads(self.backend.bodies[before][1])
        self.assertEqual([m["id"] for m in sent], [1, 3])

    def test_tools_list_is_filtered_as_json_and_as_sse(self):
        result = self.post(rpc(5, "tools/list"))
        self.assertEqual(result.status, 200)
        self.assertEqual(int(result.headers["content-length"]), len(result.body))
        self.assertEqual([t["name"] for t in json.loads(result.body)["result"]["tools"]], ["echo"])
        stream = self.post(rpc(6, "tools/list"), path="/mcp?sse")
        self.assertEqual(stream.status, 200, stream.describe())
        self.assertEqual(stream.headers.get("transfer-encoding"), "chunked")
        events = [e for e in stream.body.decode().split("\n\n") if e]
        self.assertIn("notifications/message", events[0])
        listed = json.loads(events[1][len("data: "):])
        self.assertEqual([t["name"] for t in listed["result"]["tools"]], ["echo"])

    def test_chunked_body_is_forwarded_with_the_length_of_the_inspected_bytes(self):
        body = b'{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo"}}'
        chunked = b"10\r\n" + body[:16] + b"\r\n" + f"{len(body) - 16:x}".encode() + b"\r\n" + body[16:] + b"\r\n0\r\n\r\n"
        raw = (b"POST /mcp HTTP/1.1\r\nHost: mcp.tg.test\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
        before = self.forwarded()
        response = self.relay.request("mcp", raw)
        self.assertEqual(response.status, 200, bytes(response.body))
        headers, sent = self.backend.bodies[before]
        self.assertEqual(sent, body)
        self.assertEqual(headers.get("Content-Length"), str(len(body)))
        self.assertNotIn("Transfer-Encoding", headers)

    def test_untrusted_bodies_get_400_with_a_jsonrpc_error_and_nothing_is_forwarded(self):
        before = self.forwarded()
        cases = [
            (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"wipe"}}', -32600),
            (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}', -32700),
            (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}}', -32602),
            (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","x":"' + b"a" * 5000 + b'"}}', -32600),
            (b"", -32700),
        ]
        for body, code in cases:
            result = self.post(body)
            self.assertEqual(result.status, 400, (body[:80], result.describe()))
            self.assertEqual(json.loads(result.body)["error"]["code"], code, body[:80])
        mismatch = self.post(rpc(1, "tools/call", name="echo"), headers=["Mcp-Method: tools/call", "Mcp-Name: wipe"])
        self.assertEqual(mismatch.status, 400)
        self.assertEqual(json.loads(mismatch.body)["error"]["code"], -32020)
        self.assertEqual(self.forwarded(), before)

    def test_connection_survives_denials_and_refusals(self):
        sock = self.relay.tls("mcp")
        self.addCleanup(sock.close)
        for body, status in ((rpc(1, "tools/call", name="wipe"), 200), (b"{", 400),
                             (rpc(2, "tools/call", name="echo"), 200)):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: mcp.tg.test\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
            response = harness.HttpResponse(sock).read_all()
            self.assertEqual(response.status, status, bytes(response.body))

    def test_sessions_are_bound_and_unknown_ones_refused(self):
        init = self.post(rpc(1, "initialize", protocolVersion="2025-03-26"))
        self.assertEqual((init.status, init.headers.get("mcp-session-id")), (200, "session-1"))
        ok = self.post(rpc(2, "tools/call", name="echo"), headers=["Mcp-Session-Id: session-1"])
        self.assertEqual(ok.status, 200, ok.describe())
        unknown = self.post(rpc(3, "tools/call", name="echo"), headers=["Mcp-Session-Id: session-2"])
        self.assertEqual(unknown.status, 404)
        self.assertEqual(json.loads(unknown.body)["error"]["code"], -32001)
        get = self.relay.curl("mcp", "/mcp", headers=["Mcp-Session-Id: nope"])
        self.assertEqual(get.status, 404)

    def test_foreign_origin_is_refused_on_every_tunnel(self):
        for name in ("mcp", "plain"):
            foreign = self.relay.curl(name, "/", headers=["Origin: https://evil.example"])
            self.assertEqual(foreign.status, 403, name)
            own = self.relay.curl(name, "/", headers=[f"Origin: https://{name}.tg.test:{self.relay.https_port}"])
            self.assertEqual(own.status, 200, (name, own.describe()))

    def test_plain_tunnels_are_not_inspected(self):
        before = self.forwarded()
        result = self.post(b"not json at all", name="plain")
        self.assertEqual(result.status, 422)  # the backend's answer: it reached the backend
        self.assertEqual(self.backend.bodies[before][1], b"not json at all")

    def test_metrics_count_calls_and_denials_by_tool(self):
        self.post(rpc(1, "tools/call", name="echo"))
        self.post(rpc(2, "tools/call", name="made-up tool"))
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        self.assertRegex(text, r'tunnelgate_mcp_tool_calls_total\{worker="\d+",tool="echo"\} [1-9]')
        self.assertRegex(text, r'tunnelgate_mcp_tool_calls_denied_total\{worker="\d+",tool="other"\} [1-9]')
        self.assertNotIn("made-up", text)


if __name__ == "__main__":
    unittest.main()
