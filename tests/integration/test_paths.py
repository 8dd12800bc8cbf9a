"""Request paths: the policy decides on the path the service receives.

The published service is a real web framework, Hono 4 on Node (tests/hono/server.mjs, pinned in
tests/hono/package-lock.json), with routes /admin/* and /public/*; it records every request it
receives. The policy denies http.path.startsWith("/admin"). Every way of spelling /admin that a
framework reads as /admin (escapes, dot segments, repeated slashes, escaped and raw
backslashes) must be refused (403, or 400 for what has no safe normal form) and never reach
the service; allowed paths reach it in their normal form. A second relay relaxes the settings
([paths]) and shows each one take effect."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.request
import uuid

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
HONO_DIR = os.path.join(HERE, "..", "hono")

POLICY = """[[expose]]
names = ["*"]

[[access]]
id = "paths"
names = ["*"]
allow = ['true']
deny = ['http.path.startsWith("/admin")', 'http.raw_target.contains("debug=1")']
"""

# Each is /admin/x (or /admin) to a framework that decodes, resolves dot segments, or takes
# a backslash for a slash; the relay must never let one through.
ADMIN_SPELLINGS = [
    "/admin/x",
    "/%61dmin/x",
    "/%61%64%6d%69%6e/x",
    "/./admin/x",
    "/x/../admin/x",
    "/%2e/admin/x",
    "/%2E%2E/admin/x",
    "/public/../admin/x",
    "/public/.%2e/admin/x",
    "/public/%2e%2e/admin/x",
    "//admin",
    "//admin/x",
    "/public//..//admin/x",
]
# These have no safe normal form under the default settings: 400 before any decision.
REFUSED_SPELLINGS = {
    "/public/..%2Fadmin/x": "escaped_slash",
    "/public/..%2fadmin/x": "escaped_slash",
    "/public/..%5Cadmin/x": "escaped_slash",
    "/public\\..\\admin/x": "backslash",
    "/\\admin/x": "backslash",
    "/admin%00/x": "encoded_nul",
    "/%6": "bad_percent_encoding",
    "/public/%zz": "bad_percent_encoding",
}


class HonoService:
    """node tests/hono/server.mjs on a free port, recording requests to a file."""

    def __init__(self):
        if not os.path.isdir(os.path.join(HONO_DIR, "node_modules", "hono")):
            raise AssertionError("tests/hono/node_modules is missing: run tools/setup.sh")
        self.port = harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="tg-hono-")
        self.record = os.path.join(self.dir, "requests.jsonl")
        open(self.record, "w").close()
        self.proc = subprocess.Popen(["node", os.path.join(HONO_DIR, "server.mjs"), str(self.port),
                                      self.record], cwd=HONO_DIR, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        line = self.proc.stdout.readline()
        if not line.startswith(b"listening"):
            self.close()
            raise AssertionError(f"the Hono service did not start: {line!r}")

    def requests(self) -> list[dict]:
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start(cls, paths_config: str = ""):
    cls.hono = HonoService()
    cls.addClassCleanup(cls.hono.close)
    cls.admin_port = harness.free_port()
    cls.relay = harness.Relay(extra_config=f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n'
                                           + paths_config)
    cls.addClassCleanup(cls.relay.close)
    with open(cls.relay.policy_path, "w") as f:
        f.write(POLICY)
    cls.relay.start()
    cls.name = f"hono-{uuid.uuid4().hex[:8]}"
    cls.pub, _ = harness.publish_and_wait(cls.relay, f"{cls.name}:80:localhost:{cls.hono.port}")
    cls.addClassCleanup(cls.pub.close)


def raw_get(relay, name, target: str) -> harness.HttpResponse:
    """One request with `target` exactly as written (curl would resolve dot segments itself,
    and some bytes, such as a backslash, only a raw client sends as they are)."""
    host = f"{relay.host(name)}:{relay.https_port}"
    return relay.request(name, f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                         .encode())


class DefaultPaths(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start(cls)

    def get(self, target):
        return raw_get(self.relay, self.name, target)

    def seen_targets(self):
        return [r["target"] for r in self.hono.requests()]

    def test_every_spelling_of_admin_is_denied_and_never_reaches_the_service(self):
        before = len(self.hono.requests())
        for target in ADMIN_SPELLINGS:
            with self.subTest(target=target):
                self.assertEqual(self.get(target).status, 403)
        for target, reason in REFUSED_SPELLINGS.items():
            with self.subTest(target=target):
                response = self.get(target)
                self.assertEqual(response.status, 400)
                self.assertIn(reason.encode(), bytes(response.body))
        self.assertEqual(self.hono.requests()[before:], [])

    def test_allowed_paths_reach_the_service_in_their_normal_form(self):
        cases = {
            "/public/%7Euser": "/public/~user",
            "/public/%7euser?q=%7E&r=/../x": "/public/~user?q=%7E&r=/../x",
            "/public/./a/../b": "/public/b",
            "/public//c///d/": "/public/c/d/",
            "/x/../public/caf%c3%a9": "/public/caf%C3%A9",
            "/admin/../public/e": "/public/e",
            "/%2561dmin/x": "/%2561dmin/x",  # one decoding only: "%61dmin" to the service
        }
        for sent, forwarded in cases.items():
            with self.subTest(sent=sent):
                response = self.get(sent)
                self.assertIn(response.status, (200, 404))
                self.assertEqual(self.seen_targets()[-1], forwarded)
        self.assertEqual(bytes(self.get("/public/%7Euser").body), b"public: /public/~user")
        # curl, as a visitor would use it, sees the same.
        result = self.relay.curl(self.name, "/public/%7Euser/./z", extra=("--path-as-is",))
        self.assertEqual((result.status, result.body), (200, b"public: /public/~user/z"))
        self.assertNotIn("admin", [r["route"] for r in self.hono.requests()])

    def test_rules_can_read_the_target_as_sent(self):
        self.assertEqual(self.get("/public/a?debug=1").status, 403)
        self.assertEqual(self.get("/public/a?debug=0").status, 200)
        self.get("/public/%7Elogged")
        line = self.relay.wait_for_log({"event": "request", "path": "/public/~logged"})
        self.assertIsNotNone(line, self.relay.log_text())
        self.assertEqual(line.get("raw_target"), "/public/%7Elogged")

    def test_refusals_are_counted_and_logged_by_reason(self):
        self.get("/public/%2Fcounted")
        line = self.relay.wait_for_log({"event": "path_refused", "target": "/public/%2Fcounted"})
        self.assertIsNotNone(line, self.relay.log_text())
        self.assertEqual((line["reason"], line["level"]), ("escaped_slash", "warn"))
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        counted = 0
        for sample in metrics.splitlines():
            if sample.startswith("tunnelgate_paths_refused_total{") and 'reason="escaped_slash"' in sample:
                counted += int(sample.rsplit(" ", 1)[1])
        self.assertGreaterEqual(counted, 1, metrics)


class RelaxedPaths(unittest.TestCase):
    """[paths] merge_slashes = false, escaped_slashes = "keep", backslash = "slash"."""

    @classmethod
    def setUpClass(cls):
        start(cls, '\n[paths]\nmerge_slashes = false\nescaped_slashes = "keep"\nbackslash = "slash"\n')

    def get(self, target):
        return raw_get(self.relay, self.name, target)

    def test_each_setting_takes_effect(self):
        # Kept escaped slashes are no separators: forwarded as sent (hex upper-cased).
        self.assertEqual(self.get("/public/a%2fb").status, 200)
        self.assertEqual(self.hono.requests()[-1]["target"], "/public/a%2Fb")
        # Backslashes read as slashes, then dot segments removed: /admin/x, denied.
        before = len(self.hono.requests())
        self.assertEqual(self.get("/public\\..\\admin/x").status, 403)
        self.assertEqual(len(self.hono.requests()), before)
        # Repeated slashes are kept.
        self.get("/public//c")
        self.assertEqual(self.hono.requests()[-1]["target"], "/public//c")
        # What cannot be relaxed is still refused.
        self.assertEqual(self.get("/public/%00").status, 400)


if __name__ == "__main__":
    unittest.main()
