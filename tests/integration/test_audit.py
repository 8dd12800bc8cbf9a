"""The audit trail: one JSON line per decision (exposures and requests) with the rule, the
tunnel, its class, who and from where, and a request id; credentials never appear in it; and
with audit.required, a trail that cannot be written stops new exposures, loudly."""

import json
import os
import unittest

import harness


class AuditTrail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.Relay(extra_config='\n[audit]\nfile = "audit.jsonl"\n')
        cls.addClassCleanup(cls.relay.close)
        alice = cls.relay.keys["alice"].fingerprint
        with open(cls.relay.policy_path, "w") as f:
            f.write(f"""
[[expose]]
id = "only-docs"
names = ["docs"]
when = 'ssh.key == "{alice}"'

[[access]]
id = "readers"
names = ["docs"]
allow = ['http.method == "GET"']
""")
        cls.relay.start()
        cls.backend = harness.class_backend(cls, "audit-backend")

    def audit_lines(self):
        with open(os.path.join(self.relay.dir, "audit.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_exposures_and_requests_are_audited_without_credentials(self):
        pub = self.relay.publish(f"docs:80:localhost:{self.backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        refused = self.relay.publish(f"other:80:localhost:{self.backend.port}")
        self.addCleanup(refused.close)
        refused.wait_for_text('cannot publish "other"')
        self.assertEqual(self.relay.curl("docs", "/whoami",
                                         headers=["Authorization: Bearer very-secret-token"]).status, 200)
        denied = self.relay.curl("docs", "/echo", data=b"x")
        self.assertEqual(denied.status, 403)

        def decisions():
            return [(l["decision"], l.get("tunnel")) for l in self.audit_lines()]
        harness.wait_until(lambda: ("deny", "docs") in decisions(), 5)
        lines = self.audit_lines()
        exposed = next(l for l in lines if l["decision"] == "expose_allowed")
        self.assertEqual((exposed["tunnel"], exposed["rule"], exposed["class"]), ("docs", "only-docs", "human"))
        self.assertEqual(exposed["key"], self.relay.keys["alice"].fingerprint)
        self.assertIn(("expose_refused", "other"), decisions())
        allowed = next(l for l in lines if l["decision"] == "allow")
        self.assertEqual((allowed["rule"], allowed["method"], allowed["path"]), ("readers", "GET", "/whoami"))
        deny = next(l for l in lines if l["decision"] == "deny")
        self.assertEqual(deny["reason"], "no allow rule matched")
        self.assertIn(deny["request_id"].encode(), denied.body, "the visitor can quote the id")
        with open(os.path.join(self.relay.dir, "audit.jsonl")) as f:
            self.assertNotIn("very-secret-token", f.read())


class RequiredAudit(unittest.TestCase):
    def test_an_unwritable_trail_stops_new_exposures(self):
        relay = harness.Relay(extra_config='\n[audit]\nfile = "/dev/full"\nrequired = true\n')
        self.addCleanup(relay.close)
        relay.start()
        backend = harness.Backend("audit-full")
        self.addCleanup(backend.close)
        first = relay.publish(f"first:80:localhost:{backend.port}")
        self.addCleanup(first.close)
        first.wait_for_url()  # decided before the failed write was known
        self.assertIsNotNone(relay.wait_for_log({"event": "audit_write_failed"}, timeout=5))
        second = relay.publish(f"second:80:localhost:{backend.port}")
        self.addCleanup(second.close)
        second.wait_for_text("cannot write its audit trail")


if __name__ == "__main__":
    unittest.main()
