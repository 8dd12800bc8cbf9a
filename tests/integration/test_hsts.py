"""Strict-Transport-Security: on every answer the relay writes itself over TLS (404, 421, 502,
400, the assertion keys document), never on the plain-HTTP 400 of the HTTPS port (RFC 6797
section 7.2), not added to services' responses unless `hsts_on_services`, where a service's
own value wins; `hsts` sets the value or turns it off, and a bad value is a config error."""

import socket
import subprocess
import unittest
import urllib.parse

import harness

DEFAULT = "max-age=63072000; includeSubDomains"


def hsts_of(response) -> str | None:
    return response.headers.get("strict-transport-security")


class RelayAnswers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls)
        cls.backend = harness.class_backend(cls, "hsts")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"strict:80:localhost:{cls.backend.port}")

    def test_the_relays_own_answers_carry_it(self):
        answers = {
            "404 unknown name": self.relay.curl("nosuchname", "/"),
            "421 Host not the SNI": self.relay.curl(
                "strict", "/", headers=[f"Host: other.{self.relay.domain}:{self.relay.https_port}"]),
            "200 assertion keys": self.relay.curl("strict", "/.well-known/tunnelgate/jwks.json"),
            "400 CL+TE": self.relay.request("strict", (
                f"POST /echo HTTP/1.1\r\nHost: {self.relay.host('strict')}\r\nContent-Length: 3\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n").encode()),
        }
        expected = {"404 unknown name": 404, "421 Host not the SNI": 421, "200 assertion keys": 200,
                    "400 CL+TE": 400}
        for case, response in answers.items():
            with self.subTest(case):
                self.assertEqual(response.status, expected[case])
                self.assertEqual(hsts_of(response), DEFAULT)

    def test_a_gone_publishers_502_carries_it(self):
        pub, _ = harness.publish_and_wait(self.relay, f"gone-strict:80:localhost:{self.backend.port}")
        pub.kill()
        r = harness.wait_until(lambda: (lambda r: r if r.status == 502 else None)(
            self.relay.curl("gone-strict", "/whoami")), 10)
        self.assertIsNotNone(r, "the name answers 502 once its publisher is gone")
        self.assertEqual(hsts_of(r), DEFAULT)

    def test_services_responses_are_left_alone_by_default(self):
        r = self.relay.curl("strict", "/whoami")
        self.assertEqual((r.status, r.body), (200, b"hsts"), r.describe())
        self.assertIsNone(hsts_of(r))

    def test_never_over_plain_http(self):
        with socket.create_connection(("127.0.0.1", self.relay.https_port), timeout=10) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {self.relay.host('strict')}\r\n\r\n".encode())
            response = harness.HttpResponse(sock).read_all()
        self.assertEqual(response.status, 400)
        self.assertIsNone(hsts_of(response))


class OnServices(unittest.TestCase):
    VALUE = "max-age=600"

    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(
            cls, https_config=f'hsts = "{cls.VALUE}"\nhsts_on_services = true\n')
        cls.backend = harness.class_backend(cls, "services")
        cls.pub, _ = harness.publish_and_wait(cls.relay, f"svc:80:localhost:{cls.backend.port}")

    def test_added_to_a_service_response_without_one(self):
        r = self.relay.curl("svc", "/whoami")
        self.assertEqual((r.status, r.body), (200, b"services"), r.describe())
        self.assertEqual(hsts_of(r), self.VALUE)
        self.assertEqual(r.header_text.lower().count("strict-transport-security"), 1, r.header_text)

    def test_a_services_own_value_wins(self):
        own = "max-age=31536000; preload"
        r = self.relay.curl("svc", "/with-header?" + urllib.parse.urlencode({"name": "Strict-Transport-Security", "value": own}))
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(hsts_of(r), own)
        self.assertEqual(r.header_text.lower().count("strict-transport-security"), 1, r.header_text)

    def test_the_relays_own_answers_use_the_configured_value(self):
        self.assertEqual(hsts_of(self.relay.curl("nosuchname", "/")), self.VALUE)


class TurnedOff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, https_config="hsts = false\n")

    def test_no_header_at_all(self):
        r = self.relay.curl("nosuchname", "/")
        self.assertEqual(r.status, 404)
        self.assertIsNone(hsts_of(r))


class BadValues(unittest.TestCase):
    def test_are_config_errors_with_the_line(self):
        for value, problem in {'"max-age=soon"': "number of seconds",
                               '"includeSubDomains"': "max-age",
                               '"max-age=60; includeSubdomain"': "not a directive",
                               "true": "or false"}.items():
            with self.subTest(value):
                relay = harness.Relay(https_config=f"hsts = {value}\n")
                self.addCleanup(relay.close)
                relay.write_config()
                with open(relay.config_path) as f:
                    line = 1 + next(i for i, text in enumerate(f) if text.startswith("hsts"))
                proc = subprocess.run([harness.tg_bin(), "--check-config", relay.config_path],
                                      cwd=relay.dir, capture_output=True, timeout=20)
                stderr = proc.stderr.decode(errors="replace")
                self.assertNotEqual(proc.returncode, 0, stderr)
                self.assertIn(f"{relay.config_path}:{line}:", stderr)
                self.assertIn(problem, stderr)


if __name__ == "__main__":
    unittest.main()
