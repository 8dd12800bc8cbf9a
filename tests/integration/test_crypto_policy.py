"""Modern algorithms only, checked with the real clients: openssl s_client must fail to
negotiate old TLS versions and non-AEAD or non-ECDHE suites, and the OpenSSH client must fail
to agree on CBC ciphers, SHA-1 or NIST-curve key exchange, non-ETM MACs or SHA-1 host-key
signatures; the modern choices succeed (tests/integration/test_ssh_audit.py checks the whole
list with ssh-audit)."""

import subprocess
import unittest

import harness


class TlsPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls)

    def s_client(self, *options):
        proc = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.relay.https_port}",
             "-servername", f"notes.{self.relay.domain}", "-CAfile", self.relay.ca_path,
             "-verify_return_error", *options],
            input=b"", capture_output=True, timeout=20)
        return proc.returncode, proc.stdout.decode(errors="replace")

    def negotiated(self, output):
        for line in output.splitlines():
            if line.strip().startswith("Cipher is") or "Cipher    :" in line:
                return line.strip()
        return ""

    def test_tls13_is_offered(self):
        rc, out = self.s_client("-tls1_3")
        self.assertEqual(rc, 0, out)
        self.assertIn("TLSv1.3", out)

    def test_tls12_with_ecdhe_and_aead_is_accepted(self):
        rc, out = self.s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
        self.assertEqual(rc, 0, out)
        self.assertIn("ECDHE-ECDSA-AES128-GCM-SHA256", out)

    def test_tls11_and_tls10_are_refused(self):
        for version in ("-tls1_1", "-tls1"):
            rc, out = self.s_client(version, "-cipher", "DEFAULT@SECLEVEL=0")
            self.assertNotEqual(rc, 0, f"{version} was accepted:\n{out}")

    def test_cbc_suites_are_refused(self):
        rc, out = self.s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA")
        self.assertNotEqual(rc, 0, f"a CBC suite was accepted: {self.negotiated(out)}\n{out}")

    def test_non_ecdhe_suites_are_refused(self):
        rc, out = self.s_client("-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-GCM-SHA384")
        self.assertNotEqual(rc, 0, f"a static-RSA suite was accepted: {self.negotiated(out)}\n{out}")


class SshPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls)

    def ssh(self, *options):
        key = self.relay.keys["alice"].path
        proc = subprocess.run(
            ["ssh", "-F", "/dev/null", "-p", str(self.relay.ssh_port), "-i", key,
             "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "ConnectTimeout=10", *options,
             "-N", "-o", "ExitOnForwardFailure=yes", "-R", "cryptocheck:80:localhost:9",
             "tester@127.0.0.1"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=5 if not options else 20)
        return proc.returncode, proc.stderr.decode(errors="replace")

    def refused(self, *options):
        try:
            rc, err = self.ssh(*options)
        except subprocess.TimeoutExpired:
            self.fail(f"{options} connected (the client kept running)")
        self.assertEqual(rc, 255, f"{options}: {err}")
        self.assertRegex(err, r"no matching|Unable to negotiate", f"{options}: {err}")

    def test_modern_defaults_connect(self):
        # ssh -N stays connected; being cut by the timeout means the handshake succeeded.
        with self.assertRaises(subprocess.TimeoutExpired):
            self.ssh()

    def test_cbc_ciphers_are_refused(self):
        self.refused("-o", "Ciphers=aes128-cbc,aes256-cbc")

    def test_sha1_key_exchange_is_refused(self):
        self.refused("-o", "KexAlgorithms=diffie-hellman-group14-sha1,diffie-hellman-group1-sha1")

    def test_nist_curve_key_exchange_is_refused(self):
        self.refused("-o", "KexAlgorithms=ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521")

    def test_small_dh_groups_are_refused(self):
        self.refused("-o", "KexAlgorithms=diffie-hellman-group14-sha256,diffie-hellman-group-exchange-sha256")

    def test_sha1_host_key_signatures_are_refused(self):
        self.refused("-o", "HostKeyAlgorithms=ssh-rsa,ecdsa-sha2-nistp256")

    def test_non_etm_macs_are_refused(self):
        self.refused("-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha1,hmac-sha2-256")


if __name__ == "__main__":
    unittest.main()
