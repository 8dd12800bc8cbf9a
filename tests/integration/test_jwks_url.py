"""JWKS over HTTPS: an issuer whose `jwks` is an https:// URL (served here by a local HTTPS
server with its own CA) is fetched at load, refreshed in the background, and a changed
document takes effect without a restart: a rotated-in key admits its tokens, a removed key
stops admitting them. A token naming a kid the document lacks brings an early fetch (its own
request is refused, a retry succeeds), at most one per document per 30 s cooldown however many
unknown kids arrive, and a failed one keeps the last good keys. A slow identity provider holds up
neither a reload nor requests while its document is fetched. A URL that cannot be fetched
fails the policy with a clear error."""

import base64
import http.server
import json
import os
import secrets
import select
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
HOUR = 3600  # a refresh interval no test waits for: only an early fetch can help
COOLDOWN = 30  # identity::kJwksEarlyRefreshCooldownSeconds


def jwt_tool(*args):
    return subprocess.run(["node", os.path.join(HERE, "jwt_tool.js"), *args], check=True,
                          capture_output=True, text=True, timeout=30).stdout


class JwksServer:
    """HTTPS on 127.0.0.1 with a certificate for localhost; serves `self.document`. After
    `hold()`, a GET of /jwks.json waits to be answered until `release()` (its arrival sets
    `held_request`); `fetch_pending()` says whether the relay is still waiting for it, that is
    neither answered nor given up (its connection closed at the fetch's timeout)."""

    def __init__(self, directory):
        self.certs = harness.make_certificates(directory, "localhost")
        self.document = b"{}"
        self.status = 200  # what /jwks.json answers
        self.requests = 0  # GETs of /jwks.json
        self.holding = False
        self.held_request = threading.Event()
        self.released = threading.Event()
        self.held_connection = None
        self.answered_held = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                found = self.path == "/jwks.json"
                if found:
                    server.requests += 1
                if found and server.holding and server.held_connection is None:
                    server.held_connection = self.connection
                    server.held_request.set()
                    server.released.wait(30)
                    if server.fetch_left():
                        return  # the relay gave up: nobody to answer
                    server.answered_held.set()
                body = server.document if found and server.status == 200 else b"not here"
                self.send_response(server.status if found else 404)
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

    def hold(self):
        self.holding = True

    def fetch_left(self):
        # The request was read whole and the relay sends nothing more on it: anything to read
        # now is its close (close_notify or end of stream).
        return bool(select.select([self.held_connection], [], [], 0)[0])

    def fetch_pending(self):
        return (self.held_connection is not None and not self.released.is_set()
                and not self.fetch_left())

    def release(self):
        self.released.set()

    def close(self):
        self.release()
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
        self.write_policy(REFRESH)

    def write_policy(self, refresh):
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
jwks_refresh_seconds = {refresh}
""")

    def serve(self, keys_dir):
        with open(os.path.join(keys_dir, "jwks.json"), "rb") as f:
            self.idp.document = f.read()

    def claims(self):
        now = int(time.time())
        return {"iss": ISSUER, "sub": "alice", "aud": self.relay.url("app", "").rstrip("/"),
                "iat": now, "exp": now + 600}

    def token(self, keys_dir, kid="es256"):
        return jwt_tool("sign", keys_dir, "ES256", kid, json.dumps(self.claims()))

    def stranger_token(self):
        """A token naming a random kid, as anyone can send: its signature is never checked."""
        def part(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        header = {"alg": "ES256", "kid": secrets.token_hex(8)}
        return ".".join([part(json.dumps(header).encode()), part(json.dumps(self.claims()).encode()),
                         part(secrets.token_bytes(64))])

    def rotate_in(self, keys_dir, kid):
        """The identity provider publishes `keys_dir`'s ES256 key as `kid` beside the current keys."""
        with open(os.path.join(keys_dir, "jwks.json")) as f:
            added = [dict(key, kid=kid) for key in json.load(f)["keys"] if key["alg"] == "ES256"]
        current = json.loads(self.idp.document)
        self.idp.document = json.dumps({"keys": current["keys"] + added}).encode()

    def status(self, token):
        return self.relay.curl("app", "/whoami", headers=[f"Authorization: Bearer {token}"]).status

    def start_and_publish(self):
        self.relay.start()
        self.assertGreaterEqual(self.idp.requests, 1)
        self.fetched_at_start = self.idp.requests  # the files check and the policy's load
        backend = harness.Backend("jwks-backend")
        self.addCleanup(backend.close)
        pub = self.relay.publish(f"app:80:localhost:{backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()

    def early_refreshes(self):
        return [line for line in self.relay.logs() if line.get("event") == "jwks_early_refresh"]

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

    def test_a_new_kid_is_accepted_after_an_early_refresh(self):
        self.write_policy(HOUR)
        self.start_and_publish()
        token_a, token_next = self.token(self.keys_a), self.token(self.keys_b, kid="es256-next")
        self.assertEqual(self.status(token_a), 200)

        # The identity provider rotates in a key under a new kid and issues tokens with it; the
        # relay's copy of the document is an hour away from its refresh.
        self.rotate_in(self.keys_b, "es256-next")
        self.assertEqual(self.status(token_next), 401)  # answered at once, not held for a fetch
        self.assertTrue(harness.wait_until(lambda: self.status(token_next) == 200, 10),
                        "a retry with the new kid was still refused 10 s later")
        self.assertEqual(self.status(token_a), 200)  # the old key stays while published
        self.assertEqual(self.idp.requests, self.fetched_at_start + 1)  # one early fetch
        self.assertEqual(len(self.early_refreshes()), 1)
        self.assertIsNotNone(self.relay.wait_for_log({"event": "jwks_changed"}, timeout=5))

    def test_unknown_kids_bring_at_most_one_early_fetch_per_cooldown(self):
        self.write_policy(HOUR)
        self.start_and_publish()
        started = time.monotonic()
        token_a = self.token(self.keys_a)
        statuses = [self.status(self.stranger_token())]
        self.assertTrue(harness.wait_until(lambda: self.idp.requests > self.fetched_at_start, 10),
                        "an unknown kid brought no early fetch")
        # A stranger keeps sending random kids: no further fetch within the cooldown.
        while time.monotonic() - started < COOLDOWN / 3:
            statuses.append(self.status(self.stranger_token()))
        self.assertGreaterEqual(len(statuses), 10)
        self.assertEqual(set(statuses), {401})
        self.assertEqual(self.status(token_a), 200)
        self.assertLess(time.monotonic() - started, COOLDOWN)
        self.assertEqual(self.idp.requests, self.fetched_at_start + 1)  # one early fetch
        self.assertEqual(len(self.early_refreshes()), 1)

    def test_a_failed_early_fetch_keeps_the_last_good_keys(self):
        self.write_policy(HOUR)
        self.start_and_publish()
        token_a = self.token(self.keys_a)
        self.idp.status = 503  # the identity provider is failing
        self.assertEqual(self.status(self.stranger_token()), 401)
        failed = self.relay.wait_for_log({"event": "jwks_refresh_failed"}, timeout=10)
        self.assertIsNotNone(failed, "the early fetch was not attempted, or its failure not logged")
        self.assertIn("HTTP 503", failed["error"])
        self.assertEqual(self.idp.requests, self.fetched_at_start + 1)
        self.assertEqual(self.status(token_a), 200)  # the last good document still verifies

    def test_a_reload_and_requests_do_not_wait_for_a_slow_fetch(self):
        # One worker: the reload runs on it, and so does every request.
        admin_port = harness.free_port()
        self.relay.workers = 1
        self.relay.extra_config = f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n'
        self.write_policy(HOUR)
        self.start_and_publish()
        token_a = self.token(self.keys_a)
        self.idp.hold()  # the identity provider is slow: it answers only when told to
        self.assertEqual(self.status(self.stranger_token()), 401)  # asks for an early fetch
        self.assertTrue(self.idp.held_request.wait(10), "no early fetch started")

        status, body = harness.post_reload(admin_port)
        pending_at_reload = self.idp.fetch_pending()
        served = self.status(token_a)
        pending_at_request = self.idp.fetch_pending()
        self.idp.release()
        self.assertEqual(status, 200, body)
        self.assertTrue(pending_at_reload, "the reload waited for the fetch (or its timeout)")
        self.assertEqual(served, 200)
        self.assertTrue(pending_at_request, "the request waited for the fetch (or its timeout)")
        self.assertTrue(self.idp.answered_held.wait(10), "the relay gave the fetch up")
        self.assertIsNotNone(self.relay.wait_for_log({"event": "jwks_early_refresh"}, timeout=5))
        self.assertEqual(self.status(token_a), 200)

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
