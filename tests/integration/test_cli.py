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
import urllib.error
import urllib.parse
import urllib.request

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


class AdminTokenFile(unittest.TestCase):
    """--check-config and start-up read the admin token file with one reader: a file that one
    refuses, the other refuses with the same message, and a good one passes both. A token is
    one word (16 to 4096 visible characters; one trailing line end allowed)."""

    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.Relay(extra_config=(
            f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\ntoken_file = "admin.token"\n'))
        cls.addClassCleanup(cls.relay.close)
        cls.relay.write_config()
        with open(cls.relay.config_path) as f:
            cls.token_line = 1 + next(i for i, line in enumerate(f) if line.startswith("token_file"))

    def write_token(self, content: bytes):
        with open(os.path.join(self.relay.dir, "admin.token"), "wb") as f:
            f.write(content)

    def check_config(self):
        return subprocess.run([harness.tg_bin(), "--check-config", self.relay.config_path],
                              cwd=self.relay.dir, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=20)

    def start_up(self):
        """Runs the relay on the config; returns (exit code, stderr), or fails if it keeps
        running (it started with a token file --check-config refused)."""
        proc = subprocess.Popen([harness.tg_bin(), "--config", self.relay.config_path],
                                cwd=self.relay.dir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.fail(f"the relay started with this token file\nstdout: {out!r}\nstderr: {err!r}")
        return proc.returncode, err.decode(errors="replace")

    def test_bad_token_files_fail_check_and_start_up_with_the_same_message(self):
        token_path = os.path.join(self.relay.dir, "admin.token")
        cases = {
            "empty": (b"", "is empty"),
            "a line end only": (b"\n", "is empty"),
            "15 characters": (b"0123456789abcde\n", "has 15 characters"),
            "whitespace only": (b"   \t \n", "whitespace at character 1"),
            "inner whitespace": (b"0123456789abcdefXYZ and more\n", "whitespace at character 20"),
            "two lines": (b"0123456789abcdefXYZ\nsecond-line-of-it\n", "whitespace at character 20"),
            "leading space": (b" 0123456789abcdefXYZ\n", "whitespace at character 1"),
            "a control byte": (b"0123456789abcdef\x01XYZ\n", "control or non-ASCII byte"),
        }
        for case, (content, problem) in cases.items():
            with self.subTest(case):
                self.write_token(content)
                checked = self.check_config()
                check_err = checked.stderr.decode(errors="replace")
                self.assertNotEqual(checked.returncode, 0, f"--check-config passed: {check_err}")
                self.assertIn(f"{self.relay.config_path}:{self.token_line}: {token_path}: the admin token",
                              check_err)
                self.assertIn(problem, check_err)
                code, start_err = self.start_up()
                self.assertNotEqual(code, 0)
                self.assertEqual(start_err, check_err, "start-up refuses with the message --check-config gave")

    def test_a_good_token_file_passes_both_and_is_used_whole(self):
        token = "0123456789abcdef-whole-token"
        for case, content in {"no line end": token.encode(), "LF": (token + "\n").encode(),
                              "CRLF": (token + "\r\n").encode()}.items():
            with self.subTest(case):
                self.write_token(content)
                checked = self.check_config()
                self.assertEqual(checked.returncode, 0, checked.stderr.decode(errors="replace"))
        self.relay.start()
        self.addCleanup(self.relay.stop)
        url = f"http://127.0.0.1:{self.admin_port}/v1/tunnels"
        def status(bearer):
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code
        self.assertEqual(status(token), 200)
        self.assertEqual(status(token[:16]), 401, "the token is the whole word, not a prefix")


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
