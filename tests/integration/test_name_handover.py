"""A name handed from one session of a key to the next, many times in a tight loop: the first
request after the new publisher is told its name is ready must reach THAT publisher's service
(200 and its own body), never the dying predecessor, never a 502 or a 404.

Each round starts a publisher under the same name with its own backend (its own /whoami body),
waits for its ready signal (the URL printed on the `ssh -R` session; tunnelgate-load's
"published" line, given once its tcpip-forward was granted), sends one request at once over a
fresh TLS connection, and checks the status and the body. The previous publisher is ended in
turn in three ways: killed (SIGKILL) before the next one starts; killed just after the next one
started, so its death and the new claim race; or left connected until the new one holds the
name (a takeover of a live session), then killed. The relay runs four workers, so visitors
are mostly accepted on a worker other than the one holding the session, and routed by that
worker's own copy of the name table (kept current by mailbox messages).

tunnelgate-load is the tighter case: its ready signal is the tcpip-forward reply, which leaves
in the very loop round that granted the name, while ssh prints the URL only after further round
trips. A relay that let a visitor be routed before the route update it had already queued for
the accepting worker was applied answered this test's first request with "502 the publisher of
this name is offline" (a few rounds in 45 when a worker was descheduled at the wrong moment)."""

import os
import signal
import subprocess
import threading
import time
import unittest
from pathlib import Path

import harness

ROUNDS_SSH = 30
ROUNDS_LOAD = 45

# How the previous round's publisher is ended (round number modulo 3).
KILL_BEFORE, KILL_DURING, KILL_AFTER = 0, 1, 2


def load_bin() -> str:
    path = Path(harness.tg_bin()).parent / "tools" / "load" / "tunnelgate-load"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise AssertionError(f"{path} is not an executable file (build the tunnelgate-load target)")
    return str(path)


class LoadPublisher:
    """tunnelgate-load in its publisher-only mode: one tunnel named NAME over libssh, every
    channel spliced to `backend_port`, held until killed. Ready once it prints "published"
    (its tcpip-forward was granted)."""

    def __init__(self, relay: harness.Relay, key: str, prefix: str, backend_port: int):
        self.cmd = [load_bin(), "--ssh", f"127.0.0.1:{relay.ssh_port}", "--key", relay.keys[key].path,
                    "--publish", "1", "--name-prefix", prefix,
                    "--backend-url", f"http://127.0.0.1:{backend_port}", "--duration", "120"]
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self._text = bytearray()
        self._published = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self._text += line
            if b"published" in line:
                self._published.set()
        self._published.set()  # exited: wake the waiter, which sees no "published"

    def wait_ready(self, timeout: float = 15.0) -> None:
        self._published.wait(timeout)
        if b"published" not in self._text:
            raise AssertionError(f"tunnelgate-load did not publish within {timeout} s\n{self.describe()}")

    def describe(self) -> str:
        return f"cmd: {' '.join(self.cmd)}\nexit: {self.proc.poll()}\nstderr: {self._text.decode(errors='replace')}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        self._reader.join(5)
        self.proc.stderr.close()


class NameHandover(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Four workers: the session's worker and the visitor's accepting worker differ on most
        # rounds (on a small machine, also more workers than cores: any of them may be
        # descheduled between granting a name and waking the others).
        cls.relay = harness.class_relay(cls, keys=("alice",), workers=4)

    def first_request(self, name: str) -> tuple[int, bytes, float]:
        started = time.monotonic()
        host = self.relay.host(name)
        raw = f"GET /whoami HTTP/1.1\r\nHost: {host}:{self.relay.https_port}\r\nConnection: close\r\n\r\n"
        response = self.relay.request(name, raw.encode(), timeout=10)
        return response.status, bytes(response.body), time.monotonic() - started

    def handover_rounds(self, rounds: int, start_publisher, name: str) -> None:
        """`start_publisher(backend)` starts a publisher of `name` for `backend` and returns it
        (with wait_ready() and kill()); each round's first request is checked at once."""
        previous = None
        previous_backend = None
        failures = []
        for round_number in range(rounds):
            mode = round_number % 3
            backend = harness.Backend(f"{name}-round-{round_number}")
            self.addCleanup(backend.close)
            if previous is not None and mode == KILL_BEFORE:
                previous.kill()
            publisher = start_publisher(backend)
            self.addCleanup(publisher.close)
            if previous is not None and mode == KILL_DURING:
                previous.kill()
            publisher.wait_ready()
            status, body, elapsed = self.first_request(name)
            if (status, body) != (200, backend.label.encode()):
                failures.append(f"round {round_number} (mode {mode}): {status} {body[:120]!r} "
                                f"after {elapsed * 1000:.1f} ms, expected 200 {backend.label!r}")
            if previous is not None:
                previous.kill()
                previous_backend.close()
            previous, previous_backend = publisher, backend
        if failures:
            self.fail(f"{len(failures)} of {rounds} first requests did not reach their own publisher:\n"
                      + "\n".join(failures) + "\n" + self.relay.log_text(40))

    def test_ssh_publishers_hand_the_name_over(self):
        def start(backend):
            return self.relay.publish(f"handover-ssh:80:localhost:{backend.port}")

        class Ready:
            def __init__(self, publisher):
                self.publisher = publisher

            def wait_ready(self):
                self.publisher.wait_for_url()

            def kill(self):
                self.publisher.kill()

            def close(self):
                self.publisher.close()

        self.handover_rounds(ROUNDS_SSH, lambda backend: Ready(start(backend)), "handover-ssh")

    def test_load_tool_publishers_hand_the_name_over(self):
        # The benchmark's case: each round a fresh tunnelgate-load process publishes the name
        # the previous one held ("handover-load" + "-0").
        self.handover_rounds(ROUNDS_LOAD,
                             lambda backend: LoadPublisher(self.relay, "alice", "handover-load", backend.port),
                             "handover-load-0")

    def test_z_relay_still_serves(self):
        backend = harness.Backend("after-handovers")
        self.addCleanup(backend.close)
        publisher, _ = harness.publish_and_wait(self.relay, f"after-handover:80:localhost:{backend.port}")
        self.addCleanup(publisher.close)
        self.assertEqual(self.first_request("after-handover")[:2], (200, b"after-handovers"))
        self.assertTrue(self.relay.alive(), self.relay.log_text())


if __name__ == "__main__":
    unittest.main()
