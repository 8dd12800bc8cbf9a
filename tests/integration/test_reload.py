"""Hot reload (POST /v1/reload, `tunnelgate ctl reload`, SIGHUP): a rotated certificate is
used by new handshakes while a connection opened before keeps working; keys added to
authorized_keys may publish at once and keys taken out lose their sessions; a broken file is
reported with its name and changes nothing."""

import json
import os
import shutil
import signal
import ssl
import tempfile
import unittest

import harness



class Reload(unittest.TestCase):
    def setUp(self):
        self.admin_port = harness.free_port()
        self.relay = harness.Relay(keys=("alice", "bob"), extra_config=(
            f'\n[admin]\nlisten = "127.0.0.1:{self.admin_port}"\n'))
        self.addCleanup(self.relay.close)
        self.authorized = os.path.join(self.relay.dir, "authorized_keys")
        with open(self.authorized, "w") as f:  # start with alice only
            f.write(self.relay.keys["alice"].public + "\n")
        self.relay.start()
        self.backend = harness.Backend("reload-backend")
        self.addCleanup(self.backend.close)

    def keep_alive_get(self, sock, name):
        sock.sendall(f"GET /whoami HTTP/1.1\r\nHost: {name}.{self.relay.domain}\r\n\r\n".encode())
        response = harness.HttpResponse(sock).read_all()
        self.assertTrue(response.complete)
        return response.status

    def test_certificate_rotation_reaches_new_handshakes_only(self):
        pub = self.relay.publish(f"rot:80:localhost:{self.backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        old = harness.open_tls(self.relay.https_port, f"rot.{self.relay.domain}", self.relay.ca_path)
        self.addCleanup(old.close)
        self.assertEqual(self.keep_alive_get(old, "rot"), 200)

        fresh = tempfile.mkdtemp(prefix="tg-rotate-")
        self.addCleanup(shutil.rmtree, fresh, True)
        new = harness.make_certificates(fresh, self.relay.domain)  # a different CA
        shutil.copyfile(new["cert"], self.relay.cert_path)
        shutil.copyfile(new["key"], self.relay.key_path)
        status, body = harness.post_reload(self.admin_port)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["reloaded"])
        self.assertTrue(all("certificate reloaded" in w["changes"] for w in body["workers"]), body)

        self.assertEqual(harness.curl(self.relay.url("rot", "/whoami"), ca=new["ca"]).status, 200)
        with self.assertRaises(ssl.SSLCertVerificationError):
            harness.open_tls(self.relay.https_port, f"rot.{self.relay.domain}", self.relay.ca_path)
        self.assertEqual(self.keep_alive_get(old, "rot"), 200, "the old connection keeps working")

    def test_authorized_keys_apply_at_once(self):
        alice = self.relay.publish(f"keys-a:80:localhost:{self.backend.port}")
        self.addCleanup(alice.close)
        alice.wait_for_url()
        early = self.relay.publish(f"keys-b:80:localhost:{self.backend.port}", key="bob")
        self.addCleanup(early.close)
        harness.wait_until(lambda: not early.alive(), 15)  # bob is not authorized yet

        with open(self.authorized, "w") as f:  # bob in, alice out
            f.write(self.relay.keys["bob"].public + "\n")
        ctl = harness.run([harness.tg_bin(), "ctl", "--config", self.relay.config_path, "reload"],
                          check=False)
        self.assertEqual(ctl.returncode, 0, ctl.stderr.decode())
        changes = json.loads(ctl.stdout)
        self.assertIn("authorized keys 1 -> 1", changes["workers"][0]["changes"])

        alice.wait_for_text("your key is no longer authorized")
        harness.wait_until(lambda: not alice.alive(), 15)
        bob = self.relay.publish(f"keys-b:80:localhost:{self.backend.port}", key="bob")
        self.addCleanup(bob.close)
        bob.wait_for_url()
        self.assertEqual(self.relay.curl("keys-b", "/whoami").status, 200)

    def test_a_broken_file_is_reported_and_changes_nothing(self):
        pub = self.relay.publish(f"stays:80:localhost:{self.backend.port}")
        self.addCleanup(pub.close)
        pub.wait_for_url()
        with open(self.relay.cert_path, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        status, body = harness.post_reload(self.admin_port)
        self.assertEqual(status, 400, body)
        self.assertFalse(body["reloaded"])
        self.assertIn(self.relay.cert_path, body["error"])
        self.assertEqual(self.relay.curl("stays", "/whoami").status, 200)

    def test_sighup_reloads(self):
        self.relay.proc.send_signal(signal.SIGHUP)
        self.assertIsNotNone(self.relay.wait_for_log({"event": "reloaded", "worker": 0}, timeout=10),
                             self.relay.log_text())
        self.assertIsNotNone(self.relay.wait_for_log({"event": "reloaded", "worker": 1}, timeout=10))


if __name__ == "__main__":
    unittest.main()
