"""SSH authentication attempts are bounded, as OpenSSH's MaxAuthTries: a client may offer a
few keys it holds before the right one, but after six refused keys the session is cut, and
even the right key is refused from then on. Real OpenSSH clients offering their keys in turn."""

import os
import select
import subprocess
import time
import unittest

import harness


class AuthAttempts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, keys=("alice",),
                                        extra_keys=tuple(f"stranger{i}" for i in range(7)))
        cls.backend = harness.class_backend(cls, "auth-backend")

    def offer(self, strangers, name):
        """ssh offering `strangers` unauthorized keys, then alice's; its output and exit code."""
        keys = [self.relay.unauthorized_keys[f"stranger{i}"].path for i in range(strangers)]
        keys.append(self.relay.keys["alice"].path)
        cmd = ["ssh", "-F", "/dev/null", "-p", str(self.relay.ssh_port),
               "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "ExitOnForwardFailure=yes", "-o", "ConnectTimeout=10", "-T"]
        for key in keys:
            cmd += ["-i", key]
        cmd += ["-R", f"{name}:80:localhost:{self.backend.port}", "tester@127.0.0.1"]
        # A session that gets in stays open (the relay keeps it): read until the URL shows or
        # ssh exits, then end it.
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        self.addCleanup(proc.kill)
        output = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and b"https://" not in output:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                output += chunk
        code = None  # None: still connected when the test ended it
        if b"https://" not in output:
            try:
                code = proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        proc.kill()
        proc.wait(10)
        return code, output.decode(errors="replace")

    def test_a_few_wrong_keys_before_the_right_one_are_fine(self):
        code, output = self.offer(2, "patient-keys")
        self.assertIn(f"https://patient-keys.{self.relay.domain}", output, output)

    def test_six_refused_keys_end_the_session_before_the_right_one(self):
        code, output = self.offer(7, "keyring")
        self.assertEqual(code, 255, output)  # ssh gave up by itself: the relay cut it
        self.assertNotIn("https://keyring.", output)
        status = self.relay.curl("keyring", "/whoami").status
        self.assertEqual(status, 404, "the name was never published")


if __name__ == "__main__":
    unittest.main()
