"""The command line: --check-config (good config, unknown keys reported as file:line:),
--config with a missing file, and --dev, whose printed commands and generated demo key and
CA let a stock ssh client publish and curl reach the result."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

import harness


class CheckConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.Relay()  # certificates, keys and config; never started here
        cls.addClassCleanup(cls.relay.close)
        cls.relay.write_config()
        with open(cls.relay.config_path) as f:
            cls.good = f.read()

    def check(self, text, name):
        path = os.path.join(self.relay.dir, name)
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([harness.tg_bin(), "--check-config", path], cwd=self.relay.dir,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        return path, proc

    def test_good_config_passes(self):
        path, proc = self.check(self.good, "good.toml")
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))

    def test_unknown_top_level_key_reports_file_and_line(self):
        lines = self.good.splitlines(keepends=True)
        lines.insert(1, 'colour = "blue"\n')  # line 2
        path, proc = self.check("".join(lines), "unknown-top.toml")
        stderr = proc.stderr.decode(errors="replace")
        self.assertNotEqual(proc.returncode, 0, stderr)
        self.assertIn(f"{path}:2:", stderr)

    def test_unknown_key_in_table_reports_file_and_line(self):
        text = self.good + "bogus_option = 1\n"  # inside [ssh], the last table
        path, proc = self.check(text, "unknown-ssh.toml")
        stderr = proc.stderr.decode(errors="replace")
        self.assertNotEqual(proc.returncode, 0, stderr)
        self.assertIn(f"{path}:{len(text.splitlines())}:", stderr)


    def test_unreadable_certificate_reports_the_config_line(self):
        lines = self.good.splitlines(keepends=True)
        cert_line = next(i for i, l in enumerate(lines) if l.startswith("cert ="))
        lines[cert_line] = 'cert = "missing-cert.pem"\n'
        path, proc = self.check("".join(lines), "missing-cert.toml")
        stderr = proc.stderr.decode(errors="replace")
        self.assertNotEqual(proc.returncode, 0, stderr)
        self.assertIn(f"{path}:{cert_line + 1}:", stderr)
        self.assertIn("missing-cert.pem: cannot read", stderr)

    def test_malformed_authorized_keys_reports_the_file_and_line(self):
        with open(os.path.join(self.relay.dir, "bad_keys"), "w") as f:
            f.write("# a comment\nssh-ed25519 not-base64!!\n")
        text = self.good.replace('authorized_keys = "authorized_keys"', 'authorized_keys = "bad_keys"')
        path, proc = self.check(text, "bad-keys.toml")
        stderr = proc.stderr.decode(errors="replace")
        self.assertNotEqual(proc.returncode, 0, stderr)
        self.assertIn("bad_keys:2:", stderr)


class MissingConfig(unittest.TestCase):
    def test_missing_config_file_fails_clearly(self):
        tmp = tempfile.mkdtemp(prefix="tg-cli-")
        self.addCleanup(shutil.rmtree, tmp, True)
        proc = subprocess.Popen([harness.tg_bin(), "--config", "missing.toml"], cwd=tmp,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.fail(f"tunnelgate kept running without its config file\nstdout: {out!r}\nstderr: {err!r}")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("missing.toml", err.decode(errors="replace"), "the message should name the file")
        for line in out.decode(errors="replace").splitlines():
            try:
                event = json.loads(line).get("event")
            except (ValueError, AttributeError):
                continue
            self.assertNotEqual(event, "ready", "started listening without a config")


class DevMode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, dev=True)
        cls.backend = harness.class_backend(cls, "dev-backend")

    def printed_lines(self):
        """Lines printed on stdout, with the string values of JSON log lines unfolded too
        (the commands may come as plain text or inside a log line)."""
        lines = []
        for entry in self.relay.logs():
            for value in entry.values():
                if isinstance(value, str):
                    lines += value.splitlines()
        return lines + self.relay.stdout_text().splitlines()

    def test_prints_commands_to_try(self):
        lines = self.printed_lines()
        ssh_lines = [line for line in lines if re.search(r"\bssh\b.*-R", line)]
        self.assertTrue(ssh_lines, f"no ssh -R command printed:\n{self.relay.stdout_text()}")
        self.assertTrue(any(str(self.relay.ssh_port) in line for line in ssh_lines),
                        f"the printed ssh command does not use --ssh-port {self.relay.ssh_port}:\n{ssh_lines}")
        curl_lines = [line for line in lines if re.search(r"\bcurl\b", line)]
        self.assertTrue(curl_lines, f"no curl command printed:\n{self.relay.stdout_text()}")
        self.assertTrue(any(str(self.relay.https_port) in line for line in curl_lines),
                        f"the printed curl command does not use --https-port {self.relay.https_port}:\n{curl_lines}")

    def test_demo_key_publishes_and_url_works(self):
        key = os.path.join(self.relay.state_dir, "client_key")
        self.assertTrue(os.path.isfile(key), f"no demo client key at {key}")
        self.assertTrue(os.path.isfile(self.relay.ca_path), f"no CA at {self.relay.ca_path}")
        pub = self.relay.publish(f"demo:80:localhost:{self.backend.port}", key=key)
        self.addCleanup(pub.close)
        url = pub.wait_for_url()
        parts = urllib.parse.urlsplit(url)
        self.assertEqual(parts.hostname, "demo.localhost", url)
        self.assertEqual(parts.port, self.relay.https_port, url)
        r = harness.curl(url.rstrip("/") + "/whoami", ca=self.relay.ca_path)
        self.assertEqual((r.returncode, r.status, r.body), (0, 200, b"dev-backend"), r.describe())

    def test_z_stops_cleanly(self):
        # Last by name: SIGTERM ends dev mode with exit code 0.
        self.relay.stop()


if __name__ == "__main__":
    unittest.main()
