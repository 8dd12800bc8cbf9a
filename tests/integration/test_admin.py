"""The admin API: inventory of what is published (live, filtered, per name), closing a
tunnel with a message on its publisher's session, health and readiness, Prometheus metrics,
the status page, and the bearer token when one is configured. A tunnel's open connection
count is its own, not its name's."""

import json
import os
import subprocess
import urllib.error
import urllib.request
import unittest

import harness

from test_source_and_memory_limits import metric_sum

PROMTOOL = os.path.join(os.environ.get("TUNNELGATE_DEPS", "/opt/tunnelgate-deps"),
                        "promtool/usr/bin/promtool")


def admin_get(port, path, method="GET", token=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


class AdminApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.class_relay(
            cls, keys=("alice", "bob"),
            extra_config=f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n')
        cls.backend = harness.class_backend(cls, "admin-backend")

    def publish(self, spec, key="alice", command=""):
        pub = self.relay.publish(spec, key=key, command=command)
        self.addCleanup(pub.close)
        pub.wait_for_url()
        return pub

    def get(self, path, method="GET"):
        return admin_get(self.admin_port, path, method)

    def test_health_and_readiness(self):
        self.assertEqual(self.get("/healthz")[0], 200)
        status, _, body = self.get("/readyz")
        self.assertEqual((status, json.loads(body)), (200, {"ready": True}))

    def test_inventory_lists_each_tunnel_with_its_owner_and_traffic(self):
        self.publish(f"inv-a:80:localhost:{self.backend.port}")
        self.publish(f"inv-b:80:localhost:{self.backend.port}", key="bob")
        r = self.relay.curl("inv-a", "/whoami")
        self.assertEqual(r.status, 200, r.describe())

        status, content_type, body = self.get("/v1/tunnels")
        self.assertEqual(status, 200)
        self.assertIn("application/json", content_type)
        tunnels = {t["name"]: t for t in json.loads(body)["tunnels"]}
        self.assertIn("inv-a", tunnels)
        self.assertIn("inv-b", tunnels)
        a = tunnels["inv-a"]
        self.assertEqual(a["key"], self.relay.keys["alice"].fingerprint)
        self.assertEqual(tunnels["inv-b"]["key"], self.relay.keys["bob"].fingerprint)
        self.assertEqual(a["url"], self.relay.url("inv-a"))
        self.assertGreaterEqual(a["requests"], 1)
        self.assertGreater(a["bytes_out"], 0)
        self.assertTrue(a["last_request_at"].endswith("Z"))
        self.assertRegex(a["source"], r"^127\.0\.0\.1:\d+$")

        status, _, body = self.get("/v1/tunnels?owner=" +
                                   urllib.request.quote(self.relay.keys["bob"].fingerprint, safe=""))
        names = [t["name"] for t in json.loads(body)["tunnels"]]
        self.assertIn("inv-b", names)
        self.assertNotIn("inv-a", names)

        self.publish(f"inv-agent:80:localhost:{self.backend.port}", command="class=agent")
        harness.wait_until(lambda: any(t["name"] == "inv-agent" and t["class"] == "agent" for t in
                                       json.loads(self.get("/v1/tunnels")[2])["tunnels"]), 10)
        status, _, body = self.get("/v1/tunnels?class=agent")
        self.assertEqual(status, 200)
        self.assertEqual([t["name"] for t in json.loads(body)["tunnels"]], ["inv-agent"])
        self.assertEqual(self.get("/v1/tunnels?class=robot")[0], 400)
        ctl = harness.run([harness.tg_bin(), "ctl", "--config", self.relay.config_path,
                           "tunnels", "--class", "agent", "--json"], check=False)
        self.assertEqual(ctl.returncode, 0, ctl.stderr.decode())
        self.assertEqual([t["name"] for t in json.loads(ctl.stdout)["tunnels"]], ["inv-agent"])

        status, _, body = self.get("/v1/tunnels/inv-b")
        self.assertEqual((status, json.loads(body)["name"]), (200, "inv-b"))
        self.assertEqual(self.get("/v1/tunnels/never-published")[0], 404)

    def test_delete_unpublishes_and_tells_the_publisher(self):
        pub = self.publish(f"doomed:80:localhost:{self.backend.port}")
        self.assertEqual(self.relay.curl("doomed", "/whoami").status, 200)
        status, _, body = self.get("/v1/tunnels/doomed", method="DELETE")
        self.assertEqual((status, json.loads(body)), (200, {"closed": "doomed"}))
        pub.wait_for_text("was closed: an operator closed it")
        harness.wait_until(lambda: not pub.alive(), 10)  # its only tunnel: the session ends
        self.assertEqual(self.relay.curl("doomed", "/whoami").status, 502)
        self.assertEqual(self.get("/v1/tunnels/doomed")[0], 404)
        self.assertEqual(self.get("/v1/tunnels/doomed", method="DELETE")[0], 404)

    def test_exposures_keep_tunnels_that_already_closed(self):
        pub = self.relay.publish(f"brief:80:localhost:{self.backend.port}")
        pub.wait_for_url()
        refused = self.relay.publish(f"brief:80:localhost:{self.backend.port}", key="bob")
        self.addCleanup(refused.close)
        refused.wait_for_text("held by another key")
        pub.close()
        harness.wait_until(lambda: self.get("/v1/tunnels/brief")[0] == 404, 10)
        status, _, body = self.get("/v1/exposures?since=1m")
        self.assertEqual(status, 200, body)
        events = [(e["event"], e["key"]) for e in json.loads(body)["exposures"]
                  if e["name"] == "brief"]
        alice, bob = self.relay.keys["alice"].fingerprint, self.relay.keys["bob"].fingerprint
        self.assertEqual(events, [("opened", alice), ("refused", bob), ("closed", alice)])
        ctl = harness.run([harness.tg_bin(), "ctl", "--config", self.relay.config_path,
                           "exposures", "--since", "1h"], check=False)
        self.assertEqual(ctl.returncode, 0, ctl.stderr.decode())
        self.assertIn("brief", [e["name"] for e in json.loads(ctl.stdout)["exposures"]])
        self.assertEqual(self.get("/v1/exposures?since=yesterday")[0], 400)

    def test_metrics_count_requests_per_worker(self):
        self.publish(f"metered:80:localhost:{self.backend.port}")
        for _ in range(3):
            self.assertEqual(self.relay.curl("metered", "/whoami").status, 200)
        status, content_type, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("text/plain", content_type)
        text = body.decode()
        self.assertIn("# TYPE tunnelgate_requests_total counter", text)
        total = sum(int(line.split()[-1]) for line in text.splitlines()
                    if line.startswith("tunnelgate_responses_total{") and 'class="2xx"' in line)
        self.assertGreaterEqual(total, 3)
        handshakes = sum(int(line.split()[-1]) for line in text.splitlines()
                         if line.startswith("tunnelgate_tls_handshake_seconds_count{"))
        self.assertGreaterEqual(handshakes, 3)
        # Every sample parses as `name{labels} number` under a family declared by # TYPE.
        families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            name, _, value = line.rpartition(" ")
            self.assertRegex(name, r'^[a-z_]+\{worker="\d+"(,[a-z]+="[^"]*")*\}$', line)
            float(value)
            base = name.split("{")[0]
            self.assertTrue(any(base == f or base in (f + "_bucket", f + "_sum", f + "_count")
                                for f in families), line)
        workers = {line.split('"')[1] for line in text.splitlines()
                   if line.startswith("tunnelgate_tunnels{")}
        self.assertEqual(workers, {"0", "1"})
        processed = sum(int(line.split()[-1]) for line in text.splitlines()
                        if line.startswith("tunnelgate_relay_processing_seconds_count{"))
        self.assertGreaterEqual(processed, 3)
        # Prometheus' own checker (unpacked by tools/setup.sh) accepts the exposition.
        checked = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                                 timeout=30)
        self.assertEqual(checked.returncode, 0, checked.stdout.decode() + checked.stderr.decode())

    def test_status_page_renders_the_inventory(self):
        self.publish(f"paged:80:localhost:{self.backend.port}")
        status, content_type, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", content_type)
        page = body.decode()
        self.assertIn('<table id="tunnels">', page)
        self.assertIn("<td>paged</td>", page)
        self.assertIn('http-equiv="refresh"', page)

    def test_ctl_lists_and_closes_through_the_api(self):
        self.publish(f"via-ctl:80:localhost:{self.backend.port}")
        ctl = [harness.tg_bin(), "ctl", "--config", self.relay.config_path]
        listed = harness.run(ctl + ["tunnels"], check=False)
        self.assertEqual(listed.returncode, 0, listed.stderr.decode())
        line = next((l for l in listed.stdout.decode().splitlines() if l.startswith("via-ctl ")), "")
        self.assertIn(self.relay.keys["alice"].fingerprint, line)
        closed = harness.run(ctl + ["kill", "via-ctl"], check=False)
        self.assertEqual(closed.returncode, 0, closed.stderr.decode())
        self.assertEqual(json.loads(closed.stdout), {"closed": "via-ctl"})
        again = harness.run(ctl + ["close", "via-ctl"], check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("no tunnel named", again.stderr.decode())

    def test_ctl_top_shows_every_worker(self):
        top = harness.run([harness.tg_bin(), "ctl", "--config", self.relay.config_path, "top", "1"],
                          check=False, timeout=20)
        self.assertEqual(top.returncode, 0, top.stderr.decode())
        lines = top.stdout.decode().splitlines()
        self.assertTrue(lines[0].startswith("WORKER"), lines)
        self.assertEqual([l.split()[0] for l in lines[1:]], ["0", "1"])

    def test_unknown_paths_and_methods(self):
        self.assertEqual(self.get("/v2/nothing")[0], 404)
        self.assertEqual(self.get("/v1/tunnels/x", method="PUT")[0], 405)


class ConnectionCountOfARepublishedName(unittest.TestCase):
    """`open_connections` counts the connections of one tunnel, not of its name: a visitor of
    an earlier "x" that closes after "x" was published again on the same worker (one worker
    here) leaves the new tunnel's count alone."""

    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.class_relay(
            cls, workers=1, extra_config=f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n')
        cls.backend = harness.class_backend(cls, "count-backend")

    def open_visitor(self, name):
        """A kept-alive connection to `name` after one request (answered 200)."""
        sock = self.relay.tls(name)
        self.addCleanup(sock.close)
        sock.sendall(f"GET /whoami HTTP/1.1\r\nHost: {self.relay.host(name)}\r\n\r\n".encode())
        response = harness.HttpResponse(sock).read_all()
        self.assertEqual(response.status, 200)
        return sock

    def tunnel(self, name):
        status, _, body = admin_get(self.admin_port, f"/v1/tunnels?name={name}")
        self.assertEqual(status, 200)
        found = [t for t in json.loads(body)["tunnels"] if t["name"] == name]
        return found[0] if found else None

    def visitor_connections(self):
        return metric_sum(self.admin_port, "tunnelgate_visitor_connections")

    def test_a_visitor_of_the_old_tunnel_closing_leaves_the_new_count_alone(self):
        old_pub, _ = harness.publish_and_wait(self.relay, f"recount:80:localhost:{self.backend.port}")
        old_visitor = self.open_visitor("recount")
        self.assertEqual(self.tunnel("recount")["open_connections"], 1)
        old_pub.close()
        self.assertTrue(harness.wait_until(lambda: self.tunnel("recount") is None, 10))

        new_pub, _ = harness.publish_and_wait(self.relay, f"recount:80:localhost:{self.backend.port}")
        self.addCleanup(new_pub.close)
        new_visitor = self.open_visitor("recount")
        self.assertEqual(self.tunnel("recount")["open_connections"], 1)
        self.assertEqual(self.visitor_connections(), 2)

        old_visitor.close()
        self.assertTrue(harness.wait_until(lambda: self.visitor_connections() == 1, 10),
                        "the relay did not see the old visitor close")
        self.assertEqual(self.tunnel("recount")["open_connections"], 1,
                         "the old tunnel's visitor was taken off the new tunnel's count")
        new_visitor.close()
        self.assertTrue(harness.wait_until(
            lambda: self.tunnel("recount")["open_connections"] == 0, 10))


class AdminToken(unittest.TestCase):
    TOKEN = "s3cret-token-for-the-admin-api"

    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.Relay(extra_config=(
            f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\ntoken_file = "admin.token"\n'))
        cls.addClassCleanup(cls.relay.close)
        with open(os.path.join(cls.relay.dir, "admin.token"), "w") as f:
            f.write(cls.TOKEN + "\n")
        cls.relay.start()

    def test_ctl_reads_the_token_file_from_the_config(self):
        ctl = harness.run([harness.tg_bin(), "ctl", "--config", self.relay.config_path, "tunnels",
                           "--json"], check=False)
        self.assertEqual(ctl.returncode, 0, ctl.stderr.decode())
        self.assertEqual(json.loads(ctl.stdout), {"tunnels": []})

    def test_token_required_except_for_health(self):
        self.assertEqual(admin_get(self.admin_port, "/healthz")[0], 200)
        self.assertEqual(admin_get(self.admin_port, "/v1/tunnels")[0], 401)
        self.assertEqual(admin_get(self.admin_port, "/v1/tunnels", token="wrong-token-xxxxxxxx")[0], 401)
        self.assertEqual(admin_get(self.admin_port, "/v1/tunnels", token=self.TOKEN)[0], 200)


class AdminConfig(unittest.TestCase):
    def test_non_loopback_admin_without_token_is_refused_at_load(self):
        relay = harness.Relay(extra_config='\n[admin]\nlisten = "0.0.0.0:9999"\n')
        self.addCleanup(relay.close)
        relay.write_config()
        proc = harness.run([harness.tg_bin(), "--check-config", relay.config_path], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("token_file", proc.stderr.decode())


if __name__ == "__main__":
    unittest.main()
