"""Visitor identities on a real relay: bearer JWTs signed by the test (RS256, ES256, EdDSA,
with Node's crypto) against a local JWKS file, API keys, 401 challenges with the OAuth
protected-resource discovery hint, 403 bodies naming the request id, scopes, credentials
stripped before the service, the relay's signed assertion header, and a stream ended when
its token expires."""

import hashlib
import json
import os
import subprocess
import time
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUER = "https://idp.tg.test"
API_KEY = "tgk_ci-bot-secret-0123456789"
HEADER_KEY = "plain-header-key-42"


def jwt_tool(*args: str) -> str:
    return subprocess.run(["node", os.path.join(HERE, "jwt_tool.js"), *args], check=True,
                          capture_output=True, text=True, timeout=30).stdout


class Identity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.Relay(keys=("alice",),
                                  extra_config='api_key_header = "x-api-key"\n')
        cls.addClassCleanup(cls.relay.close)
        # `api_key_header` belongs to [policy], the config's last section.
        jwt_tool("keys", cls.relay.dir)
        with open(cls.relay.policy_path, "w") as f:
            f.write(f"""
[[expose]]
names = ["*"]
classes = ["human", "agent"]

[[access]]
id = "members"
names = ["secure"]
allow = ['jwt.groups.contains("staff")', 'api_key.name == "ci-bot"',
         'api_key.name == "header-bot"']
deny = ['http.path.startsWith("/private")']

[[access]]
id = "scoped"
names = ["scoped"]
allow = ['has(jwt.sub)']
scopes = ["notes:read"]

[[access]]
id = "open"
names = ["open"]
allow = ['true']

[[identity.jwt]]
issuer = "{ISSUER}"
jwks = "jwks.json"

[[identity.api_key]]
name = "ci-bot"
sha256 = "{hashlib.sha256(API_KEY.encode()).hexdigest()}"

[[identity.api_key]]
name = "header-bot"
sha256 = "{hashlib.sha256(HEADER_KEY.encode()).hexdigest()}"
""")
        cls.relay.start()
        cls.backend = harness.class_backend(cls, "identity-backend")
        port = cls.backend.port
        cls.pubs = [harness.publish_and_wait(cls.relay, f"{name}:80:localhost:{port}")[0]
                    for name in ("secure", "scoped", "open")]
        for pub in cls.pubs:
            cls.addClassCleanup(pub.close)

    def url(self, name, path="/whoami"):
        return self.relay.url(name, path)

    def token(self, alg="ES256", name="secure", **claims):
        now = int(time.time())
        payload = {"iss": ISSUER, "sub": "user-7", "email": "u7@example.com",
                   "aud": self.relay.url(name, "").rstrip("/"), "groups": ["staff"],
                   "iat": now, "exp": now + 600, **claims}
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt_tool("sign", self.relay.dir, alg, alg.lower(), json.dumps(payload))

    def get(self, name="secure", path="/whoami", headers=()):
        return harness.curl(self.url(name, path), ca=self.relay.ca_path, headers=list(headers))

    def bearer(self, token, name="secure", path="/whoami"):
        return self.get(name, path, [f"Authorization: Bearer {token}"])

    def test_tokens_of_every_accepted_algorithm_are_let_in(self):
        for alg in ("RS256", "ES256", "EdDSA"):
            with self.subTest(alg=alg):
                r = self.bearer(self.token(alg), path=f"/whoami?alg={alg}")
                self.assertEqual(r.status, 200, r.describe())
                self.assertEqual(r.body, b"identity-backend")
                seen = self.backend.seen(f"alg={alg}")[-1]
                # The credential stops at the relay; the service gets the relay's assertion.
                self.assertNotIn("authorization", seen.headers)
                self.assertIn("x-tunnelgate-assertion", seen.headers)

    def test_the_assertion_is_signed_by_the_published_key_and_names_the_caller(self):
        r = self.bearer(self.token("RS256"), path="/whoami?assert=1")
        self.assertEqual(r.status, 200, r.describe())
        assertion = self.backend.seen("assert=1")[-1].headers["x-tunnelgate-assertion"]
        jwks = self.get("secure", "/.well-known/tunnelgate/jwks.json")
        self.assertEqual(jwks.status, 200, jwks.describe())
        keys = json.loads(jwks.body)["keys"]
        self.assertTrue(keys and all(k["kty"] == "EC" and k["crv"] == "P-256" for k in keys))
        jwks_path = os.path.join(self.relay.dir, "relay-jwks.json")
        with open(jwks_path, "wb") as f:
            f.write(jwks.body)
        claims = json.loads(jwt_tool("verify", jwks_path, assertion))
        self.assertEqual(claims["sub"], "user-7")
        self.assertEqual(claims["email"], "u7@example.com")
        self.assertEqual(claims["groups"], ["staff"])
        self.assertEqual(claims["tunnel"], "secure")
        self.assertEqual(claims["class"], "human")
        self.assertEqual(claims["aud"], self.relay.url("secure", "").rstrip("/"))
        self.assertEqual(claims["iss"], f"https://{self.relay.domain}:{self.relay.https_port}")
        self.assertLessEqual(claims["exp"] - claims["iat"], 60)

    def test_a_visitor_cannot_forge_the_assertion(self):
        r = self.get("open", "/whoami?forged=1", ["X-Tunnelgate-Assertion: forged.by.visitor"])
        self.assertEqual(r.status, 200, r.describe())
        self.assertNotIn("x-tunnelgate-assertion", self.backend.seen("forged=1")[-1].headers)

    def test_anonymous_callers_are_challenged_with_the_discovery_hint(self):
        r = self.get(path="/whoami?anon")
        self.assertEqual(r.status, 401, r.describe())
        metadata_url = self.relay.url("secure", "/.well-known/oauth-protected-resource")
        self.assertEqual(r.headers["www-authenticate"],
                         f'Bearer resource_metadata="{metadata_url}"')
        self.assertEqual(json.loads(r.body)["error"], "unauthorized")
        self.assertEqual(self.backend.seen("/whoami?anon"), [])
        self.assertEqual(r.headers.get("strict-transport-security"), "max-age=63072000; includeSubDomains")

        doc = harness.curl(metadata_url, ca=self.relay.ca_path)
        self.assertEqual(doc.status, 200, doc.describe())
        self.assertEqual(doc.headers.get("strict-transport-security"), "max-age=63072000; includeSubDomains")
        meta = json.loads(doc.body)
        self.assertEqual(meta["resource"], self.relay.url("secure", "").rstrip("/"))
        self.assertEqual(meta["authorization_servers"], [ISSUER])
        self.assertEqual(meta["bearer_methods_supported"], ["header"])

    def test_a_tunnel_that_reads_no_identity_refuses_with_403_not_401(self):
        # "open" lets everyone in; a name no rule covers is denied without a challenge.
        r = self.get("open")
        self.assertEqual(r.status, 200, r.describe())

    def test_bad_tokens_get_401_invalid_token(self):
        now = int(time.time())
        cases = {
            "expired": self.token(exp=now - 3600, iat=now - 7200),
            "another audience": self.token(aud="https://elsewhere.example"),
            "alg none": self.token("none"),
            "unknown issuer": self.token(iss="https://evil.example"),
            "malformed": "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln",
            "tampered": self.token()[:-4] + "AAAA",
        }
        for why, token in cases.items():
            with self.subTest(why):
                r = self.bearer(token, path="/whoami?bad")
                self.assertEqual(r.status, 401, r.describe())
                challenge = r.headers["www-authenticate"]
                self.assertIn('error="invalid_token"', challenge)
                self.assertIn("resource_metadata=", challenge)
                body = json.loads(r.body)
                self.assertTrue(body["request_id"])
        self.assertIn("expired", self.bearer(cases["expired"]).headers["www-authenticate"])
        self.assertEqual(self.backend.seen("/whoami?bad"), [])

    def test_authenticated_but_denied_gets_403_naming_the_request_not_the_rule(self):
        r = self.bearer(self.token(groups=["guests"]))
        self.assertEqual(r.status, 403, r.describe())
        body = json.loads(r.body)
        self.assertEqual(body["error"], "forbidden")
        self.assertRegex(body["request_id"], r"^w\d+-\d+$")
        audit = self.relay.wait_for_log(lambda l: l.get("event") == "request"
                                        and l.get("request_id") == body["request_id"])
        self.assertEqual(audit["status"], 403)
        self.assertNotIn(b"members", r.body)
        self.assertNotIn(b"staff", r.body)
        # Deny wins over the allow the token satisfies.
        r = self.bearer(self.token(), path="/private/x")
        self.assertEqual(r.status, 403, r.describe())

    def test_api_keys_in_authorization_or_the_configured_header(self):
        r = self.get(path="/whoami?key=bearer", headers=[f"Authorization: Bearer {API_KEY}"])
        self.assertEqual(r.status, 200, r.describe())
        self.assertNotIn("authorization", self.backend.seen("key=bearer")[-1].headers)
        r = self.get(path="/whoami?key=header", headers=[f"X-Api-Key: {HEADER_KEY}"])
        self.assertEqual(r.status, 200, r.describe())
        seen = self.backend.seen("key=header")[-1].headers
        self.assertNotIn("x-api-key", seen)
        self.assertIn("x-tunnelgate-assertion", seen)
        r = self.get(headers=["Authorization: Bearer tgk_not-a-key"])
        self.assertEqual(r.status, 401, r.describe())
        # Another scheme is the service's business: passed on, and here not enough.
        r = self.get("open", "/whoami?basic=1", ["Authorization: Basic dXNlcjpwYXNz"])
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(self.backend.seen("basic=1")[-1].headers["authorization"],
                         "Basic dXNlcjpwYXNz")

    def test_tokens_in_the_query_string_are_refused(self):
        r = self.get(path=f"/whoami?x=1&access_token={self.token()}")
        self.assertEqual(r.status, 400, r.describe())
        self.assertEqual(json.loads(r.body)["error"], "invalid_request")

    def test_missing_scopes_get_insufficient_scope(self):
        r = self.bearer(self.token(name="scoped"), name="scoped")
        self.assertEqual(r.status, 403, r.describe())
        challenge = r.headers["www-authenticate"]
        self.assertIn('error="insufficient_scope"', challenge)
        self.assertIn('scope="notes:read"', challenge)
        r = self.bearer(self.token(name="scoped", scope="openid notes:read"), name="scoped")
        self.assertEqual(r.status, 200, r.describe())
        meta = json.loads(self.get("scoped", "/.well-known/oauth-protected-resource").body)
        self.assertEqual(meta["scopes_supported"], ["notes:read"])

    def test_the_audit_trail_names_the_subject(self):
        r = self.bearer(self.token(), path="/whoami?audited=1")
        self.assertEqual(r.status, 200, r.describe())
        line = self.relay.wait_for_log(lambda l: l.get("event") == "request"
                                       and "audited=1" in l.get("path", ""))
        self.assertIsNotNone(line)
        self.assertEqual(line["subject"], "user-7")

    def test_a_stream_ends_when_its_token_expires(self):
        # The verifier allows 60 s of clock skew: a token that expired 58 s ago is accepted
        # for about two more seconds, then its event stream must end.
        now = int(time.time())
        token = self.token(exp=now - 58, iat=now - 120)
        sock = self.relay.tls("secure", timeout=20)
        self.addCleanup(sock.close)
        host = f"secure.{self.relay.domain}:{self.relay.https_port}"
        sock.sendall((f"GET /sse?id=expiry&hold=30 HTTP/1.1\r\nHost: {host}\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode())
        resp = harness.HttpResponse(sock)
        resp.read_head()
        self.assertEqual(resp.status, 200)
        body = b"".join(resp.iter_body())
        self.assertIn(b"data: first", body)
        self.assertNotIn(b"data: second", body)  # cut before the backend's 30 s hold ended
        self.assertFalse(resp.complete)
        self.assertIsNotNone(self.relay.wait_for_log({"event": "stream_expired"}))


if __name__ == "__main__":
    unittest.main()
