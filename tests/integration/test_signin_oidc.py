"""Sign-in federating a real OpenID Provider (tests/oidc: the npm package oidc-provider over
HTTPS on loopback), with the relay's own config (not --dev).

The official MCP SDK client (tests/mcp/oauth_client.mjs) connects to an MCP server published
with `ssh -R`, once registering with DCR and once identifying itself with a Client ID Metadata
Document the test serves over HTTPS on loopback (allowed by `client_metadata_allow`); the
browser step goes through the relay's /authorize, the provider's login form, the relay's
callback and consent page. Also: a person outside the provider's allowed email domains is
refused at the callback; a metadata document on an address the allow-list does not cover is
refused (SSRF defence); an expired code is refused; the sign-in events are counted in /metrics."""

import base64
import hashlib
import http.server
import json
import os
import ssl
import tempfile
import threading
import time
import unittest
import urllib.parse

import harness
from browser import Browser
from oidc_fixture import OidcProvider, make_loopback_certificate
from test_signin_dev import McpServer, OAuthClient, load

POLICY = """[[expose]]
id = "publish"
names = ["*"]
classes = ["human", "workload", "agent"]

[[access]]
id = "notes"
names = ["notes"]
mcp = true
allow = ['jwt.groups.contains("eng") && (!has(mcp.tool) || mcp.tool in ["echo", "countdown"])',
         'has(jwt.email) && !has(mcp.tool)']
"""

CLIENT = "http://127.0.0.1:7/callback"


class MetadataServer:
    """A Client ID Metadata Document at https://localhost:PORT/client.json."""

    def __init__(self, directory):
        files = make_loopback_certificate(directory)
        self.ca = files["ca"]
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = json.dumps({"client_id": outer.url, "client_name": "CIMD test client",
                                   "redirect_uris": [CLIENT], "grant_types": ["authorization_code", "refresh_token"],
                                   "response_types": ["code"], "token_endpoint_auth_method": "none"}).encode()
                outer.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.fetches = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files["cert"], files["key"])
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://localhost:{self.port}/client.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SigninOidcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tg-signin-oidc-")
        cls.metadata = MetadataServer(cls.tmp)
        cls.relay = harness.Relay(keys=("alice",))
        cls.relay.pick_ports()
        cls.issuer = f"https://auth.{cls.relay.domain}:{cls.relay.https_port}"
        secret = "relay-secret-" + os.urandom(8).hex()
        cls.provider = OidcProvider(clients=[{"client_id": "tunnelgate", "client_secret": secret,
                                              "redirect_uris": [cls.issuer + "/callback"]}]).start()
        secret_file = os.path.join(cls.relay.dir, "idp-secret")
        with open(secret_file, "w") as f:
            f.write(secret)
        os.chmod(secret_file, 0o600)
        cls.agent_secret = "agent-" + os.urandom(8).hex()
        agent_secret_file = os.path.join(cls.relay.dir, "agent-secret")
        with open(agent_secret_file, "w") as f:
            f.write(cls.agent_secret)
        os.chmod(agent_secret_file, 0o600)
        with open(cls.relay.policy_path, "w") as f:
            f.write(POLICY)
        cls.admin_port = harness.free_port()
        cls.relay.extra_config = f"""
[admin]
listen = "127.0.0.1:{cls.admin_port}"

[signin]
code_seconds = 10
access_token_seconds = 60
client_metadata_allow = ["127.0.0.1/32", "::1/128"]
client_metadata_ca = "{cls.metadata.ca}"

[[signin.client]]
id = "corp-agent"
name = "Corp Agent"
redirect_uris = ["{CLIENT}"]
secret_file = "{agent_secret_file}"

[[signin.provider]]
id = "corp"
display_name = "Corp SSO"
issuer = "{cls.provider.issuer}"
client_id = "tunnelgate"
client_secret_file = "{secret_file}"
ca_file = "{cls.provider.ca}"
allowed_email_domains = ["example.com"]
"""
        cls.relay.start()
        cls.server = McpServer()
        cls.publisher = cls.relay.publish(f"notes:80:127.0.0.1:{cls.server.port}",
                                          command="class=agent host=localhost")
        cls.publisher.wait_for_url()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.relay.close()
        cls.provider.__exit__()
        cls.metadata.close()

    def resolve(self):
        return [arg for name in ("notes", "auth") for arg in ("--resolve", f"{name}.{self.relay.domain}:127.0.0.1")]

    def sign_in(self, browser, email, seen):
        """The browser step through the relay and the provider's login form."""
        def stop(response):
            location = response.location or ""
            return location.startswith(self.provider.issuer) or location.startswith(CLIENT)

        def step(url):
            page = browser.follow(url, stop=stop)
            if page.location and page.location.startswith(self.provider.issuer):
                seen["provider"] += 1
                callback = self.provider.login(page.location, email)
                page = browser.follow(callback, stop=stop)
            if page.status == 200 and "Allow access?" in page.text:
                seen["consent"] += 1
                seen["consent_text"] = page.text
                page = browser.submit(page, button=("decision", "allow"), stop=stop)
            self.assertEqual(page.status, 302, page.text[:500])
            return page.location

        return step

    def run_client(self, state, step, extra=(), calls=("echo",)):
        client = OAuthClient(self.relay, state, step, calls=list(calls), extra=extra,
                             resolve=self.resolve())
        self.assertEqual(client.result["event"], "done", str(client.result) + client.stderr[-2000:])
        return client.result

    def test_dcr_client_signs_in_through_the_provider(self):
        seen = {"provider": 0, "consent": 0}
        state = os.path.join(self.tmp, "alice-dcr.json")
        result = self.run_client(state, self.sign_in(Browser(self.relay.ca_path), "alice@example.com", seen))
        self.assertEqual(seen["provider"], 1)
        self.assertEqual(seen["consent"], 1)
        self.assertEqual(result["tools"], ["countdown", "echo"])
        self.assertEqual(result["calls"]["echo"], {"ok": True, "text": "hi"})
        saved = load(state)
        self.assertTrue(saved["client"]["client_id"].startswith("tgc1."))
        signed_in = self.relay.wait_for_log({"event": "signed_in", "email": "alice@example.com"})
        self.assertIsNotNone(signed_in)
        self.assertEqual(signed_in["idp"], "corp")
        self.assertEqual(signed_in["groups"], "eng,admins")
        status, _, body = self.metrics()
        self.assertEqual(status, 200)
        self.assertRegex(body, r'tunnelgate_signin_events_total\{worker="0",event="signed_in"\} [1-9]')
        self.assertRegex(body, r'tunnelgate_signin_events_total\{worker="0",event="token_issued"\} [1-9]')

    def test_client_id_metadata_document(self):
        seen = {"provider": 0, "consent": 0}
        state = os.path.join(self.tmp, "alice-cimd.json")
        result = self.run_client(state, self.sign_in(Browser(self.relay.ca_path), "alice@example.com", seen),
                                 extra=["--cimd", self.metadata.url])
        self.assertEqual(result["calls"]["echo"], {"ok": True, "text": "hi"})
        self.assertEqual(load(state)["client"]["client_id"], self.metadata.url)
        self.assertIn("CIMD test client", seen["consent_text"])
        self.assertGreaterEqual(self.metadata.fetches, 1)
        self.assertFalse(any(l.get("event") == "client_registered" and l.get("client_name") == "CIMD test client"
                             for l in self.relay.logs()))

    def test_metadata_document_on_an_internal_address_is_refused(self):
        url = f"https://127.0.0.2:{self.metadata.port}/client.json"
        before = self.metadata.fetches
        query = urllib.parse.urlencode({"response_type": "code", "client_id": url, "redirect_uri": CLIENT,
                                        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                        "code_challenge_method": "S256", "state": "s",
                                        "resource": self.relay.url("notes", "")})
        page = Browser(self.relay.ca_path).request(self.issuer + "/authorize?" + query)
        self.assertEqual(page.status, 400)
        self.assertIn("internal address", page.text)
        self.assertIsNone(page.location)
        self.assertEqual(self.metadata.fetches, before)

    def test_person_outside_the_allowed_domains_is_refused(self):
        browser = Browser(self.relay.ca_path)
        start = browser.follow(self.issuer + "/signin?return_to=" + urllib.parse.quote(self.relay.url("notes", "/"), safe=""),
                               stop=lambda r: (r.location or "").startswith(self.provider.issuer))
        callback = self.provider.login(start.location, "carol@other.test")
        page = browser.request(callback)
        self.assertEqual(page.status, 400)
        self.assertIn("Sign-in failed", page.text)
        self.assertIsNone(browser.cookie(f"auth.{self.relay.domain}", "__Host-tg_auth"))
        failed = self.relay.wait_for_log({"event": "signin_failed"})
        self.assertIsNotNone(failed)

    def test_expired_code_is_refused(self):
        seen = {"provider": 0, "consent": 0}
        state = os.path.join(self.tmp, "alice-expired.json")
        self.run_client(state, self.sign_in(Browser(self.relay.ca_path), "alice@example.com", seen), calls=())
        client_id = load(state)["client"]["client_id"]
        browser = Browser(self.relay.ca_path)
        codes = []

        def keep_code(url):
            location = self.sign_in(browser, "alice@example.com", seen)(url)
            codes.append(location)
            return location

        saved = load(state)
        saved.pop("tokens")
        with open(state, "w") as f:
            json.dump(saved, f)
        # Stop the client after the browser step: it would exchange the code at once.
        OAuthClient(self.relay, state, lambda url: keep_code(url) and "http://127.0.0.1:7/callback?error=stop",
                    calls=[], resolve=self.resolve())
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(codes[0]).query)["code"][0]
        time.sleep(11)  # code_seconds = 10
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "client_id": client_id,
                                       "redirect_uri": CLIENT, "code_verifier": load(state)["verifier"]}).encode()
        raw = (f"POST /token HTTP/1.1\r\nHost: auth.{self.relay.domain}:{self.relay.https_port}\r\n"
               f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
        answer = self.relay.request("auth", raw)
        self.assertEqual(answer.status, 400)
        self.assertIn("expired", json.loads(bytes(answer.body))["error_description"])

    def test_configured_confidential_client_must_present_its_secret(self):
        verifier = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        query = urllib.parse.urlencode({"response_type": "code", "client_id": "corp-agent", "redirect_uri": CLIENT,
                                        "code_challenge": challenge, "code_challenge_method": "S256",
                                        "state": "st", "resource": self.relay.url("notes", "")})
        seen = {"provider": 0, "consent": 0}
        location = self.sign_in(Browser(self.relay.ca_path), "alice@example.com", seen)(
            self.issuer + "/authorize?" + query)
        self.assertIn("Corp Agent", seen["consent_text"])
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        self.assertEqual(params["state"], ["st"])
        form = {"grant_type": "authorization_code", "code": params["code"][0], "redirect_uri": CLIENT,
                "code_verifier": verifier}

        def token(fields, authorization=None):
            body = urllib.parse.urlencode(fields).encode()
            extra = f"Authorization: {authorization}\r\n" if authorization else ""
            raw = (f"POST /token HTTP/1.1\r\nHost: auth.{self.relay.domain}:{self.relay.https_port}\r\n{extra}"
                   f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                   "Connection: close\r\n\r\n").encode() + body
            answer = self.relay.request("auth", raw)
            return answer.status, json.loads(bytes(answer.body))

        basic = lambda secret: "Basic " + base64.b64encode(f"corp-agent:{secret}".encode()).decode()
        status, answer = token(dict(form, client_id="corp-agent"))
        self.assertEqual((status, answer["error"]), (401, "invalid_client"))
        status, answer = token(form, basic("wrong"))
        self.assertEqual((status, answer["error"]), (401, "invalid_client"))
        status, answer = token(form, basic(self.agent_secret))
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["token_type"], "Bearer")
        claims = json.loads(base64.urlsafe_b64decode(answer["access_token"].split(".")[1] + "=="))
        self.assertEqual(claims["client_id"], "corp-agent")
        self.assertEqual(claims["aud"], self.relay.url("notes", "").rstrip("/"))
        self.assertEqual(claims["iss"], self.issuer)
        self.assertEqual(claims["groups"], ["eng", "admins"])
        # client_secret_post works the same way, for a refresh.
        status, answer = token({"grant_type": "refresh_token", "refresh_token": answer["refresh_token"],
                                "client_id": "corp-agent", "client_secret": self.agent_secret})
        self.assertEqual(status, 200, answer)

    def test_tokens_and_browser_sessions_expire(self):
        """After the access token's 60 s (and the verifiers' 60 s leeway): the SDK client's next
        request is refused, it refreshes and goes on; a browser's session cookie has run out
        too, and the browser is sent to sign in again."""
        seen = {"provider": 0, "consent": 0}
        state = os.path.join(self.tmp, "alice-expiry.json")
        browser = Browser(self.relay.ca_path)
        self.run_client(state, self.sign_in(browser, "alice@example.com", seen))
        page = browser.follow(self.relay.url("notes", "/page"),
                              stop=lambda r: (r.location or "").startswith(self.provider.issuer))
        self.assertIsNotNone(browser.cookie(f"notes.{self.relay.domain}", "__Host-tg_session"))
        self.assertNotIn("/signin", page.url)
        time.sleep(122)
        result = self.run_client(state, self.sign_in(browser, "alice@example.com", seen))
        self.assertEqual(result["authorizations"], 0)
        self.assertEqual(result["token_requests"], [200])
        self.assertEqual(result["calls"]["echo"], {"ok": True, "text": "hi"})
        expired = browser.request(self.relay.url("notes", "/page"))
        self.assertEqual(expired.status, 302)
        self.assertTrue(expired.location.startswith(self.issuer + "/signin?"), expired.location)

    def metrics(self):
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=10) as r:
            return r.status, r.headers, r.read().decode()


if __name__ == "__main__":
    unittest.main()
