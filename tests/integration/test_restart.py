"""A relay restarted under publishers that run autossh-style reconnect loops (the stock ssh
re-run by a shell loop, with ServerAliveInterval and ExitOnForwardFailure=yes): after SIGTERM
and a start on the same ports and state folder, the same names come back to the same keys
and reach the same services, and another key cannot take a name a reconnecting key holds."""

import os
import signal
import subprocess
import unittest

import harness


def fingerprint(pub_path: str) -> str:
    out = harness.run(["ssh-keygen", "-l", "-E", "sha256", "-f", pub_path]).stdout.decode()
    return out.split()[1]


class ReconnectLoop:
    """`while true; do ssh -R SPEC …; sleep 0.2; done` in its own process group."""

    def __init__(self, relay: harness.Relay, key: str, spec: str):
        ssh = ["ssh", "-F", "/dev/null", "-p", str(relay.ssh_port), "-i", relay.keys[key].path,
               "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
               "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3",
               "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", "-N", "-R", spec, "tester@127.0.0.1"]
        script = "while true; do " + " ".join(f"'{arg}'" for arg in ssh) + " </dev/null; sleep 0.2; done"
        self.log_path = os.path.join(relay.dir, f"loop-{key}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["bash", "-c", script], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.log.close()


class RestartUnderReconnectLoops(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, keys=("alice", "bob"))
        cls.backend_a = harness.class_backend(cls, "backend-a")
        cls.backend_b = harness.class_backend(cls, "backend-b")

    def loop(self, key: str, spec: str) -> ReconnectLoop:
        loop = ReconnectLoop(self.relay, key, spec)
        self.addCleanup(loop.close)
        return loop

    def opened(self, key: str) -> list[str]:
        """Names the current relay process opened for `key`, in order."""
        fp = fingerprint(self.relay.keys[key].pub_path)
        return [line["name"] for line in self.relay.logs()
                if line.get("event") == "tunnel_opened" and line.get("key") == fp]

    def serves(self, name: str, label: str):
        return harness.wait_until(lambda: self.relay.curl(name, "/whoami").body == label.encode(), 30)

    def test_names_come_back_to_their_keys_after_a_restart(self):
        self.loop("alice", f"chosen:80:localhost:{self.backend_a.port}")
        self.loop("bob", f"0:localhost:{self.backend_b.port}")  # bob's stable name
        self.assertTrue(self.serves("chosen", "backend-a"), self.relay.log_text())
        stable = harness.wait_until(lambda: self.opened("bob"), 30)
        self.assertTrue(stable, self.relay.log_text())
        stable_name = stable[0]
        self.assertTrue(self.serves(stable_name, "backend-b"))

        self.relay.restart()  # SIGTERM, a clean exit, then the same ports and state folder

        self.assertTrue(self.serves("chosen", "backend-a"), "the chosen name is back\n" + self.relay.log_text())
        self.assertTrue(self.serves(stable_name, "backend-b"), "the stable name is the same after a restart")
        self.assertEqual(self.opened("alice")[:1], ["chosen"])
        self.assertEqual(self.opened("bob")[:1], [stable_name])

        rival = self.relay.publish(f"chosen:80:localhost:{self.backend_b.port}", key="bob")
        self.addCleanup(rival.close)
        rival.wait_for_text("held by another key")
        r = self.relay.curl("chosen", "/whoami")
        self.assertEqual((r.status, r.body), (200, b"backend-a"), "the holder keeps its name")


if __name__ == "__main__":
    unittest.main()
