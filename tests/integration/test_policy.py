"""The policy on a real relay: who may expose which name (and with which class), who may
call what behind it, decided per request; default deny; a broken policy on reload leaves
the running one in force; a policy that stops allowing a tunnel closes it."""

import json
import os
import urllib.request
import unittest

import harness



def inventory(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/tunnels/{name}", timeout=10) as r:
        return json.loads(r.read())


class PolicyOnARealRelay(unittest.TestCase):
    def setUp(self):
        self.admin_port = harness.free_port()
        self.relay = harness.Relay(keys=("alice", "bob"), extra_config=(
            f'\n[admin]\nlisten = "127.0.0.1:{self.admin_port}"\n'))
        self.addCleanup(self.relay.close)
        self.backend = harness.Backend("policy-backend")
        self.addCleanup(self.backend.close)

    def write_policy(self, text):
        with open(self.relay.policy_path, "w") as f:
            f.write(text)

    def base_policy(self):
        alice = self.relay.keys["alice"].fingerprint
        return f"""
[[expose]]
id = "alice-names"
names = ["alice-*"]
when = 'ssh.key == "{alice}"'
classes = ["human", "agent"]

[[access]]
id = "alice-access"
names = ["alice-*"]
allow = ['http.method == "GET"', 'http.header["x-team"] == "blue"']
deny = ['http.path.startsWith("/private")']
"""

    def publish(self, spec, key="alice", command=""):
        pub = self.relay.publish(spec, key=key, command=command)
        self.addCleanup(pub.close)
        return pub

    def test_exposure_is_decided_by_rule_and_refusals_say_why(self):
        self.write_policy(self.base_policy())
        self.relay.start()
        port = self.backend.port
        self.publish(f"alice-app:80:localhost:{port}").wait_for_url()
        bob = self.publish(f"alice-fake:80:localhost:{port}", key="bob")
        bob.wait_for_text('cannot publish "alice-fake"')
        self.assertIn("alice-names", bob.output())
        other = self.publish(f"elsewhere:80:localhost:{port}")
        other.wait_for_text('cannot publish "elsewhere"')
        self.assertEqual(self.relay.curl("alice-fake", "/whoami").status, 404)

    def test_class_is_granted_within_what_the_rule_allows(self):
        self.write_policy(self.base_policy())
        self.relay.start()
        port = self.backend.port
        agent = self.publish(f"alice-agent:80:localhost:{port}", command="class=agent")
        agent.wait_for_text("is now class agent")
        self.assertEqual(inventory(self.admin_port, "alice-agent")["class"], "agent")
        workload = self.publish(f"alice-wl:80:localhost:{port}", command="class=workload")
        workload.wait_for_text("the policy does not allow it")
        harness.wait_until(lambda: not workload.alive(), 10)
        self.assertEqual(self.relay.curl("alice-wl", "/whoami").status, 502)

    def test_every_request_is_decided_and_deny_wins(self):
        self.write_policy(self.base_policy())
        self.relay.start()
        self.publish(f"alice-api:80:localhost:{self.backend.port}").wait_for_url()
        self.assertEqual(self.relay.curl("alice-api", "/whoami").status, 200)
        denied = self.relay.curl("alice-api", "/echo", data=b"x")
        self.assertEqual(denied.status, 403, denied.describe())
        self.assertRegex(json.loads(denied.body)["request_id"], r"^w\d+-\d+$")
        self.assertNotIn(b"alice-access", denied.body, "rule text is never shown to visitors")
        self.assertEqual(self.relay.curl("alice-api", "/echo", data=b"x",
                                         headers=["X-Team: blue"]).status, 200)
        self.assertEqual(self.relay.curl("alice-api", "/private/x", headers=["X-Team: blue"]).status,
                         403, "deny wins over allow")
        self.assertEqual(self.backend.seen("/private"), [], "a denied request is never forwarded")
        # On one keep-alive connection, the second request is decided on its own.
        results = harness.curl_sequence([self.relay.url("alice-api", "/whoami"),
                                         self.relay.url("alice-api", "/private/y")],
                                        ca=self.relay.ca_path)
        self.assertEqual([(status, connects) for status, connects, _ in results], [(200, 1), (403, 0)])

    def test_without_a_policy_nothing_is_exposed(self):
        self.write_policy("# an empty policy file: default deny\n")
        self.relay.start()
        pub = self.publish(f"alice-app:80:localhost:{self.backend.port}")
        pub.wait_for_text('cannot publish "alice-app"')

    def test_reload_keeps_the_old_policy_when_the_new_one_is_broken(self):
        self.write_policy(self.base_policy())
        self.relay.start()
        self.publish(f"alice-app:80:localhost:{self.backend.port}").wait_for_url()
        self.write_policy(self.base_policy() + "\n[[access]]\nnames = [\"x\"]\nallow = ['http.methd == \"GET\"']\n")
        status, body = harness.post_reload(self.admin_port)
        self.assertEqual(status, 400, body)
        self.assertRegex(body["error"], r"policy\.toml:\d+:\d+: .*http\.methd")
        self.assertEqual(self.relay.curl("alice-app", "/whoami").status, 200)

    def test_reload_that_withdraws_an_exposure_closes_the_tunnel(self):
        self.write_policy(self.base_policy())
        self.relay.start()
        pub = self.publish(f"alice-app:80:localhost:{self.backend.port}")
        pub.wait_for_url()
        self.write_policy(self.base_policy().replace('names = ["alice-*"]\nwhen',
                                                     'names = ["alice-api-*"]\nwhen'))
        status, body = harness.post_reload(self.admin_port)
        self.assertEqual(status, 200, body)
        pub.wait_for_text("the policy does not allow it")
        self.assertEqual(self.relay.curl("alice-app", "/whoami").status, 502)




class StreamRevocation(unittest.TestCase):
    def test_a_reload_that_denies_an_open_websocket_ends_it_at_once(self):
        import base64
        import time
        admin_port = harness.free_port()
        relay = harness.Relay(extra_config=f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
        self.addCleanup(relay.close)
        relay.start()
        backend = harness.Backend("revoke-backend")
        self.addCleanup(backend.close)
        pub = relay.publish(f"live:80:localhost:{backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        sock = harness.open_tls(relay.https_port, f"live.{relay.domain}", relay.ca_path)
        self.addCleanup(sock.close)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ws HTTP/1.1\r\nHost: live.{relay.domain}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = harness.HttpResponse(sock).read_head()
        self.assertEqual(resp.status, 101)
        read_exact = harness.sock_read_exact(sock, resp.buf)
        sock.sendall(harness.ws_frame(0x1, b"before", mask=True))
        self.assertEqual(harness.ws_read_frame(read_exact), (0x1, b"before"))

        with open(relay.policy_path, "w") as f:
            f.write(harness.OPEN_POLICY + "deny = ['http.path == \"/ws\"']\n")
        started = time.monotonic()
        status, body = harness.post_reload(admin_port)
        self.assertEqual(status, 200, body)
        self.assertIn("streams revoked 1", json.dumps(body))
        data, closed = harness.read_until_closed(sock, 5)
        self.assertTrue(closed, "the revoked stream must end")
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertIsNotNone(relay.wait_for_log({"event": "stream_revoked", "name": "live"}))


if __name__ == "__main__":
    unittest.main()
