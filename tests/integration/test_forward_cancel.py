"""Anonymous forwards (`-R 0:…`) added and cancelled on a live session, with the stock OpenSSH
client's connection multiplexing (`-O forward`, `-O cancel` through a ControlMaster): after
the first of two is cancelled, a third is granted the name the first had and reaches its own
service, while the second keeps its name and service."""

import os
import subprocess
import tempfile
import unittest

import harness


class CancelledAnonymousForward(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls)
        cls.backends = [harness.class_backend(cls, f"service-{i}") for i in range(3)]
        control_dir = tempfile.mkdtemp(prefix="tg-mux-")
        cls.addClassCleanup(lambda: os.path.isdir(control_dir) and os.rmdir(control_dir))
        cls.control = os.path.join(control_dir, "ctl")
        cls.master = subprocess.Popen(
            cls.ssh_command("-M", "-N"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)
        cls.addClassCleanup(cls.stop_master)
        up = harness.wait_until(lambda: cls.mux("-O", "check").returncode == 0, 15, 0.2)
        if not up:
            raise AssertionError("the ControlMaster session did not come up\n" + cls.relay.log_text())

    @classmethod
    def ssh_command(cls, *options):
        key = cls.relay.keys["alice"].path
        return ["ssh", "-F", "/dev/null", "-p", str(cls.relay.ssh_port), "-i", key,
                "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-S", cls.control, *options, "tester@127.0.0.1"]

    @classmethod
    def mux(cls, *options):
        return subprocess.run(cls.ssh_command(*options), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=20)

    @classmethod
    def stop_master(cls):
        cls.mux("-O", "exit")
        if cls.master.poll() is None:
            cls.master.kill()
        cls.master.wait(10)
        cls.master.stderr.close()

    def forward(self, backend):
        result = self.mux("-O", "forward", "-R", f"0:localhost:{backend.port}")
        return result.returncode, result.stdout.decode() + result.stderr.decode()

    def opened_names(self):
        return [line["name"] for line in self.relay.logs() if line.get("event") == "tunnel_opened"]

    def wait_for_opened(self, count):
        names = harness.wait_until(lambda: (lambda n: n if len(n) >= count else None)(self.opened_names()), 10)
        self.assertIsNotNone(names, f"{count} tunnels opened\n{self.relay.log_text()}")
        return names

    def served_by(self, name):
        result = self.relay.curl(name, "/whoami")
        return result.status, result.body

    def test_a_cancelled_forward_frees_its_name_for_the_next(self):
        first, second, third = self.backends
        rc, out = self.forward(first)
        self.assertEqual(rc, 0, out)
        rc, out = self.forward(second)
        self.assertEqual(rc, 0, out)
        first_name, second_name = self.wait_for_opened(2)[:2]
        self.assertEqual(second_name, first_name + "-2")
        self.assertEqual(self.served_by(first_name), (200, b"service-0"))
        self.assertEqual(self.served_by(second_name), (200, b"service-1"))

        cancel = self.mux("-O", "cancel", "-R", f"0:localhost:{first.port}")
        self.assertEqual(cancel.returncode, 0, cancel.stderr.decode())
        self.assertIsNotNone(self.relay.wait_for_log(
            {"event": "tunnel_closed", "name": first_name, "reason": "cancelled"}))

        rc, out = self.forward(third)
        self.assertEqual(rc, 0, f"-R 0 after a cancel was refused: {out}\n{self.relay.log_text()}")
        self.assertEqual(self.wait_for_opened(3)[2], first_name, "the freed name is given again")
        self.assertEqual(self.served_by(first_name), (200, b"service-2"))
        self.assertEqual(self.served_by(second_name), (200, b"service-1"))


if __name__ == "__main__":
    unittest.main()
