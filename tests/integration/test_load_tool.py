"""tunnelgate-load against the real relay: its in-process publisher opens real tcpip-forwards
(libssh as an SSH client, the harness's authorized key), its TLS visitors drive them, and its
--json summary must show traffic, consistent percentiles and no errors. The tool is found next
to the relay binary: $TG_BIN's folder + tools/load/tunnelgate-load."""

import json
import os
import subprocess
import unittest
from pathlib import Path

import harness


def load_bin() -> str:
    path = Path(harness.tg_bin()).parent / "tools" / "load" / "tunnelgate-load"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise AssertionError(f"{path} is not an executable file (build the tunnelgate-load target)")
    return str(path)


class LoadTool(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls, keys=("loadpub",))
        cls.bin = load_bin()

    def run_tool(self, *args: str, timeout: float = 30) -> dict:
        relay = self.relay
        cmd = [self.bin, "--ssh", f"127.0.0.1:{relay.ssh_port}", "--key", relay.keys["loadpub"].path,
               "--https", f"127.0.0.1:{relay.https_port}", "--sni-domain", relay.domain,
               "--ca", relay.ca_path, "--json", *args]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        describe = (f"cmd: {' '.join(cmd)}\nexit: {proc.returncode}\nstdout: {proc.stdout.decode(errors='replace')}\n"
                    f"stderr: {proc.stderr.decode(errors='replace')}\n{relay.log_text(20)}")
        self.assertEqual(proc.returncode, 0, describe)
        try:
            summary = json.loads(proc.stdout)
        except ValueError:
            self.fail(f"stdout is not one JSON object\n{describe}")
        self.assertEqual(summary["errors"]["total"], 0, describe)
        return summary

    def assert_ordered_percentiles(self, figures: dict, what: str) -> None:
        self.assertGreater(figures["count"], 0, what)
        self.assertGreater(figures["p50"], 0, what)
        self.assertLessEqual(figures["min"], figures["p50"], what)
        self.assertLessEqual(figures["p50"], figures["p90"], what)
        self.assertLessEqual(figures["p90"], figures["p99"], what)
        self.assertLessEqual(figures["p99"], figures["p99_9"], what)
        self.assertLessEqual(figures["p99_9"], figures["max"], what)

    def test_json_rpc_closed_loop_keepalive(self):
        s = self.run_tool("--publish", "3", "--name-prefix", "lt", "--connections", "8",
                          "--duration", "2", "--warmup", "0.5")
        self.assertGreater(s["requests"], 0, s)
        self.assertEqual(s["ok"], s["requests"], s)
        self.assertEqual(s["status"], {"200": s["requests"]}, s)
        self.assertGreater(s["throughput_rps"], 0, s)
        self.assertEqual(s["latency_us"]["count"], s["ok"], s)
        self.assert_ordered_percentiles(s["latency_us"], "request latency")
        self.assertEqual(s["handshakes"], 0, "keep-alive: every handshake happened in the warm-up")
        self.assertGreater(s["cpu"]["total_us_per_request"], 0, s)
        # The tool itself kept at least part of a core busy while it drove the relay.
        self.assertGreater(s["machine_busy"], 0, s)
        self.assertLessEqual(s["machine_busy"], 1, s)
        publisher = s["publisher"]
        self.assertEqual((publisher["tunnels"], publisher["sessions"]), (3, 3), s)
        self.assertGreaterEqual(publisher["requests"], s["requests"], s)
        self.assertEqual(publisher["bad_requests"], 0, s)
        self.assertEqual(publisher["sessions_lost"], 0, s)
        self.assert_ordered_percentiles(publisher["time_to_url_us"], "time to URL")
        for i in range(3):
            opened = self.relay.wait_for_log({"event": "tunnel_opened", "name": f"lt-{i}"}, timeout=5)
            self.assertIsNotNone(opened, f"no tunnel_opened for lt-{i}\n{self.relay.log_text(30)}")
        # The visitors cycle over the names: each tunnel carried requests.
        for i in range(3):
            served = self.relay.wait_for_log(
                lambda line, name=f"lt-{i}": line.get("event") == "request" and line.get("name") == name
                and line.get("status") == 200, timeout=5)
            self.assertIsNotNone(served, f"no request served through lt-{i}")

    def test_sse_events_and_added_latency(self):
        events, interval_ms = 5, 20
        s = self.run_tool("--publish", "2", "--name-prefix", "ls", "--backend", f"sse:{events}:{interval_ms}",
                          "--method", "GET", "--path", "/events", "--connections", "10",
                          "--duration", "2", "--warmup", "0.3")
        self.assertGreater(s["requests"], 0, s)
        sse = s["sse"]
        # Every completed stream carried its events (events count by arrival in the window).
        self.assertGreaterEqual(sse["events"], s["requests"] * (events - 1), s)
        self.assertEqual(sse["added_latency_us"]["count"], sse["events"], s)
        self.assert_ordered_percentiles(sse["added_latency_us"], "SSE added latency")
        # A stream lasts (events - 1) intervals: the request latency cannot be shorter.
        self.assertGreaterEqual(s["latency_us"]["p50"], (events - 1) * interval_ms * 1000, s)

    def test_spread_sse_streams_tick_at_their_own_phases(self):
        # 12 streams of 3 events 300 ms apart: without spread each lasts 600 ms from its start;
        # with it, stream k's events after the first are delayed by its own phase in [0, 300 ms),
        # so their lengths differ by up to one interval.
        events, interval_ms = 3, 300
        together = self.run_tool("--publish", "1", "--name-prefix", "lt", "--backend", f"sse:{events}:{interval_ms}",
                                 "--method", "GET", "--path", "/events", "--connections", "12",
                                 "--requests-per-connection", "1", "--duration", "10", "--warmup", "0")
        spread = self.run_tool("--publish", "1", "--name-prefix", "lp", "--backend",
                               f"sse:{events}:{interval_ms}:spread", "--method", "GET", "--path", "/events",
                               "--connections", "12", "--requests-per-connection", "1", "--duration", "10",
                               "--warmup", "0")
        self.assertEqual(spread["publisher"]["backend"], f"sse:{events}:{interval_ms}:spread", spread)
        for s in (together, spread):
            self.assertEqual(s["requests"], 12, s)
            self.assertEqual(s["sse"]["events"], 12 * events, s)
        base_us = (events - 1) * interval_ms * 1000
        self.assertGreaterEqual(together["latency_us"]["min"], base_us, together)
        self.assertLess(together["latency_us"]["max"] - together["latency_us"]["min"], interval_ms * 1000 / 3, together)
        # Twelve golden-ratio phases cover the interval: the longest and shortest stream are
        # more than a third of an interval apart (about 0.9 of it).
        self.assertGreater(spread["latency_us"]["max"] - spread["latency_us"]["min"], interval_ms * 1000 / 3, spread)
        self.assertLess(spread["latency_us"]["max"], base_us + interval_ms * 1000 * 1.5, spread)

    def test_open_loop_follows_the_timetable(self):
        rate, duration = 300, 1.5
        s = self.run_tool("--publish", "1", "--name-prefix", "lo", "--rate", str(rate), "--connections", "4",
                          "--duration", str(duration), "--warmup", "0.5")
        self.assertEqual(s["mode"], "open-loop", s)
        self.assertEqual(s["scheduled"], int(rate * duration), s)
        self.assertEqual(s["unfinished"], 0, s)
        self.assertEqual(s["requests"], s["scheduled"], s)
        self.assert_ordered_percentiles(s["latency_us"], "open-loop latency")

    def test_handshake_per_request(self):
        s = self.run_tool("--publish", "1", "--name-prefix", "lh", "--handshake-per-request",
                          "--connections", "2", "--duration", "1", "--warmup", "0.2")
        self.assertGreater(s["requests"], 0, s)
        self.assertFalse(s["keepalive"], s)
        # One full handshake per request (give or take the one in flight at each edge).
        self.assertLessEqual(abs(s["handshakes"] - s["requests"]), 2 * 2, s)

    def test_requests_per_connection_ends_the_run(self):
        # One 4 MiB stream: the run ends when it has arrived, long before --duration.
        size = 4 * 1024 * 1024
        s = self.run_tool("--publish", "1", "--name-prefix", "lr", "--backend", f"bytes:{size}",
                          "--method", "GET", "--path", "/download", "--connections", "1",
                          "--requests-per-connection", "1", "--warmup", "0", "--duration", "60")
        self.assertEqual((s["requests"], s["ok"]), (1, 1), s)
        self.assertLess(s["duration_s"], 30, s)
        self.assertGreaterEqual(s["bytes_received"], size, s)
        self.assertGreater(s["received_mb_per_s"], 0, s)

    def test_idle_connections_hold_after_one_request(self):
        s = self.run_tool("--publish", "1", "--name-prefix", "li", "--idle", "--connections", "20",
                          "--threads", "2", "--source", "127.0.0.2", "--source", "127.0.0.3",
                          "--warmup", "0", "--duration", "2")
        self.assertEqual(s["idle_connections"], 20, s)
        # One request per connection, then silence.
        self.assertEqual(s["publisher"]["requests"], 20, s)
        self.assertEqual(s["requests"], 20, s)

    def test_verbatim_body(self):
        body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{}}}'
        s = self.run_tool("--publish", "1", "--name-prefix", "lb", "--backend", "echo", "--body", body,
                          "--connections", "2", "--duration", "1", "--warmup", "0.2")
        self.assertGreater(s["ok"], 0, s)
        self.assertEqual(s["publisher"]["bad_requests"], 0, s)


if __name__ == "__main__":
    unittest.main()
