"""testssl.sh against the relay: protocols, cipher categories, server defaults (certificate,
tickets) and HTTP security headers of an answer the relay writes itself (an unknown name's
404). No finding may be MEDIUM or above, except those the test's own certificate causes (a
private CA, 30 days, no revocation URLs), listed by id so that any new finding fails.
TG_TESTSSL_FULL=1 adds the vulnerability checks (-U: several minutes on two cores)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

SEVERE = {"MEDIUM", "HIGH", "CRITICAL"}

# Caused by the certificate the harness makes, not by the relay: a real deployment's
# certificate chains to a public root, lives longer than 30 days and names a CRL or OCSP URL.
CERTIFICATE_FINDINGS = {
    "cert_chain_of_trust",    # the harness's private CA is not in testssl's trust stores
    "cert_expirationStatus",  # the harness's certificate is valid for 30 days
    "cert_notAfter",          # … the same, said of its end date
    "cert_revocation",        # neither CRL nor OCSP URL in a test certificate
}


class TestSsl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, workers=1)

    def test_no_medium_or_worse_finding_but_the_test_certificates(self):
        testssl = shutil.which("testssl") or shutil.which("testssl.sh")
        self.assertIsNotNone(testssl, "testssl.sh is not installed (tools/setup.sh installs it)")
        tmp = tempfile.mkdtemp(prefix="tg-testssl-")
        self.addCleanup(shutil.rmtree, tmp, True)
        report = os.path.join(tmp, "findings.json")
        checks = ["-p", "-s", "-S", "-h"] + (["-U"] if os.environ.get("TG_TESTSSL_FULL") else [])
        url = f"https://{self.relay.host('no-such-name')}:{self.relay.https_port}/"
        proc = subprocess.run(
            [testssl, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none",
             "--ip", "127.0.0.1", "--jsonfile", report, *checks, url],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=900)
        output = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        self.assertTrue(os.path.exists(report), f"testssl.sh wrote no report (exit {proc.returncode}):\n{output}")
        with open(report) as f:
            findings = json.load(f)
        ids = {finding["id"] for finding in findings}
        # The scan reached the relay's answer and saw its headers, or it proves nothing.
        self.assertIn("HTTP_status_code", ids, output)
        hsts = [f for f in findings if f["id"] == "HSTS_time"]
        self.assertTrue(hsts and hsts[0]["severity"] == "OK", f"HSTS: {hsts}\n{output}")
        severe = [f"{f['severity']} {f['id']}: {f['finding']}" for f in findings
                  if f.get("severity") in SEVERE and f["id"] not in CERTIFICATE_FINDINGS]
        self.assertEqual(severe, [], output)


if __name__ == "__main__":
    unittest.main()
