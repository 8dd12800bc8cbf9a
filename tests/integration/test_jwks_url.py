"""JWKS over HTTPS: an issuer whose `jwks` is an https:// URL (served here by a local HTTPS
server with its own CA) is fetched at load, refreshed in the background, and a changed
document takes effect without a restart: a rotated-in key admits its tokens, a removed key
stops admitting them. A URL that cannot be fetched fails the policy with a clear error."""

import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUER = "https://idp.rotating.test"
REFRESH = 30  # the smallest jwks_refresh_seconds the policy accepts


def jwt_tool(*args):
    return subprocess.run(["node", os.path.join(HERE, "jwt_tool.js"), *args], check=True,
                          capture_output=True, text=True, timeout=30).stdout


class JwksServer:
    """HTTPS on 127.0.0.1 with a certificate for localhost; serves `self.document`."""

    def __init__(self, directory):
        self.certs = harness.make_certificates(directory, "localhost")
        self.document = b"{}"
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests += 1
                body = server.document if self.path == "/jwks.json" else b"not here"
                self.send_response(200 if self.path == "/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certs["cert"], self.certs["key"])
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class JwksOverHttps(unittest.TestCase):
    def setUp(self):
        self.relay = harness.Relay(keys=("alice",))
        self.addCleanup(self.relay.close)
        self.keys_a = os.path.join(self.relay.dir, "keys-a")
        self.keys_b = os.path.join(self.relay.dir, "keys-b")
        for d in (self.keys_a, self.keys_b):
            os.makedirs(d)
            jwt_tool("keys", d)
        idp_dir = os.path.join(self.relay.dir, "idp")
        os.makedirs(idp_dir)
        self.idp = JwksServer(idp_dir)
        self.addCleanup(self.idp.close)
        self.serve(self.keys_a)
        shutil.copy(self.idp.certs["ca"], os.path.join(self.relay.dir, "idp-ca.pem"))
        with open(self.relay.policy_path, "w") as f:
            f.write(f"""
[[expose]]
names = ["*"]

[[access]]
names = ["*"]
allow = ['jwt.sub == "alice"']

[[identity.jwt]]
issuer = "{ISSUER}"
jwks = "https://localhost:{self.idp.port}/jwks.json"
jwks_ca = "idp-ca.pem"
jwks_refresh_seconds = {REFRESH}
""")

    def serve(self, keys_dir):
        with open(os.path.join(keys_dir, "jwks.json"), "rb") as f:
            self.idp.document = f.read()

    def token(self, keys_dir):
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": "alice", "aud": self.relay.url("app", "").rstrip("/"),
                  "iat": now, "exp": now + 600}
        return jwt_tool("sign", keys_dir, "ES256", "es256", json.dumps(claims))

    def status(self, token):
        return self.relay.curl("app", "/whoami", headers=[f"Authorization: Bearer {token}"]).status

    def test_a_rotated_jwks_takes_effect_without_a_restart(self):
        self.relay.start()
        self.assertGreaterEqual(self.idp.requests, 1)
        backend = harness.Backend("jwks-backend")
        self.addCleanup(backend.close)
        pub = self.relay.publish(f"app:80:localhost:{backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        token_a, token_b = self.token(self.keys_a), self.token(self.keys_b)
        self.assertEqual(self.status(token_a), 200)
        self.assertEqual(self.status(token_b), 401)  # same kid, another key

        self.serve(self.keys_b)  # the identity provider rotates its key
        self.assertIsNotNone(self.relay.wait_for_log({"event": "jwks_changed"}, timeout=REFRESH + 30))
        self.assertTrue(harness.wait_until(lambda: self.status(token_b) == 200, 30))
        self.assertEqual(self.status(token_a), 401)

    def test_an_unreachable_jwks_url_fails_the_policy_clearly(self):
        self.idp.close()
        self.relay.write_config()
        check = harness.run([harness.tg_bin(), "--check-config", self.relay.config_path],
                            check=False)
        self.assertEqual(check.returncode, 1, check.stdout.decode())
        error = check.stderr.decode()
        self.assertIn(f"https://localhost:{self.idp.port}/jwks.json", error)
        self.assertIn("connection refused", error)


if __name__ == "__main__":
    unittest.main()
