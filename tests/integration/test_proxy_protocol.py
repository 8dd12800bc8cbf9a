"""PROXY protocol v2 from a trusted load balancer: a client on 127.0.0.1 (listed in
proxy_protocol_from) opens with a v2 header naming another client, then speaks TLS on the
same socket. The named address is the visitor's for the policy (source.ip), X-Forwarded-For,
the request log and the audit; LOCAL keeps the real peer; a trusted peer without a header is
closed and counted; without proxy_protocol_from a header is never honoured."""

import ipaddress
import json
import os
import socket
import struct
import unittest

import harness

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(source: str, source_port: int, dest_port: int, local: bool = False,
             tlvs: bytes = b"") -> bytes:
    """A PROXY protocol v2 header for TCP from source:source_port to 127.0.0.1:dest_port."""
    if local:
        return SIGNATURE + bytes([0x20, 0x00]) + struct.pack(">H", 0)
    src = ipaddress.ip_address(source)
    if src.version == 4:
        block = src.packed + ipaddress.ip_address("127.0.0.1").packed
        family = 0x11
    else:
        block = src.packed + ipaddress.ip_address("::1").packed
        family = 0x21
    block += struct.pack(">HH", source_port, dest_port) + tlvs
    return SIGNATURE + bytes([0x21, family]) + struct.pack(">H", len(block)) + block


def tls_over(raw: socket.socket, relay: harness.Relay, name: str):
    return harness.client_context(relay.ca_path).wrap_socket(raw, server_hostname=relay.host(name))


def request_after_header(relay: harness.Relay, name: str, header: bytes, path: str = "/echo",
                         body: bytes = b"x") -> harness.HttpResponse:
    """Connects from 127.0.0.1, sends `header`, then one HTTPS request; returns the response."""
    raw = socket.create_connection(("127.0.0.1", relay.https_port), timeout=10)
    raw.sendall(header)
    with tls_over(raw, relay, name) as sock:  # takes the descriptor over from `raw`
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {relay.host(name)}:{relay.https_port}\r\n"
                      f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
        return harness.HttpResponse(sock).read_all()


def handshake_fails(relay: harness.Relay, name: str, header: bytes) -> bool:
    raw = socket.create_connection(("127.0.0.1", relay.https_port), timeout=10)
    try:
        raw.sendall(header)
        tls_over(raw, relay, name).close()
        return False
    except (OSError, ConnectionError):  # ssl.SSLError is an OSError
        return True
    finally:
        raw.close()


SOURCE_POLICY = """
[[expose]]
id = "any"
names = ["*"]

[[access]]
id = "documentation-net"
names = ["*"]
allow = ['source.ip in cidr("203.0.113.0/24")', 'source.ip in cidr("2001:db8::/32")']
"""


class TrustedBalancer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.Relay(https_config='proxy_protocol_from = ["10.0.0.0/8", "127.0.0.1/32"]\n',
                                  extra_config='\n[audit]\nfile = "audit.jsonl"\n')
        cls.addClassCleanup(cls.relay.close)
        with open(cls.relay.policy_path, "w") as f:
            f.write(SOURCE_POLICY)
        cls.relay.start()
        cls.backend = harness.class_backend(cls, "pp-backend")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"lb:80:localhost:{cls.backend.port}")

    def test_the_header_source_is_the_visitor_everywhere(self):
        # Several connections: the accepting worker is the tunnel's owner for some and hands
        # the others over, and the address must survive both paths.
        for port in (40001, 40002, 40003, 40004):
            header = proxy_v2("203.0.113.7", port, self.relay.https_port)
            resp = request_after_header(self.relay, "lb", header, body=b"via balancer")
            self.assertEqual((resp.status, bytes(resp.body)), (200, b"via balancer"))
            self.assertEqual(resp.headers.get("x-seen-xff"), "203.0.113.7")
        self.assertIsNotNone(self.relay.wait_for_log(
            {"event": "request", "name": "lb", "client": "203.0.113.7", "status": 200}))

        def audited():
            with open(os.path.join(self.relay.dir, "audit.jsonl")) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            return [line for line in lines if line.get("source") == "203.0.113.7"]
        self.assertTrue(harness.wait_until(audited, 10), "the audit names the balancer's client")

    def test_ipv6_source_and_tlvs(self):
        tlvs = bytes([0x02]) + struct.pack(">H", 7) + b"lb.test" + bytes([0x04, 0x00, 0x00])
        resp = request_after_header(self.relay, "lb", proxy_v2("2001:db8::7", 40000, 443, tlvs=tlvs))
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.headers.get("x-seen-xff"), "2001:db8::7")

    def test_policy_sees_the_claimed_source(self):
        resp = request_after_header(self.relay, "lb", proxy_v2("198.51.100.9", 40000, 443),
                                    path="/echo?from=outside")
        self.assertEqual(resp.status, 403, "outside the allowed block")
        self.assertEqual(self.backend.seen("from=outside"), [], "never forwarded")

    def test_local_keeps_the_real_peer(self):
        # A health check: the balancer's own connection, so 127.0.0.1, which the policy denies.
        resp = request_after_header(self.relay, "lb", proxy_v2("", 0, 0, local=True))
        self.assertEqual(resp.status, 403)

    def test_a_trusted_peer_without_a_header_is_closed_and_counted(self):
        self.assertTrue(handshake_fails(self.relay, "lb", b""), "plain TLS from a balancer")
        line = self.relay.wait_for_log({"event": "proxy_header_refused"})
        self.assertIsNotNone(line)
        self.assertTrue(line["peer"].startswith("127.0.0.1:"), line)
        self.assertTrue(handshake_fails(self.relay, "lb", b"PROXY TCP4 203.0.113.7 127.0.0.1 1 2\r\n"),
                        "version 1 is not accepted")


class NoTrustedBalancer(unittest.TestCase):
    def test_a_header_is_not_honoured_without_proxy_protocol_from(self):
        relay = harness.Relay()
        self.addCleanup(relay.close)
        with open(relay.policy_path, "w") as f:
            f.write(SOURCE_POLICY)
        relay.start()
        backend = harness.Backend("pp-off-backend")
        self.addCleanup(backend.close)
        pub = relay.publish(f"lb:80:localhost:{backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        header = proxy_v2("203.0.113.7", 40000, relay.https_port)
        self.assertTrue(handshake_fails(relay, "lb", header), "the header is not TLS")
        # Without a header the same client is itself: 127.0.0.1, denied.
        sock = relay.tls("lb")
        sock.sendall(f"GET /whoami HTTP/1.1\r\nHost: {relay.host('lb')}\r\n"
                     "Connection: close\r\n\r\n".encode())
        self.assertEqual(harness.HttpResponse(sock).read_all().status, 403)
        sock.close()
        self.assertEqual(backend.seen("/"), [])


if __name__ == "__main__":
    unittest.main()
