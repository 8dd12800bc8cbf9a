"""TLS session resumption with the relay's shared ticket keys: a session from one connection
resumes on the next, on whichever worker takes it, after a reload (SIGHUP gives every worker a
new TLS context, the ticket keys stay), with TLS 1.3 and TLS 1.2, with Python's ssl (OpenSSL)
and with `openssl s_client -sess_out/-sess_in`. A restart ends every ticket: a full handshake,
no error."""

import os
import signal
import socket
import subprocess
import unittest

import harness


class SessionTickets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, workers=2)
        cls.backend = harness.class_backend(cls, "tickets")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"tix:80:localhost:{cls.backend.port}")

    def setUp(self):
        self.context = harness.client_context(self.relay.ca_path)  # a session belongs to its context

    def connect(self, name: str, session=None, context=None):
        context = context or self.context
        raw = socket.create_connection(("127.0.0.1", self.relay.https_port), timeout=10)
        sock = context.wrap_socket(raw, server_hostname=self.relay.host(name), session=session)
        self.addCleanup(sock.close)
        return sock

    def exchange(self, name: str, session=None, context=None):
        """One request on a new connection: (status, resumed, session for the next one)."""
        sock = self.connect(name, session, context)
        sock.sendall(f"GET /whoami HTTP/1.1\r\nHost: {self.relay.host(name)}\r\nConnection: close\r\n\r\n".encode())
        response = harness.HttpResponse(sock).read_all()  # a TLS 1.3 ticket arrives with the data
        resumed, new_session = sock.session_reused, sock.session
        sock.close()
        return response.status, resumed, new_session

    def test_a_session_resumes_on_the_next_connection_and_after_a_reload(self):
        status, resumed, session = self.exchange("tix")
        self.assertEqual((status, resumed), (200, False))
        self.assertTrue(session.has_ticket, "the relay issues a session ticket")
        for _ in range(3):
            status, resumed, session = self.exchange("tix", session)
            self.assertEqual((status, resumed), (200, True))
        os.kill(self.relay.pid, signal.SIGHUP)
        self.assertIsNotNone(self.relay.wait_for_log({"event": "reloaded"}, 10))
        status, resumed, _ = self.exchange("tix", session)
        self.assertEqual((status, resumed), (200, True), "a reload keeps the ticket keys")

    def test_tickets_open_on_every_worker(self):
        # An unknown name is answered by whichever worker the kernel gave the connection to
        # (no handoff), so these connections land on both workers; each must resume.
        status, _, session = self.exchange("nobody")
        self.assertEqual(status, 404)
        workers = set()
        for _ in range(24):
            status, resumed, session = self.exchange("nobody", session)
            self.assertEqual((status, resumed), (404, True))
        for line in self.relay.logs():
            if line.get("event") == "request" and line.get("name", "").startswith("nobody"):
                workers.add(line.get("worker"))
        self.assertEqual(workers, {0, 1}, "both workers resumed sessions the other had issued")

    def test_tls12_sessions_resume_too(self):
        context = harness.client_context(self.relay.ca_path)
        context.maximum_version = harness.ssl.TLSVersion.TLSv1_2
        status, resumed, session = self.exchange("tix", context=context)
        self.assertEqual((status, resumed), (200, False))
        status, resumed, _ = self.exchange("tix", session, context)
        self.assertEqual((status, resumed), (200, True))

    def test_openssl_s_client_resumes(self):
        session_file = os.path.join(self.relay.dir, "s_client.session")
        base = ["openssl", "s_client", "-connect", f"127.0.0.1:{self.relay.https_port}",
                "-servername", self.relay.host("tix"), "-CAfile", self.relay.ca_path, "-tls1_3",
                "-ign_eof"]
        request = f"GET /whoami HTTP/1.1\r\nHost: {self.relay.host('tix')}\r\nConnection: close\r\n\r\n".encode()
        first = subprocess.run(base + ["-sess_out", session_file], input=request, capture_output=True, timeout=20)
        self.assertIn(b"HTTP/1.1 200", first.stdout, first.stderr)
        second = subprocess.run(base + ["-sess_in", session_file], input=request, capture_output=True, timeout=20)
        self.assertIn(b"HTTP/1.1 200", second.stdout, second.stderr)
        self.assertIn(b"Reused, TLSv1.3", second.stdout)

    def test_z_a_restart_ends_tickets_cleanly(self):
        _, _, session = self.exchange("nobody")
        self.relay.restart()
        status, resumed, _ = self.exchange("nobody", session)
        self.assertEqual((status, resumed), (404, False), "a full handshake, not an error")


if __name__ == "__main__":
    unittest.main()
