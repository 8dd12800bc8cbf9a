"""The soak's figures: one row per minute, and the summary at the end.

Per minute: the relay's RSS and open descriptors (/proc/PID/status, /proc/PID/fd), its open
visitor connections, SSH sessions and tunnels and the requests it counted that minute (the
admin API's /metrics, summed over workers), how many distinct tunnels visitors have used so
far (to read the RSS against), what the visitors did (operations finished, of
them failed and explained by a drop, failed and unexplained), and the faults injected that
minute (publisher drops, reloads, flood connections held and closed by the relay).
"""
import json
import os
import re

from faults import admin_request
from ledger import now

COLUMNS = [("min", 4), ("cpu_pct", 7), ("rss_mib", 8), ("fds", 6), ("visitor_conns", 13), ("ssh_sessions", 12),
           ("tunnels", 7), ("visited", 7), ("relay_reqs", 10), ("ops", 7), ("failed_expl", 11),
           ("failed_unexpl", 13), ("drops", 5), ("reloads", 7), ("flood_held", 10),
           ("flood_closed", 12)]


def proc_status(pid):
    """(RSS KiB, peak RSS KiB, open descriptors) of a process, or Nones once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]), fds
    except (OSError, KeyError, ValueError):
        return None, None, None


def cpu_seconds(pid):
    """The process's user + system CPU seconds so far, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def metric_sums(text):
    """Each metric's value summed over its series (workers, labels)."""
    sums = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            try:
                sums[m.group(1)] = sums.get(m.group(1), 0) + float(m.group(3))
            except ValueError:
                pass
    return sums


async def metrics(port):
    try:
        status, body = await admin_request(port, "GET", "/metrics")
    except (OSError, ValueError, TimeoutError):
        return {}
    return metric_sums(body) if status == 200 else {}


def relay_log_counts(path):
    """The relay log's events by name (requests by status class), and its warnings' events."""
    events, warnings = {}, {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                event = doc.get("event", "?")
                if event == "request":
                    event = f"request {str(doc.get('status', '?'))[:1]}xx"
                events[event] = events.get(event, 0) + 1
                if doc.get("level") in ("warn", "error"):
                    warnings[event] = warnings.get(event, 0) + 1
    except OSError:
        pass
    return events, warnings


class Report:
    def __init__(self, ledger, relay, admin_port, faults, out):
        self.ledger, self.relay, self.admin_port, self.faults = ledger, relay, admin_port, faults
        self.out = out
        self.rows = []
        self.seen_outcomes = 0
        self.seen_windows = 0
        self.seen_reloads = 0
        self.flood_closed_before = 0
        self.requests_before = None
        self.start_rss = None
        self.visited = set()  # tunnels visitors have used so far
        self.cpu_before = None
        self.cpu_at = None
        self.start_fds = None

    def emit(self, text):
        print(text, file=self.out, flush=True)

    def header(self):
        self.emit(" ".join(name.rjust(width) for name, width in COLUMNS))

    async def baseline(self):
        self.start_rss, _, self.start_fds = proc_status(self.relay.pid)
        self.cpu_before, self.cpu_at = cpu_seconds(self.relay.pid), now()
        m = await metrics(self.admin_port)
        self.requests_before = m.get("tunnelgate_requests_total", 0)

    async def row(self, minute):
        """Closes the minute: reads the relay, classifies what finished in it, prints a row."""
        rss, _, fds = proc_status(self.relay.pid)
        cpu, cpu_at = cpu_seconds(self.relay.pid), now()
        cpu_pct = None
        if cpu is not None and self.cpu_before is not None:
            cpu_pct = round(100 * (cpu - self.cpu_before) / (cpu_at - self.cpu_at))
        self.cpu_before, self.cpu_at = cpu, cpu_at
        m = await metrics(self.admin_port)
        requests = m.get("tunnelgate_requests_total")
        outcomes = self.ledger.outcomes[self.seen_outcomes:]
        self.seen_outcomes += len(outcomes)
        ok, explained, unexplained = self.ledger.classify(outcomes)
        self.visited.update(o.tunnel for o in outcomes)
        drops = len(self.ledger.windows) - self.seen_windows
        self.seen_windows = len(self.ledger.windows)
        reloads = self.ledger.reloads[self.seen_reloads:]
        self.seen_reloads = len(self.ledger.reloads)
        closed = self.faults.flood_stats["closed_by_relay"]
        row = {
            "min": minute,
            "cpu_pct": cpu_pct,
            "rss_mib": round(rss / 1024, 1) if rss else None,
            "fds": fds,
            "visitor_conns": m.get("tunnelgate_visitor_connections"),
            "ssh_sessions": m.get("tunnelgate_ssh_sessions"),
            "tunnels": m.get("tunnelgate_tunnels"),
            "visited": len(self.visited),
            "relay_reqs": (requests - self.requests_before) if requests is not None else None,
            "ops": len(outcomes),
            "failed_expl": len(explained),
            "failed_unexpl": len(unexplained),
            "drops": drops,
            "reloads": f"{sum(1 for r in reloads if r[2])}/{len(reloads)}",
            "flood_held": self.faults.flood_held,
            "flood_closed": closed - self.flood_closed_before,
        }
        if requests is not None:
            self.requests_before = requests
        self.flood_closed_before = closed
        self.rows.append(row)

        def cell(value):
            if value is None:
                return "-"
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return str(value)

        self.emit(" ".join(cell(row[name]).rjust(width) for name, width in COLUMNS))
        for o in unexplained[:5]:
            self.emit(f"     unexplained: {o.kind} {o.tunnel} at "
                      f"{self.ledger.elapsed(o.start):.1f}-{self.ledger.elapsed(o.end):.1f} s: "
                      f"{o.detail}")
        return row

    def summary(self, command, unfinished, tunnels, relay_log):
        led = self.ledger
        ok, explained, unexplained = led.classify(led.outcomes)
        by_kind = {}
        for o in led.outcomes:
            k = by_kind.setdefault(o.kind, [0, 0, 0])
            k[0] += 1
            if not o.ok:
                k[1 if o.explained_by else 2] += 1
        rss, peak, fds = proc_status(self.relay.pid)
        rss_rows = [r["rss_mib"] for r in self.rows if r["rss_mib"] is not None]
        fd_rows = [r["fds"] for r in self.rows if r["fds"] is not None]
        e = self.emit
        e("")
        e(f"summary: {command}")
        e(f"  duration {led.elapsed(now()) / 60:.1f} min; relay "
          f"{'running' if self.relay.poll() is None else f'EXITED ({self.relay.returncode})'}")
        if rss_rows:
            e(f"  relay RSS: {self.start_rss / 1024:.1f} MiB at start ({tunnels:,} tunnels up), "
              f"{rss_rows[0]} after minute 1, {rss_rows[-1]} at the end, max {max(rss_rows)}, "
              f"peak (VmHWM) {peak / 1024 if peak else 0:.1f} MiB")
        if fd_rows:
            e(f"  relay fds: {self.start_fds} at start, {fd_rows[-1]} at the end, "
              f"max {max(fd_rows)}")
        e(f"  relay requests (metrics): {int(sum(r['relay_reqs'] or 0 for r in self.rows)):,}")
        for kind, (n, ex, un) in sorted(by_kind.items()):
            e(f"  {kind:10} {n:8,} finished, {ex:5,} failed (explained), {un:5,} failed "
              f"(unexplained)")
        e(f"  unfinished at the end (cancelled): {unfinished}")
        c = led.counters
        e(f"  SSE events {c.get('sse_events', 0):,}; WebSocket messages echoed "
          f"{c.get('ws_messages', 0):,}; uploaded {c.get('bytes_up', 0) / 2**20:,.0f} MiB, "
          f"downloaded {c.get('bytes_down', 0) / 2**20:,.0f} MiB")
        kinds = {}
        for w in led.windows:
            kinds[w.kind] = kinds.get(w.kind, 0) + 1
        downs = [w.end - w.start for w in led.windows if w.end != float("inf")]
        e(f"  publisher drops: {len(led.windows)} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); "
          f"down {min(downs, default=0):.1f}-{max(downs, default=0):.1f} s each; "
          f"grace {led.grace_s} s")
        reload_ok = sum(1 for r in led.reloads if r[2])
        e(f"  reloads: {reload_ok} of {len(led.reloads)} accepted "
          f"({sum(1 for r in led.reloads if r[1] == 'SIGHUP')} SIGHUP, "
          f"{sum(1 for r in led.reloads if r[1] == 'admin')} admin API)")
        for r in led.reloads:
            if not r[2]:
                e(f"    reload at {led.elapsed(r[0]):.0f} s ({r[1]}) failed: {r[3]}")
        fs = self.faults.flood_stats
        e(f"  SSH flood: {self.faults.args.flood} connections from "
          f"{self.faults.args.flood_sources} addresses; opened {fs['opened']:,}, closed by the "
          f"relay {fs['closed_by_relay']:,}, connects failed {fs['connect_failed']:,}")
        events, warnings = relay_log_counts(relay_log)
        e("  relay log: " + ", ".join(f"{k} {v:,}" for k, v in sorted(events.items())))
        e("  relay warnings: " + (", ".join(f"{k} {v:,}" for k, v in sorted(warnings.items()))
                                  or "none"))
        e(f"  failed requests: {len(explained)} explained by publisher drops, "
          f"{len(unexplained)} unexplained")
        for label, group in (("explained", explained), ("unexplained", unexplained)):
            reasons = {}
            for o in group:
                reason = f"{o.kind}: {re.sub(r'[0-9]+', 'N', o.detail)[:90]}"
                reasons[reason] = reasons.get(reason, 0) + 1
            for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:12]:
                e(f"    {label} {n:5,} x {reason}")
        for o in unexplained[:40]:
            e(f"    unexplained: {o.kind} {o.tunnel} at {led.elapsed(o.start):.1f}-"
              f"{led.elapsed(o.end):.1f} s: {o.detail}")
        if len(unexplained) > 40:
            e(f"    … and {len(unexplained) - 40} more")
        return len(unexplained)
