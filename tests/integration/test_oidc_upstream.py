"""Sign-in through an upstream OpenID provider (relay/auth/upstream), against a real one: the
npm package oidc-provider (tests/oidc/provider.mjs), driven by tests/tools/upstream_probe
(built beside the relay) until the relay's own sign-in endpoints call the same code.

Each test starts the probe with a [[signin.provider]] table, signs a person in through the
provider's login form with plain HTTP (oidc_fixture.login), and hands the callback to the probe,
which exchanges the code and verifies the id_token."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import tg_bin
from oidc_fixture import OidcProvider, oidc_provider_installed

CLIENT_ID = "tunnelgate-relay"
CLIENT_SECRET = "s3cret-for-the-test-provider-only"
REDIRECT_URI = "https://auth.tg.test/callback"


def probe_bin() -> str:
    path = os.path.join(os.path.dirname(tg_bin()), "tests", "upstream_probe")
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: build the tests (upstream_probe target)")
    return path


class UpstreamSignIn(unittest.TestCase):
    def setUp(self):
        # Never a skip: tools/setup.sh installs the provider (npm ci in tests/oidc).
        self.assertTrue(oidc_provider_installed(), "tests/oidc/node_modules missing: run tools/setup.sh")
        self.dir = tempfile.mkdtemp(prefix="tg-oidc-probe-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def provider(self, faults: tuple[str, ...] = (), auth_method: str = "client_secret_basic") -> OidcProvider:
        op = OidcProvider([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                            "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": auth_method}],
                          faults=faults)
        op.start()
        self.addCleanup(op.__exit__, None, None, None)
        return op

    def providers_toml(self, op: OidcProvider, secret: str = CLIENT_SECRET, extra: str = "") -> str:
        secret_path = os.path.join(self.dir, "client_secret")
        with open(secret_path, "w") as f:
            f.write(secret + "\n")
        os.chmod(secret_path, 0o600)
        path = os.path.join(self.dir, "providers.toml")
        with open(path, "w") as f:
            f.write(f'[[signin.provider]]\nid = "test-op"\ndisplay_name = "Test OP"\n'
                    f'issuer = "{op.issuer}"\nclient_id = "{CLIENT_ID}"\n'
                    f'client_secret_file = "client_secret"\nca_file = "{op.ca}"\n{extra}')
        return path

    def probe(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([probe_bin(), *args], capture_output=True, text=True, timeout=60)

    def start(self, providers: str) -> str:
        started = self.probe("start", providers, os.path.join(self.dir, "state"), REDIRECT_URI)
        self.assertEqual(started.returncode, 0, started.stderr)
        return started.stdout.strip()

    def sign_in(self, op: OidcProvider, providers: str, email: str, *finish_args: str) -> subprocess.CompletedProcess:
        callback = op.login(self.start(providers), email)
        self.assertTrue(callback.startswith(REDIRECT_URI + "?"), callback)
        return self.probe("finish", providers, os.path.join(self.dir, "state"), callback, *finish_args)

    def test_alice_signs_in_and_her_identity_is_verified(self):
        op = self.provider()
        providers = self.providers_toml(op)
        url = self.start(providers)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        self.assertTrue(url.startswith(op.issuer + "/auth?"), url)
        self.assertEqual(query["response_type"], ["code"])
        self.assertEqual(query["client_id"], [CLIENT_ID])
        self.assertEqual(query["redirect_uri"], [REDIRECT_URI])
        self.assertEqual(query["scope"], ["openid email profile"])
        self.assertEqual(query["code_challenge_method"], ["S256"])
        self.assertEqual(len(query["code_challenge"][0]), 43)
        for name in ("state", "nonce"):
            self.assertGreaterEqual(len(query[name][0]), 43)

        callback = op.login(url, "alice@example.com")
        finished = self.probe("finish", providers, os.path.join(self.dir, "state"), callback)
        self.assertEqual(finished.returncode, 0, finished.stderr)
        self.assertEqual(json.loads(finished.stdout),
                         {"sub": "sub-alice-example-com", "email": "alice@example.com", "email_verified": True,
                          "groups": ["eng", "admins"], "name": "Alice Example", "idp": "test-op"})

    def test_bob_signs_in_with_client_secret_post_when_discovery_lists_only_that(self):
        op = self.provider(faults=("post-only",), auth_method="client_secret_post")
        providers = self.providers_toml(op)
        finished = self.sign_in(op, providers, "bob@example.com")
        self.assertEqual(finished.returncode, 0, finished.stderr)
        identity = json.loads(finished.stdout)
        self.assertEqual((identity["email"], identity["groups"]), ("bob@example.com", ["sales"]))

    def test_wrong_client_secret_is_refused_by_the_token_endpoint(self):
        op = self.provider()
        providers = self.providers_toml(op, secret="not-the-secret")
        finished = self.sign_in(op, providers, "alice@example.com")
        self.assertEqual(finished.returncode, 1, finished.stdout)
        self.assertIn("token endpoint: invalid_client", finished.stderr)

    def test_wrong_nonce_is_refused(self):
        op = self.provider()
        providers = self.providers_toml(op)
        finished = self.sign_in(op, providers, "alice@example.com", "--nonce", "another-nonce")
        self.assertEqual(finished.returncode, 1, finished.stdout)
        self.assertEqual(finished.stderr.strip(), "id_token: nonce does not match")

    def test_tampered_id_token_is_refused(self):
        op = self.provider(faults=("tamper-id-token",))
        providers = self.providers_toml(op)
        finished = self.sign_in(op, providers, "alice@example.com")
        self.assertEqual(finished.returncode, 1, finished.stdout)
        self.assertEqual(finished.stderr.strip(), "id_token: signature does not verify")

    def test_discovery_naming_another_issuer_is_refused(self):
        op = self.provider(faults=("wrong-issuer",))
        providers = self.providers_toml(op)
        started = self.probe("start", providers, os.path.join(self.dir, "state"), REDIRECT_URI)
        self.assertEqual(started.returncode, 1, started.stdout)
        self.assertEqual(started.stderr.strip(),
                         f'discovery: issuer "https://impostor.invalid" is not the configured "{op.issuer}"')

    def test_email_outside_the_allowed_domains_is_refused(self):
        op = self.provider()
        providers = self.providers_toml(op, extra='allowed_email_domains = ["example.com"]\n')
        finished = self.sign_in(op, providers, "carol@other.test")
        self.assertEqual(finished.returncode, 1, finished.stdout)
        self.assertEqual(finished.stderr.strip(),
                         'id_token: the email\'s domain is not allowed for provider "test-op"')
        # The same table lets alice in.
        finished = self.sign_in(op, providers, "alice@example.com")
        self.assertEqual(finished.returncode, 0, finished.stderr)

    def test_unverified_email_is_refused(self):
        op = self.provider()
        providers = self.providers_toml(op)
        finished = self.sign_in(op, providers, "dave@example.com")
        self.assertEqual(finished.returncode, 1, finished.stdout)
        self.assertEqual(finished.stderr.strip(), "id_token: the provider says the email is not verified")


if __name__ == "__main__":
    unittest.main()
