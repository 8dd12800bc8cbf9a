"""Client certificates (mTLS) through a real `ssh -R` tunnel: curl presents certificates made
with openssl; the policy decides on tls.client_cert.fingerprint, .san and .subject; optional
mode lets a visitor without a certificate reach the policy (which denies), required mode
fails the handshake; a certificate from another CA never gets through; the audit line names
the certificate; a broken client_ca is a file:line error."""

import base64
import hashlib
import json
import os
import subprocess
import unittest

import harness


def make_client_ca(directory: str, name: str) -> tuple[str, str]:
    """A CA (EC P-256) for client certificates; returns (certificate path, key path)."""
    cert, key = os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key")
    harness.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", key])
    harness.run(["openssl", "req", "-x509", "-new", "-key", key, "-sha256", "-days", "30",
                 "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", cert])
    return cert, key


class ClientCert:
    """A client key and certificate signed by `ca`, with its fingerprint as the relay prints it."""

    def __init__(self, directory: str, name: str, ca: tuple[str, str], subject: str, san: str):
        self.key = os.path.join(directory, f"{name}.key")
        self.cert = os.path.join(directory, f"{name}.pem")
        csr, ext = os.path.join(directory, f"{name}.csr"), os.path.join(directory, f"{name}.ext")
        harness.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-out", self.key])
        harness.run(["openssl", "req", "-new", "-key", self.key, "-subj", subject, "-out", csr])
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
        harness.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
                     "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext, "-out", self.cert])
        der = harness.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"]).stdout
        digest = base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
        self.fingerprint = "SHA256:" + digest

    def curl_args(self) -> list[str]:
        return ["--cert", self.cert, "--key", self.key]


def certificate_policy(alice: ClientCert) -> str:
    return f"""
[[expose]]
id = "any"
names = ["*"]

[[access]]
id = "by-certificate"
names = ["*"]
allow = ['tls.client_cert.fingerprint == "{alice.fingerprint}"',
         'tls.client_cert.san.contains("spiffe://acme/bob")']
deny = ['tls.client_cert.subject == "CN=bob,O=Acme" && http.path == "/echo"']
"""


class ClientCertRelay:
    """A relay with client_certs = MODE, its CA, certificates for alice, bob and carol (all
    from the relay's client CA) and mallory (another CA, alice's subject), one tunnel."""

    def __init__(self, test: unittest.TestCase, mode: str, extra_config: str = ""):
        self.relay = harness.Relay(https_config=f'client_ca = "clients-ca.pem"\n'
                                                f'client_certs = "{mode}"\n',
                                   extra_config='\n[audit]\nfile = "audit.jsonl"\n' + extra_config)
        test.addCleanup(self.relay.close)
        d = self.relay.dir
        ca = make_client_ca(d, "clients-ca")
        other_ca = make_client_ca(d, "other-ca")
        self.alice = ClientCert(d, "alice", ca, "/O=Acme/CN=alice",
                                "DNS:alice.clients.test,email:alice@acme.test,URI:spiffe://acme/alice")
        self.bob = ClientCert(d, "bob", ca, "/O=Acme/CN=bob", "URI:spiffe://acme/bob")
        self.carol = ClientCert(d, "carol", ca, "/O=Acme/CN=carol", "URI:spiffe://acme/carol")
        self.mallory = ClientCert(d, "mallory", other_ca, "/O=Acme/CN=alice",
                                  "DNS:alice.clients.test,email:alice@acme.test,URI:spiffe://acme/alice")
        with open(self.relay.policy_path, "w") as f:
            f.write(certificate_policy(self.alice))
        self.relay.start()
        self.backend = harness.Backend("mtls-backend")
        test.addCleanup(self.backend.close)
        pub = self.relay.publish(f"certs:80:localhost:{self.backend.port}")
        test.addCleanup(pub.close)
        pub.wait_for_url()

    def curl(self, path: str, cert: ClientCert | None = None, **kwargs) -> harness.CurlResult:
        extra = cert.curl_args() if cert is not None else []
        return self.relay.curl("certs", path, extra=extra, **kwargs)

    def audit_lines(self) -> list[dict]:
        with open(os.path.join(self.relay.dir, "audit.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]


class OptionalClientCerts(unittest.TestCase):
    def setUp(self):
        self.setup = ClientCertRelay(self, "optional")

    def test_policy_decides_on_fingerprint_san_and_subject(self):
        s = self.setup
        alice = s.curl("/whoami", s.alice)
        self.assertEqual((alice.returncode, alice.status, alice.body), (0, 200, b"mtls-backend"),
                         alice.describe())
        echoed = s.curl("/echo", s.alice, data=b"from alice")
        self.assertEqual((echoed.status, echoed.body), (200, b"from alice"), "the deny names bob only")
        bob = s.curl("/whoami", s.bob)
        self.assertEqual((bob.status, bob.body), (200, b"mtls-backend"), bob.describe())
        denied = s.curl("/echo", s.bob, data=b"from bob")
        self.assertEqual(denied.status, 403, denied.describe())
        carol = s.curl("/whoami", s.carol)
        self.assertEqual(carol.status, 403, "a valid certificate no rule allows: " + carol.describe())
        self.assertEqual([r.path for r in s.backend.seen("/")], ["/whoami", "/echo", "/whoami"],
                         "denied requests never reach the service")

    def test_without_a_certificate_the_policy_denies(self):
        anonymous = self.setup.curl("/whoami")
        self.assertEqual((anonymous.returncode, anonymous.status), (0, 403), anonymous.describe())

    def test_a_certificate_from_another_ca_is_refused_in_the_handshake(self):
        s = self.setup
        mallory = s.curl("/whoami", s.mallory)
        self.assertNotEqual(mallory.returncode, 0, mallory.describe())
        self.assertEqual(mallory.status, 0, mallory.describe())
        self.assertIsNotNone(s.relay.wait_for_log({"event": "tls_failed", "sni": "certs.tg.test"}))
        self.assertEqual(s.backend.seen("/whoami"), [], "nothing was forwarded")

    def test_the_audit_line_names_the_certificate(self):
        s = self.setup
        self.assertEqual(s.curl("/whoami", s.alice).status, 200)
        self.assertEqual(s.curl("/whoami").status, 403)
        lines = []

        def requests_audited():
            nonlocal lines
            lines = [line for line in s.audit_lines() if line.get("path") == "/whoami"]
            return len(lines) == 2
        harness.wait_until(requests_audited, 10)
        by_decision = {line["decision"]: line for line in lines}
        self.assertEqual(by_decision["allow"]["client_cert"], s.alice.fingerprint)
        self.assertEqual(by_decision["allow"]["client_cert_subject"], "CN=alice,O=Acme")
        self.assertNotIn("client_cert", by_decision["deny"], "no certificate, no field")


class RequiredClientCerts(unittest.TestCase):
    def test_the_handshake_fails_without_a_certificate(self):
        s = ClientCertRelay(self, "required")
        anonymous = s.curl("/whoami")
        # TLS 1.3: the client's side of the handshake ends before the relay reads its (empty)
        # Certificate, so curl sees the connection end: a handshake (35), empty reply (52) or
        # receive (56) error, never a response.
        self.assertIn(anonymous.returncode, (35, 52, 56), anonymous.describe())
        self.assertEqual(anonymous.status, 0, anonymous.describe())
        self.assertIsNotNone(s.relay.wait_for_log({"event": "tls_failed", "sni": "certs.tg.test"}))
        alice = s.curl("/whoami", s.alice)
        self.assertEqual((alice.returncode, alice.status), (0, 200), alice.describe())
        mallory = s.curl("/whoami", s.mallory)
        self.assertEqual(mallory.status, 0, mallory.describe())
        self.assertEqual([r.path for r in s.backend.seen("/whoami")], ["/whoami"],
                         "only alice's request went through")


class ClientCaReload(unittest.TestCase):
    def test_reload_reads_the_client_ca_again(self):
        admin_port = harness.free_port()
        s = ClientCertRelay(self, "optional", f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
        self.assertEqual(s.curl("/whoami", s.alice).status, 200)
        with open(os.path.join(s.relay.dir, "other-ca.pem"), "rb") as f:
            other_ca = f.read()
        with open(os.path.join(s.relay.dir, "clients-ca.pem"), "wb") as f:
            f.write(other_ca)
        status, body = harness.post_reload(admin_port)
        self.assertEqual(status, 200, body)
        refused = s.curl("/whoami", s.alice)
        self.assertEqual(refused.status, 0, "alice's CA is no longer trusted: " + refused.describe())
        mallory = s.curl("/whoami", s.mallory)
        self.assertEqual(mallory.status, 403, "verified now, but no rule allows it: " + mallory.describe())


class ClientCaConfig(unittest.TestCase):
    def check_config(self, relay: harness.Relay) -> subprocess.CompletedProcess:
        relay.write_config()
        return subprocess.run([harness.tg_bin(), "--check-config", relay.config_path],
                              capture_output=True, text=True, timeout=30)

    def test_a_missing_or_broken_client_ca_is_a_file_line_error(self):
        relay = harness.Relay(https_config='client_ca = "absent.pem"\nclient_certs = "optional"\n')
        self.addCleanup(relay.close)
        result = self.check_config(relay)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"{relay.config_path}:9: {relay.dir}/absent.pem: cannot load the client CA",
                      result.stderr + result.stdout)
        with open(os.path.join(relay.dir, "absent.pem"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        self.assertNotEqual(self.check_config(relay).returncode, 0)

    def test_client_certs_without_client_ca_is_refused(self):
        relay = harness.Relay(https_config='client_certs = "required"\n')
        self.addCleanup(relay.close)
        result = self.check_config(relay)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"{relay.config_path}:9: client_certs = \"required\" needs \"client_ca\"",
                      result.stderr + result.stdout)


if __name__ == "__main__":
    unittest.main()
