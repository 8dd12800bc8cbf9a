"""Sign-in on `tunnelgate --dev`: the relay as the OAuth authorization server an MCP client
expects, with the development sign-in page as the identity provider.

The official MCP SDK client (tests/mcp/oauth_client.mjs, SDK 1.32) connects to an MCP server
(tests/mcp/server.mjs) published with `ssh -R` on a tunnel whose rule reads jwt.*; it gets the
401, finds the relay's metadata, registers (DCR), and the test plays the browser: the --dev
sign-in page, the consent page, the redirect with the code. Then: a second run reuses the
tokens (no authorization); a run with a token the relay no longer accepts refreshes it; the
old refresh token presented again revokes its family; a token for one tunnel is refused at
another; a person whose groups the rule refuses sees the tool list filtered and the call
denied; a remembered consent skips the consent page."""

import base64
import hashlib
import json
import signal
import os
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

import harness
from browser import Browser

HERE = os.path.dirname(os.path.abspath(__file__))
MCP_DIR = os.path.join(HERE, "..", "mcp")
BROWSER_DIR = os.path.join(HERE, "..", "browser")

POLICY = """[[expose]]
id = "dev-expose"
names = ["*"]
classes = ["human", "workload", "agent"]

[[access]]
id = "notes"
names = ["notes"]
mcp = true
allow = ['jwt.groups.contains("eng") && (!has(mcp.tool) || mcp.tool in ["echo", "countdown"])',
         'has(jwt.email) && !has(mcp.tool)']

[[access]]
id = "other"
names = ["other"]
allow = ['has(jwt.email)']
"""


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


class McpServer:
    def __init__(self):
        self.proc = subprocess.Popen(["node", os.path.join(MCP_DIR, "server.mjs"), "0"], cwd=MCP_DIR,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        line = self.proc.stdout.readline()
        self.port = json.loads(line)["port"]

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class OAuthClient:
    """One run of oauth_client.mjs; `browser_step(url) -> callback URL` plays the browser."""

    def __init__(self, relay, state_file, browser_step, calls=(), extra=(), resolve=None):
        if resolve is None:
            resolve = []
            for name in ("notes", "auth", "other"):
                resolve += ["--resolve", f"{name}.localhost:127.0.0.1"]
        cmd = ["node", os.path.join(MCP_DIR, "oauth_client.mjs"), relay.url("notes", "/mcp"),
               "--state", state_file, *resolve, *extra]
        for call in calls:
            cmd += ["--call", call]
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=relay.ca_path)
        self.proc = subprocess.Popen(cmd, cwd=MCP_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.authorize_urls = []
        self.result = None
        for line in self.proc.stdout:
            event = json.loads(line)
            if event["event"] == "authorize":
                self.authorize_urls.append(event["url"])
                self.proc.stdin.write(browser_step(event["url"]) + "\n")
                self.proc.stdin.flush()
            else:
                self.result = event
                break
        self.proc.stdin.close()
        self.stderr = self.proc.stderr.read()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()


class SigninDevTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.Relay(dev=True)
        os.makedirs(cls.relay.state_dir, exist_ok=True)
        with open(os.path.join(cls.relay.state_dir, "dev-policy.toml"), "w") as f:
            f.write(POLICY)
        cls.relay.start()
        cls.server = McpServer()
        key = os.path.join(cls.relay.state_dir, "client_key")
        cls.publisher = cls.relay.publish(f"notes:80:127.0.0.1:{cls.server.port}", key=key,
                                          command="class=agent host=localhost")
        cls.publisher.wait_for_url()
        cls.other_service = harness.Backend()
        cls.other = cls.relay.publish(f"other:80:127.0.0.1:{cls.other_service.port}", key=key)
        cls.other.wait_for_url()
        cls.tmp = tempfile.mkdtemp(prefix="tg-signin-")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.other_service.close()
        cls.relay.close()

    def issuer(self):
        return f"https://auth.localhost:{self.relay.https_port}"

    def sign_in(self, browser, email, groups="", consent=True):
        """The browser step: returns a function of the authorization URL that signs `email` in
        on the dev page when asked, consents when asked, and returns the callback URL."""
        seen = {"signin": 0, "consent": 0}

        def step(url):
            stop = lambda r: r.location is not None and r.location.startswith("http://127.0.0.1:7/")
            page = browser.follow(url, stop=stop)
            if page.status == 200 and "/signin/dev" in page.text:
                seen["signin"] += 1
                page = browser.submit(page, {"email": email, "groups": groups}, stop=stop)
            if page.status == 200 and "Allow access?" in page.text:
                seen["consent"] += 1
                page = browser.submit(page, button=("decision", "allow" if consent else "deny"), stop=stop)
            self.assertEqual(page.status, 302, page.text[:500])
            return page.location

        return step, seen

    def test_mcp_client_signs_in_with_dcr_then_refreshes_and_reuse_revokes(self):
        state = os.path.join(self.tmp, "alice.json")
        browser = Browser(self.relay.ca_path)
        step, seen = self.sign_in(browser, "alice@example.com", "eng, admins")
        run = OAuthClient(self.relay, state, step, calls=["echo", "wipe"])
        self.assertEqual(run.result["event"], "done", run.result.get("error", "") + run.stderr[-2000:])
        self.assertEqual(seen, {"signin": 1, "consent": 1})
        self.assertEqual(run.result["tools"], ["countdown", "echo"])  # wipe filtered out
        self.assertEqual(run.result["calls"]["echo"], {"ok": True, "text": "hi"})
        self.assertFalse(run.result["calls"]["wipe"]["ok"])
        saved = load(state)
        self.assertTrue(saved["client"]["client_id"].startswith("tgc1."))
        first_refresh = saved["tokens"]["refresh_token"]
        access = saved["tokens"]["access_token"]

        # The token is the relay's, for this tunnel only: refused at another tunnel.
        other = self.relay.curl("other", "/", headers=[f"Authorization: Bearer {access}"])
        self.assertEqual(other.status, 401, other.describe())

        # A second run uses the saved token: no authorization, no token request.
        run = OAuthClient(self.relay, state, step, calls=["echo"])
        self.assertEqual(run.result["event"], "done", run.result)
        self.assertEqual(run.result["authorizations"], 0)
        self.assertEqual(run.result["token_requests"], [])

        # A token the relay no longer accepts: the SDK refreshes it, rotating the refresh token.
        saved["tokens"]["access_token"] = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
        save(state, saved)
        run = OAuthClient(self.relay, state, step, calls=["echo"])
        self.assertEqual(run.result["event"], "done", run.result)
        self.assertEqual(run.result["authorizations"], 0)
        self.assertEqual(run.result["token_requests"], [200])
        second_refresh = load(state)["tokens"]["refresh_token"]
        self.assertNotEqual(second_refresh, first_refresh)

        # The first refresh token presented again: refused, and its whole family revoked.
        client_id = saved["client"]["client_id"]
        reuse = self.token_request({"grant_type": "refresh_token", "refresh_token": first_refresh,
                                    "client_id": client_id})
        self.assertEqual(reuse.status, 400)
        self.assertEqual(json.loads(reuse.body)["error"], "invalid_grant")
        after = self.token_request({"grant_type": "refresh_token", "refresh_token": second_refresh,
                                    "client_id": client_id})
        self.assertEqual(after.status, 400)
        self.assertIn("revoked", json.loads(after.body)["error_description"])
        self.assertIsNotNone(self.relay.wait_for_log({"event": "refresh_token_reused"}))

        # Consent is remembered: the same client signing in again skips the consent page.
        saved = load(state)
        saved.pop("tokens", None)
        save(state, saved)
        step, seen = self.sign_in(browser, "alice@example.com", "eng, admins")
        run = OAuthClient(self.relay, state, step, calls=["echo"])
        self.assertEqual(run.result["event"], "done", run.result)
        self.assertEqual(seen, {"signin": 0, "consent": 0})
        self.assertEqual(run.result["calls"]["echo"], {"ok": True, "text": "hi"})

    def test_person_outside_the_group_sees_a_filtered_list_and_a_denied_call(self):
        state = os.path.join(self.tmp, "bob.json")
        step, _ = self.sign_in(Browser(self.relay.ca_path), "bob@example.com", "sales")
        run = OAuthClient(self.relay, state, step, calls=["echo"])
        self.assertEqual(run.result["event"], "done", run.result.get("error", "") + run.stderr[-2000:])
        self.assertEqual(run.result["tools"], [])
        self.assertFalse(run.result["calls"]["echo"]["ok"])
        self.assertEqual(run.result["calls"]["echo"].get("code"), -32602, run.result)

    def test_the_auth_host_name_cannot_be_published(self):
        key = os.path.join(self.relay.state_dir, "client_key")
        publisher = self.relay.publish(f"auth:80:127.0.0.1:{self.other_service.port}", key=key)
        publisher.wait_for_text("is the relay's sign-in host")
        metadata = self.relay.curl("auth", "/.well-known/oauth-authorization-server")
        self.assertEqual(metadata.status, 200)
        self.assertEqual(json.loads(metadata.body)["issuer"], self.issuer())
        publisher.close()

    def test_reload_rotates_the_signing_keys_and_keeps_issued_tokens_valid(self):
        state = os.path.join(self.tmp, "gina.json")
        step, _ = self.sign_in(Browser(self.relay.ca_path), "gina@example.com", "eng")
        run = OAuthClient(self.relay, state, step, calls=["echo"])
        self.assertEqual(run.result["event"], "done", run.result)
        before = {k["kid"] for k in json.loads(self.relay.curl("auth", "/jwks.json").body)["keys"]}
        token = load(state)["tokens"]["access_token"]
        kid = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]
        self.assertIn(kid, before)
        reloads = len([l for l in self.relay.logs() if l.get("event") == "reloaded"])
        os.kill(self.relay.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(
            lambda: len([l for l in self.relay.logs() if l.get("event") == "reloaded"]) >= reloads + 2, 10))
        after = {k["kid"] for k in json.loads(self.relay.curl("auth", "/jwks.json").body)["keys"]}
        self.assertTrue(before < after, (before, after))  # new keys published, old ones kept
        # The token signed before the reload still works after it.
        run = OAuthClient(self.relay, state, step, calls=["echo"])
        self.assertEqual(run.result["calls"]["echo"], {"ok": True, "text": "hi"})
        self.assertEqual(run.result["token_requests"], [])

    # -- browsers ------------------------------------------------------------------------

    def browser_sign_in(self, browser, path="/hello/page?x=1"):
        """A navigation to the `other` tunnel, signed in on the dev page; the final page."""
        start = self.relay.url("other", path)
        page = browser.follow(start)
        self.assertEqual(page.status, 200, page.text[:300])
        self.assertIn("/signin/dev", page.text)
        return browser.submit(page, {"email": "carol@example.com"})

    def test_browser_signs_in_and_the_service_never_sees_the_session_cookie(self):
        browser = Browser(self.relay.ca_path)
        host = f"other.localhost"
        browser.cookies.setdefault(host, {})["theme"] = "dark"
        page = self.browser_sign_in(browser)
        self.assertEqual(page.status, 200, page.text[:300])
        self.assertEqual(page.text, "hello from backend")
        self.assertEqual(page.url, self.relay.url("other", "/hello/page?x=1"))
        cookie = browser.cookie(host, "__Host-tg_session")
        self.assertIsNotNone(cookie)
        seen = self.other_service.seen("/hello/page")[-1]
        self.assertEqual(seen.headers.get("cookie"), "theme=dark")
        set_cookie = [v for k, v in browser.history[-2].header_list if k == "set-cookie"]
        self.assertTrue(any(v.startswith("__Host-tg_session=") and "Secure" in v and "HttpOnly" in v
                            and "SameSite=Lax" in v and "Path=/" in v for v in set_cookie), set_cookie)

        # The hand-off link works once only, and only on its own host.
        handoff = next(r.url for r in browser.history if "/.tunnelgate/handoff" in r.url)
        again = Browser(self.relay.ca_path).request(handoff)
        self.assertEqual(again.status, 400)
        self.assertIn("already used", again.text)

        # A non-browser request with the same cookie is the same person; without it, a 401.
        with_cookie = self.relay.curl("other", "/hello", headers=[f"Cookie: __Host-tg_session={cookie}"])
        self.assertEqual(with_cookie.status, 200, with_cookie.describe())
        bare = self.relay.curl("other", "/hello")
        self.assertEqual(bare.status, 401, bare.describe())
        forged = self.relay.curl("other", "/hello", headers=[f"Cookie: __Host-tg_session={cookie[:-6]}AAAAAA"])
        self.assertEqual(forged.status, 401, forged.describe())
        # A forged cookie in a browser sends it to sign in again.
        browser2 = Browser(self.relay.ca_path)
        browser2.cookies[host] = {"__Host-tg_session": cookie[:-6] + "AAAAAA"}
        bounce = browser2.request(self.relay.url("other", "/hello"))
        self.assertEqual(bounce.status, 302)
        self.assertTrue(bounce.location.startswith(self.issuer() + "/signin?"), bounce.location)

        # Sign-out on the tunnel removes the cookie and signs out on the auth host.
        out = browser.follow(self.relay.url("other", "/.tunnelgate/signout"))
        self.assertEqual(out.status, 200)
        self.assertIn("signed out", out.text)
        self.assertIsNone(browser.cookie(host, "__Host-tg_session"))
        self.assertIsNone(browser.cookie("auth.localhost", "__Host-tg_auth"))
        again = browser.request(self.relay.url("other", "/hello"))
        self.assertEqual(again.status, 302)

    def spki_hash(self):
        """base64 SHA-256 of the --dev leaf key (one key serves every name)."""
        pem = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.relay.https_port}",
                              "-servername", "other.localhost"], input=b"", capture_output=True,
                             timeout=20).stdout
        pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout"], input=pem, capture_output=True,
                             check=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                             capture_output=True, check=True).stdout
        return base64.b64encode(hashlib.sha256(der).digest()).decode()

    def test_chromium_signs_in_sees_the_page_and_signs_out(self):
        url = self.relay.url("other", "/hello/chromium")
        run = subprocess.run(["node", os.path.join(BROWSER_DIR, "signin.mjs"), url, "frank@example.com",
                              self.spki_hash()], cwd=BROWSER_DIR, capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr[-2000:])
        seen = json.loads(run.stdout.strip().splitlines()[-1])
        self.assertNotIn("error", seen, seen.get("error"))
        self.assertTrue(seen["first_url"].startswith(self.issuer() + "/signin?return_to="), seen)
        self.assertEqual(seen["signin_heading"], "Sign in")
        self.assertEqual(seen["after_signin_url"], url)
        self.assertEqual(seen["after_signin_text"].strip(), "hello from backend")
        session = [c for c in seen["cookies"] if c["name"] == "__Host-tg_session"]
        self.assertEqual(len(session), 1, seen["cookies"])
        self.assertEqual(session[0]["domain"], "other.localhost")
        self.assertTrue(session[0]["secure"] and session[0]["httpOnly"])
        self.assertEqual(session[0]["sameSite"], "Lax")
        self.assertFalse(seen["script_sees_session_cookie"])
        chromium_requests = [r for r in self.other_service.seen("/hello/chromium")]
        self.assertTrue(chromium_requests)
        self.assertFalse(any("tg_session" in r.headers.get("cookie", "") for r in chromium_requests))
        self.assertTrue(seen["signout_url"].startswith(self.issuer() + "/signout"), seen)
        self.assertIn("signed out", seen["signout_text"])
        self.assertNotIn("__Host-tg_session", seen["cookies_after_signout"])
        self.assertNotIn("__Host-tg_auth", seen["cookies_after_signout"])
        self.assertTrue(seen["again_url"].startswith(self.issuer() + "/signin?"), seen)

    def test_open_redirects_are_refused(self):
        browser = Browser(self.relay.ca_path)
        for target in ("https://evil.example/", f"https://auth.localhost:{self.relay.https_port}/x",
                       "//evil.example/", "javascript:alert(1)",
                       f"https://other.localhost:{self.relay.https_port + 1}/"):
            page = browser.follow(self.issuer() + "/signin?return_to=" + urllib.parse.quote(target, safe=""))
            self.assertEqual(page.status, 200)
            done = browser.submit(page, {"email": "dave@example.com"})
            self.assertEqual(done.status, 200, target)
            self.assertIn("You are signed in as dave@example.com", done.text, target)
            self.assertFalse(any("evil.example" in (r.location or "") for r in browser.history), target)
            browser.cookies.pop("auth.localhost", None)

    def test_authorization_requests_that_must_fail(self):
        state = os.path.join(self.tmp, "erin.json")
        browser = Browser(self.relay.ca_path)
        step, _ = self.sign_in(browser, "erin@example.com", "eng")
        run = OAuthClient(self.relay, state, step, calls=[])
        self.assertEqual(run.result["event"], "done", run.result)
        client_id = load(state)["client"]["client_id"]
        good = urllib.parse.parse_qs(urllib.parse.urlsplit(run.authorize_urls[0]).query)
        good = {k: v[0] for k, v in good.items()}

        def authorize(**changes):
            query = dict(good, **changes)
            query = {k: v for k, v in query.items() if v is not None}
            return browser.request(self.issuer() + "/authorize?" + urllib.parse.urlencode(query))

        # Unknown client or unregistered redirect URI: an error page, never a redirect.
        self.assertEqual(authorize(client_id="tgc1.forged").status, 400)
        wrong_redirect = authorize(redirect_uri="https://evil.example/cb")
        self.assertEqual(wrong_redirect.status, 400)
        self.assertIsNone(wrong_redirect.location)
        # Loopback redirect URIs match on any port (RFC 8252); the consent is remembered.
        other_port = authorize(redirect_uri="http://127.0.0.1:9/callback")
        self.assertEqual(other_port.status, 302)
        self.assertTrue(other_port.location.startswith("http://127.0.0.1:9/callback?code="))
        # Without PKCE, or with a resource that is not a tunnel of this relay: back with an error.
        for changes, error in (({"code_challenge": None}, "invalid_request"),
                               ({"code_challenge_method": "plain"}, "invalid_request"),
                               ({"resource": "https://evil.example/"}, "invalid_target"),
                               ({"resource": None}, "invalid_target"),
                               ({"response_type": "token"}, "unsupported_response_type")):
            answer = authorize(**changes)
            self.assertEqual(answer.status, 302, changes)
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.location).query)
            self.assertEqual(query["error"], [error], changes)
            self.assertEqual(query["iss"], [self.issuer()])

        # A consent POST without its CSRF token, or from another origin, is refused (another
        # scope: a consent not given yet).
        page = authorize(scope="notes:read")
        self.assertIn("Allow access?", page.text)
        form = page.form().fields
        no_csrf = browser.request(self.issuer() + "/consent", "POST",
                                  form={"request": form["request"], "decision": "allow"})
        self.assertEqual(no_csrf.status, 403)
        cross = browser.request(self.issuer() + "/consent", "POST",
                                form=dict(form, decision="allow"), headers={"Origin": "https://evil.example"})
        self.assertEqual(cross.status, 403)

        # A real code: PKCE mismatch, another client, a wrong redirect URI or resource fail;
        # the right request works once, and the replay fails.
        answer = browser.request(self.issuer() + "/consent", "POST", form=dict(form, decision="allow"),
                                 headers={"Origin": self.issuer()})
        self.assertEqual(answer.status, 302)
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.location).query)["code"][0]
        verifier = "x" * 43  # not the verifier the client made: the test holds no verifier
        base = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
                "redirect_uri": good["redirect_uri"], "code_verifier": verifier}
        mismatch = self.token_request(base)
        self.assertEqual(json.loads(mismatch.body)["error"], "invalid_grant")
        self.assertIn("PKCE", json.loads(mismatch.body)["error_description"])
        other_client = self.token_request(dict(base, client_id="tgc1.other"))
        self.assertIn("another client", json.loads(other_client.body)["error_description"])
        wrong_uri = self.token_request(dict(base, redirect_uri="http://127.0.0.1:8/cb"))
        self.assertIn("redirect_uri", json.loads(wrong_uri.body)["error_description"])
        wrong_resource = self.token_request(dict(base, code_verifier=load(state)["verifier"],
                                                 resource=self.relay.url("other", "")))
        self.assertEqual(json.loads(wrong_resource.body)["error"], "invalid_target")
        right = self.token_request(dict(base, code_verifier=load(state)["verifier"]))
        self.assertEqual(right.status, 200, right.body)
        tokens = json.loads(right.body)
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(tokens["scope"], "notes:read")
        replay = self.token_request(dict(base, code_verifier=load(state)["verifier"]))
        self.assertEqual(replay.status, 400)
        self.assertIn("already used", json.loads(replay.body)["error_description"])
        self.assertIsNotNone(self.relay.wait_for_log({"event": "code_replayed"}))
        # Revoking the refresh token (RFC 7009) ends its family.
        revoke = self.token_request({"token": tokens["refresh_token"], "client_id": client_id},
                                    path="/revoke")
        self.assertEqual(revoke.status, 200)
        refreshed = self.token_request({"grant_type": "refresh_token", "client_id": client_id,
                                        "refresh_token": tokens["refresh_token"]})
        self.assertEqual(json.loads(refreshed.body)["error"], "invalid_grant")

    def token_request(self, fields, path="/token"):
        body = urllib.parse.urlencode(fields).encode()
        raw = (f"POST {path} HTTP/1.1\r\nHost: auth.localhost:{self.relay.https_port}\r\n"
               f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
        return self.relay.request("auth", raw)


if __name__ == "__main__":
    unittest.main()
