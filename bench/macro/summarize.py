#!/usr/bin/env python3
"""Turns run.sh's per-run records into the comparison table (or JSON with --json).

  summarize.py [--json] results.jsonl key=value...

Each line of results.jsonl is one measured wrk run of one stack:
  {"stack": "tunnelgate"|"baseline", "round": N, "wrk": {requests, duration_us, p50_us, p99_us,
   ..., errors}, "relay_ticks": T, "client_ticks": T, "backend_ticks": T, "relay_pids": N}
The key=value arguments describe the run (clk_tck is required: CPU ticks per second).

Per stack: requests/s = all requests / all measured time; p50 and p99 = the mean over rounds of
each run's percentile; CPU per request = all CPU ticks over the runs / all requests.
"""
import json
import sys


def aggregate(runs, clk_tck):
    requests = sum(r["wrk"]["requests"] for r in runs)
    duration_us = sum(r["wrk"]["duration_us"] for r in runs)

    def cpu_us_per_request(key):
        ticks = sum(r.get(key, 0) for r in runs)
        return ticks * 1e6 / clk_tck / requests if requests else None

    machine_total = sum(r.get("machine_total_ticks", 0) for r in runs)
    ours = sum(r["relay_ticks"] + r["client_ticks"] + r["backend_ticks"] + r.get("wrk_ticks", 0)
               for r in runs)
    other = sum(r.get("machine_process_ticks", 0) for r in runs) - ours
    irq = sum(r.get("machine_irq_ticks", 0) for r in runs)
    steal = sum(r.get("machine_steal_ticks", 0) for r in runs)
    errors = {}
    for r in runs:
        for kind, count in r["wrk"]["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    return {
        "requests": requests,
        "seconds": round(duration_us / 1e6, 3),
        "requests_per_s": requests * 1e6 / duration_us if duration_us else None,
        "p50_ms": sum(r["wrk"]["p50_us"] for r in runs) / len(runs) / 1000,
        "p99_ms": sum(r["wrk"]["p99_us"] for r in runs) / len(runs) / 1000,
        "relay_cpu_us_per_request": cpu_us_per_request("relay_ticks"),
        "ssh_client_cpu_us_per_request": cpu_us_per_request("client_ticks"),
        "backend_cpu_us_per_request": cpu_us_per_request("backend_ticks"),
        "wrk_cpu_us_per_request": cpu_us_per_request("wrk_ticks"),
        # Shares of all cores' time during the runs, from /proc/stat. other_cpu_pct: processes
        # other than the measured ones and wrk (other people's builds and tests on a shared
        # machine: noise). irq_cpu_pct: interrupt and softirq time, which the kernel charges to
        # no process (much of loopback TCP's receive path is there, so it grows with the number
        # of TCP hops a stack has). steal_cpu_pct: time the hypervisor gave to other guests.
        "other_cpu_pct": max(other, 0) * 100 / machine_total if machine_total else None,
        "irq_cpu_pct": irq * 100 / machine_total if machine_total else None,
        "steal_cpu_pct": steal * 100 / machine_total if machine_total else None,
        "errors": errors,
        "rounds": [
            {
                "round": r["round"],
                "requests_per_s": r["wrk"]["requests"] * 1e6 / r["wrk"]["duration_us"],
                "p50_ms": r["wrk"]["p50_us"] / 1000,
                "p99_ms": r["wrk"]["p99_us"] / 1000,
                "relay_cpu_us_per_request": r["relay_ticks"] * 1e6 / clk_tck / r["wrk"]["requests"]
                if r["wrk"]["requests"] else None,
                "relay_processes": r.get("relay_pids"),
            }
            for r in runs
        ],
    }


ROWS = [  # key, label, format, which way is better
    ("requests_per_s", "requests/s", "{:.0f}", "higher"),
    ("p50_ms", "latency p50 (ms)", "{:.3f}", "lower"),
    ("p99_ms", "latency p99 (ms)", "{:.3f}", "lower"),
    ("relay_cpu_us_per_request", "relay CPU us/request", "{:.1f}", "lower"),
    ("ssh_client_cpu_us_per_request", "ssh client CPU us/request", "{:.1f}", "lower"),
    ("backend_cpu_us_per_request", "backend CPU us/request", "{:.1f}", "lower"),
    ("wrk_cpu_us_per_request", "wrk CPU us/request", "{:.1f}", "lower"),
]
SHARES = [
    ("irq_cpu_pct", "irq+softirq CPU % (no process)", "{:.1f}"),
    ("other_cpu_pct", "other processes' CPU % (noise)", "{:.1f}"),
    ("steal_cpu_pct", "steal CPU % (noise)", "{:.1f}"),
]


def main(argv):
    as_json = "--json" in argv
    args = [a for a in argv if a != "--json"]
    if not args:
        sys.exit("usage: summarize.py [--json] results.jsonl key=value...")
    meta = {k: int(v) if v.isdigit() else v for k, v in (a.split("=", 1) for a in args[1:])}
    clk_tck = int(meta["clk_tck"])
    with open(args[0]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    stacks = [s for s in ("tunnelgate", "baseline") if any(r["stack"] == s for r in records)]
    result = {s: aggregate([r for r in records if r["stack"] == s], clk_tck) for s in stacks}
    both = len(stacks) == 2
    ratios = {}
    if both:
        for key, *_ in ROWS:
            a, b = result["tunnelgate"][key], result["baseline"][key]
            ratios[key] = a / b if a is not None and b else None

    if as_json:
        print(json.dumps({"scenario": meta, "stacks": result, "ratio_tunnelgate_to_baseline": ratios},
                         indent=2))
        return

    print(f"scenario: POST /mcp (JSON-RPC tools/list, {meta.get('body_bytes')} B body) over "
          f"HTTPS keep-alive; wrk -t{meta.get('threads')} -c{meta.get('connections')}, "
          f"{meta.get('rounds')} x {meta.get('duration_s')} s per stack, alternating; "
          f"{meta.get('cores')} cores, {meta.get('busy_before_pct')}% busy before start"
          "")
    for s in stacks:
        print(f"  {s}: TLS {meta.get('tls.' + s, '?')}; ssh {meta.get('ssh_cipher.' + s, '?')}")
    headers = ["scenario", *stacks] + (["ratio tg/base"] if both else [])
    table = []
    for key, label, fmt, better in ROWS:
        row = [f"{label} ({better} is better)"]
        for s in stacks:
            value = result[s][key]
            row.append("-" if value is None else fmt.format(value))
        if both:
            row.append("-" if ratios[key] is None else f"{ratios[key]:.2f}")
        table.append(row)
    for key, label, fmt in SHARES:
        table.append([label] + ["-" if result[s][key] is None else fmt.format(result[s][key])
                                for s in stacks] + ([""] if both else []))
    widths = [max(len(r[i]) for r in [headers, *table]) for i in range(len(headers))]
    line = lambda cells: "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                                   for i, c in enumerate(cells))
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print(line(row))
    for s in stacks:
        rounds = ", ".join(f"{r['requests_per_s']:.0f}/s p99 {r['p99_ms']:.1f}ms "
                           f"{r['relay_cpu_us_per_request']:.1f}us" for r in result[s]["rounds"])
        errors = {k: v for k, v in result[s]["errors"].items() if v}
        print(f"{s} rounds (req/s, p99, relay CPU/req): {rounds}"
              + (f"; ERRORS {errors}" if errors else "; no errors"))


if __name__ == "__main__":
    main(sys.argv[1:])
