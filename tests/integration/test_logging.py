"""Where the relay logs and what: `[log] file` takes the lines off standard output and is
reopened on SIGHUP (so logrotate can move it away), `[log] level` drops lines below it, the
audit trail is never filtered by the level, and on a pipe long lines are cut to 4 KiB and
never interleave."""

import json
import os
import signal
import socket
import subprocess
import time
import unittest

import harness


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().splitlines() if line.strip()]


class FileLoggingRelay(harness.Relay):
    """A relay whose log goes to a file: ready is read from there, not from stdout."""

    def __init__(self, level):
        super().__init__(keys=("alice",), extra_config=(
            f'\n[audit]\nfile = "audit.jsonl"\n\n[log]\nfile = "relay.log"\nlevel = "{level}"\n'))
        self.log_path = os.path.join(self.dir, "relay.log")
        self.audit_path = os.path.join(self.dir, "audit.jsonl")

    def _start_once(self):
        self.pick_ports()
        self.write_config()
        self._stderr_file = open(os.path.join(self.dir, "stderr.log"), "wb")
        self._stdout_path = os.path.join(self.dir, "stdout.log")
        self.stdout_file = open(self._stdout_path, "wb")
        self.proc = subprocess.Popen(self.command(), cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self.stdout_file, stderr=self._stderr_file,
                                     start_new_session=True)
        # With level = "warn" the ready line is not written: wait for both listeners instead.
        def listening():
            for port in (self.https_port, self.ssh_port):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    return False
            return True
        ready = harness.wait_until(lambda: self.proc.poll() is not None or listening(), 20)
        return "ready" if self.proc.poll() is None and ready else "exited"


class LongLinesOnAPipe(unittest.TestCase):
    """Standard output is a pipe here (the harness reads it): requests with paths of up to
    14 KiB on two workers must still give one parseable JSON line each, cut to 4 KiB."""

    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, workers=2)
        cls.backend = harness.class_backend(cls, "long-lines")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"long:80:localhost:{cls.backend.port}")

    def test_every_line_parses_and_long_ones_are_cut(self):
        import concurrent.futures
        host = self.relay.host("long")

        def visit(i):
            path = f"/whoami/{i:03d}/" + "p" * (6000 + 200 * i)
            return self.relay.request("long", f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                                      "Connection: close\r\n\r\n".encode()).status

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            self.assertEqual(set(pool.map(visit, range(40))), {200})
        self.assertTrue(harness.wait_until(lambda: len(
            [l for l in self.relay.logs() if l.get("path", "").startswith("/whoami/")]) == 40, 10),
            self.relay.log_text())
        raw = [l for l in self.relay.logs() if "raw" in l]
        self.assertEqual(raw, [], "every line on the pipe is one JSON object")
        # stdout_text() is ISO-8859-1, byte for byte: its lengths are the lines' byte counts.
        longest = max(len(line) + 1 for line in self.relay.stdout_text().splitlines())
        self.assertLessEqual(longest, 4096)
        for line in self.relay.logs():
            if line.get("path", "").startswith("/whoami/"):
                self.assertTrue(line.get("truncated"), line)
                self.assertTrue(line["path"].endswith("\u2026"), line["path"][-20:])
                self.assertEqual(line["status"], 200)


class Logging(unittest.TestCase):
    def start(self, level):
        relay = FileLoggingRelay(level)
        self.addCleanup(relay.close)
        relay.start()
        backend = harness.Backend("log-backend")
        self.addCleanup(backend.close)
        return relay, backend

    def publish(self, relay, backend, name):
        pub = relay.publish(f"{name}:80:localhost:{backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        return pub

    def test_a_log_file_is_reopened_on_sighup(self):
        relay, backend = self.start("info")
        self.assertTrue(harness.wait_until(
            lambda: any(l["event"] == "ready" for l in read_lines(relay.log_path)), 10))
        for line in read_lines(relay.log_path):
            self.assertIn(line["level"], ("info", "warn", "error"))
        self.publish(relay, backend, "logged")
        self.assertEqual(relay.curl("logged", "/whoami?before").status, 200)
        self.assertTrue(harness.wait_until(lambda: any(
            l["event"] == "request" and l["path"] == "/whoami?before"
            for l in read_lines(relay.log_path)), 10))

        rotated = relay.log_path + ".1"
        os.rename(relay.log_path, rotated)
        relay.proc.send_signal(signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: os.path.exists(relay.log_path), 10))
        self.assertEqual(relay.curl("logged", "/whoami?after").status, 200)
        self.assertTrue(harness.wait_until(lambda: any(
            l["event"] == "request" and l["path"] == "/whoami?after"
            for l in read_lines(relay.log_path)), 10))
        self.assertFalse(any(l.get("path") == "/whoami?after" for l in read_lines(rotated)))
        with open(os.path.join(relay.dir, "stdout.log"), "rb") as f:
            self.assertNotIn(b'"event":"request"', f.read())

    def test_the_level_drops_information_but_never_the_audit_trail(self):
        relay, backend = self.start("warn")
        self.publish(relay, backend, "quiet")
        self.assertEqual(relay.curl("quiet", "/whoami?quiet").status, 200)
        self.assertTrue(harness.wait_until(lambda: any(
            l.get("path") == "/whoami?quiet" for l in read_lines(relay.audit_path)), 10))
        # A refusal is a warning, and is written.
        denied = relay.publish("x" * 70 + ":80:localhost:1")
        self.addCleanup(denied.close)
        self.assertTrue(harness.wait_until(lambda: any(
            l["event"] == "forward_refused" for l in read_lines(relay.log_path)), 10))
        levels = {l["level"] for l in read_lines(relay.log_path)}
        self.assertEqual(levels - {"warn", "error"}, set())
        self.assertFalse(any(l["event"] == "request" for l in read_lines(relay.log_path)))

    def test_a_bad_level_is_a_config_error(self):
        relay = harness.Relay(extra_config='\n[log]\nlevel = "chatty"\n')
        self.addCleanup(relay.close)
        relay.write_config()
        check = harness.run([harness.tg_bin(), "--check-config", relay.config_path], check=False)
        self.assertEqual(check.returncode, 1)
        self.assertIn("must be debug, info, warn or error", check.stderr.decode())


if __name__ == "__main__":
    unittest.main()
