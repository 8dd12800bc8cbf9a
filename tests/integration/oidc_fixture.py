"""The test OpenID Provider (tests/oidc/provider.mjs, the npm package oidc-provider) for the
sign-in tests: started over HTTPS on a free loopback port with a CA and certificate made by
the openssl CLI, and a `login` that signs a test person in with plain HTTP and a cookie jar.

    with OidcProvider(clients=[{"client_id": "relay", "client_secret": "…",
                                "redirect_uris": ["https://auth.tg.test/callback"]}]) as op:
        op.issuer, op.ca                       # what a [[signin.provider]] table names
        callback = op.login(authorization_url, "alice@example.com")

The people are listed in provider.mjs (alice@example.com: groups eng, admins; bob@example.com:
sales; carol@other.test; dave@example.com with an unverified email)."""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from harness import free_port, run

OIDC_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "oidc"))


def oidc_provider_installed() -> bool:
    return shutil.which("node") is not None and os.path.isdir(
        os.path.join(OIDC_DIR, "node_modules", "oidc-provider"))


def make_loopback_certificate(directory: str) -> dict[str, str]:
    """A CA and a leaf for localhost (and IP 127.0.0.1); returns paths ca, cert, key."""
    p = lambda name: os.path.join(directory, name)  # noqa: E731
    ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    run(["openssl", "genpkey", *ec, "-out", p("ca.key")])
    run(["openssl", "req", "-x509", "-new", "-key", p("ca.key"), "-sha256", "-days", "30",
         "-subj", "/CN=test OpenID provider CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", p("ca.pem")])
    run(["openssl", "genpkey", *ec, "-out", p("key.pem")])
    run(["openssl", "req", "-new", "-key", p("key.pem"), "-subj", "/CN=localhost", "-out", p("leaf.csr")])
    with open(p("leaf.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-in", p("leaf.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
         "-CAcreateserial", "-days", "30", "-sha256", "-extfile", p("leaf.ext"), "-out", p("cert.pem")])
    return {"ca": p("ca.pem"), "cert": p("cert.pem"), "key": p("key.pem")}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None


class OidcProvider:
    """One running provider; a context manager (stops it and removes its files on exit)."""

    def __init__(self, clients: list[dict], faults: tuple[str, ...] = ()):
        self.clients = clients
        self.faults = list(faults)
        self.dir = tempfile.mkdtemp(prefix="tg-oidc-")
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def issuer(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def ca(self) -> str:
        return os.path.join(self.dir, "ca.pem")

    def start(self) -> "OidcProvider":
        files = make_loopback_certificate(self.dir)
        self.port = free_port()
        config_path = os.path.join(self.dir, "provider.json")
        with open(config_path, "w") as f:
            json.dump({"port": self.port, "cert": files["cert"], "key": files["key"],
                       "issuer": self.issuer, "clients": self.clients, "faults": self.faults}, f)
        with open(os.path.join(self.dir, "stderr"), "w") as stderr:
            self.process = subprocess.Popen(["node", os.path.join(OIDC_DIR, "provider.mjs"), config_path],
                                            stdout=subprocess.PIPE, stderr=stderr, text=True)
        line = self.process.stdout.readline()  # "ready PORT", or "" when it died
        if not line.startswith("ready "):
            self.stop()
            raise RuntimeError("the test OpenID provider did not start: " + self.stderr())
        return self

    def stderr(self) -> str:
        try:
            with open(os.path.join(self.dir, "stderr")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> "OidcProvider":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def login(self, authorization_url: str, email: str, max_steps: int = 12) -> str:
        """Follows the provider's redirects from `authorization_url` with a cookie jar, submits
        the login form for `email`, and returns the URL the provider finally redirects to that
        is not its own (the client's callback, with code and state, or an error)."""
        context = ssl.create_default_context(cafile=self.ca)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                             urllib.request.HTTPSHandler(context=context), _NoRedirect())
        url, data = authorization_url, None
        for _ in range(max_steps):
            if not url.startswith(self.issuer + "/"):
                return url
            try:
                response = opener.open(urllib.request.Request(url, data=data), timeout=10)
                status, headers, body = response.status, response.headers, response.read().decode()
            except urllib.error.HTTPError as e:
                status, headers, body = e.code, e.headers, e.read().decode(errors="replace")
            data = None
            if status in (302, 303):
                url = urllib.parse.urljoin(url, headers["Location"])
                continue
            form = re.search(r'<form method="post" action="([^"]+)">', body)
            if status == 200 and form:
                url = urllib.parse.urljoin(url, form.group(1))
                data = urllib.parse.urlencode({"login": email}).encode()
                continue
            raise RuntimeError(f"login at {url}: HTTP {status}: {body[:500]}")
        raise RuntimeError("login: too many steps")
