#!/usr/bin/env python3
"""Turns the macro benchmark's measurements into table rows, and the rows into the summary.

  tables.py brief LOAD.json                  one line about one tunnelgate-load run
  tables.py scenario N results.jsonl rows.jsonl [key=value...]
                                             prints scenario N's rows (one per stack and a
                                             ratio) and appends them to rows.jsonl
  tables.py summary rows.jsonl [--json]      the final table of every scenario that ran

results.jsonl holds one record per measured run (common.sh, measure_load): scenario, variant,
stack, round, the tool's JSON summary ("load"), and the relay processes' CPU seconds over the
tool's whole run ("relay_cpu_s"). Scenario 5 writes its own records (kind "scale").

Aggregation: rates are totals over totals (all rounds' requests / all rounds' seconds);
percentiles are the mean over rounds of each run's percentile; relay CPU per request divides
the relay's CPU over the whole run by the requests the tool's backend served over the whole
run (warm-up included on both sides). Ratios are tunnelgate / baseline. A target is checked
only where both figures were measured; "-" marks what was not.
"""
import json
import os
import sys

GIB = 1024**3


def load_records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def brief(path):
    r = json.load(open(path))
    parts = []
    if "throughput_rps" in r:
        parts.append(f"{r['throughput_rps']:.0f} req/s")
        lat = r["latency_us"]
        parts.append(f"p50 {lat['p50'] / 1000:.2f} ms, p99 {lat['p99'] / 1000:.2f} ms")
        if not r.get("keepalive", True):
            parts.append(f"{r['handshakes_per_s']:.0f} handshakes/s")
        if r.get("received_mb_per_s", 0) > 50:
            parts.append(f"{r['received_mb_per_s']:.0f} MB/s")
        if r["sse"]["events"]:
            sse = r["sse"]["added_latency_us"]
            parts.append(f"SSE {r['sse']['events']} events, added p50 {sse['p50'] / 1000:.2f} ms "
                         f"p99 {sse['p99'] / 1000:.2f} ms")
        if r.get("idle_connections") is not None:
            parts.append(f"{r['idle_connections']} idle")
        if r["errors"]["total"]:
            parts.append(f"ERRORS {r['errors']} first: {r['first_error']}")
    if "publisher" in r:
        p = r["publisher"]
        parts.append(f"{p['tunnels']} tunnels, time to URL p99 "
                     f"{p['time_to_url_us']['p99'] / 1000:.2f} ms")
    print(", ".join(parts))


# --- per-stack aggregates -------------------------------------------------------------------

def runs_of(records, scenario, variant, stack):
    return [r for r in records if r.get("scenario") == scenario and r.get("variant") == variant
            and r.get("stack") == stack and not r.get("failed")]


def failures(records, scenario):
    failed = [r for r in records if r.get("scenario") == scenario and r.get("failed")]
    return "; ".join(f"{r['stack']} {r['variant']} round {r['round']} failed ({r['failed']}, "
                     "left out)" for r in failed)


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def aggregate(runs):
    if not runs:
        return None
    loads = [r["load"] for r in runs]
    seconds = sum(l["duration_s"] for l in loads)
    ok = sum(l["ok"] for l in loads)
    served = sum(l["publisher"]["requests"] for l in loads)
    relay_cpu = sum(r["relay_cpu_s"] for r in runs)
    relay_system_cpu = sum(r.get("relay_system_cpu_s", 0) for r in runs)
    received = sum(l["bytes_received"] for l in loads)
    events = sum(l["sse"]["events"] for l in loads)
    relay_us = relay_cpu * 1e6 / served if served else None
    tool_us = mean(l["cpu"]["total_us_per_request"] for l in loads)
    relay_s_per_gib = relay_cpu / (received / GIB) if received else None
    tool_s_per_gib = (sum(l["cpu"]["process_s"] for l in loads) / (received / GIB)
                      if received else None)
    return {
        "rounds": len(runs),
        # What the two parties' CPU per request allows on all of this machine's cores.
        "cpu_bound_requests_per_s": (os.cpu_count() * 1e6 / (relay_us + tool_us)
                                     if relay_us and tool_us else None),
        "requests_per_s": ok / seconds if seconds else None,
        "p50_ms": mean(l["latency_us"]["p50"] / 1000 for l in loads),
        "p99_ms": mean(l["latency_us"]["p99"] / 1000 for l in loads),
        "relay_cpu_us_per_request": relay_cpu * 1e6 / served if served else None,
        "relay_system_cpu_us_per_request": relay_system_cpu * 1e6 / served if served else None,
        "tool_cpu_us_per_request": mean(l["cpu"]["total_us_per_request"] for l in loads),
        "handshakes_per_s": sum(l["handshakes"] for l in loads) / seconds if seconds else None,
        "mb_per_s": received / 1e6 / seconds if seconds else None,
        "relay_cpu_s_per_gib": relay_s_per_gib,
        "tool_cpu_s_per_gib": tool_s_per_gib,
        # As for requests: what the two parties' CPU per GiB allows on all the cores.
        "cpu_bound_mb_per_s": (os.cpu_count() * GIB / 1e6 / (relay_s_per_gib + tool_s_per_gib)
                               if relay_s_per_gib and tool_s_per_gib else None),
        "sse_events_per_s": events / seconds if seconds else None,
        "sse_p50_ms": mean(l["sse"]["added_latency_us"]["p50"] / 1000 for l in loads),
        "sse_p99_ms": mean(l["sse"]["added_latency_us"]["p99"] / 1000 for l in loads),
        "relay_cores": relay_cpu / sum(r["wall_s"] for r in runs),
        "machine_busy_pct": mean(100 * l["machine_busy"] for l in loads
                                 if l.get("machine_busy") is not None),
        "errors": sum(l["errors"]["total"] for l in loads),
        "first_error": next((l["first_error"] for l in loads if l["first_error"]), None),
    }


# --- rows -------------------------------------------------------------------------------------

def fmt(value, spec):
    return "-" if value is None else spec.format(value)


def check(target, tg, base, ratio):
    """target: (kind, bound): ratio >= / ratio <= / absolute tunnelgate value <=."""
    if target is None:
        return ""
    kind, bound = target
    value = {"ratio>=": ratio, "ratio<=": ratio, "abs<=": tg}[kind]
    if value is None:
        return "-"
    ok = value >= bound if kind == "ratio>=" else value <= bound
    return "met" if ok else "MISSED"


TARGET_TEXT = {"ratio>=": "ratio >= {}", "ratio<=": "ratio <= {}", "abs<=": "<= {}"}


def row(scenario, metric, tg, base, spec, target=None, unit="", note=""):
    ratio = tg / base if tg is not None and base else None
    target_text = ""
    if target is not None:
        target_text = TARGET_TEXT[target[0]].format(target[1]) + (unit if target[0] == "abs<=" else "")
    return {
        "scenario": scenario, "metric": metric,
        "tunnelgate": fmt(tg, spec), "baseline": fmt(base, spec),
        "tunnelgate_value": tg, "baseline_value": base,
        "ratio": ratio, "target": target_text, "met": check(target, tg, base, ratio), "note": note,
    }


def stack_rows(records, scenario, variant, metrics):
    """metrics: [(label, key, spec, target)] compared between the stacks for one variant."""
    tg = aggregate(runs_of(records, scenario, variant, "tunnelgate"))
    base = aggregate(runs_of(records, scenario, variant, "baseline"))
    rows = []
    for label, key, spec, target, unit in metrics:
        rows.append(row(scenario, label, tg and tg[key], base and base[key], spec, target, unit))
    return rows, tg, base


def scenario_rows(n, records, meta):
    variants = sorted({r["variant"] for r in records if r.get("scenario") == n},
                      key=lambda v: (len(v), v))
    rows, details = [], []
    if n == "1":
        for v in variants:
            r, tg, base = stack_rows(records, n, v, [
                (f"requests/s, {v}", "requests_per_s", "{:.0f}", ("ratio>=", 3), ""),
                (f"p50 ms, {v}", "p50_ms", "{:.3f}", None, ""),
                (f"p99 ms, {v}", "p99_ms", "{:.3f}", ("ratio<=", 0.2), ""),
                (f"relay CPU us/request, {v}", "relay_cpu_us_per_request", "{:.1f}",
                 ("ratio<=", 0.2), ""),
                (f"  of it in the kernel, {v}", "relay_system_cpu_us_per_request", "{:.1f}",
                 None, ""),
                (f"tunnelgate-load CPU us/request, {v}", "tool_cpu_us_per_request", "{:.1f}",
                 None, ""),
                # Near 100 on both stacks: the cores were the limit, and the requests/s ratio
                # is that of the CPU per request of relay and tool together.
                (f"machine busy % over the window, {v}", "machine_busy_pct", "{:.0f}", None, ""),
                (f"requests/s the CPU allows (cores / relay+tool CPU), {v}",
                 "cpu_bound_requests_per_s", "{:.0f}", None, ""),
            ])
            rows += r
            details.append((v, tg, base))
    elif n == "2":
        for v in variants:
            r, tg, base = stack_rows(records, n, v, [
                (f"handshakes/s, {v}", "handshakes_per_s", "{:.0f}", ("ratio>=", 1), ""),
                (f"p99 ms (connect+TLS+request), {v}", "p99_ms", "{:.2f}", None, ""),
                (f"relay CPU us/handshake, {v}", "relay_cpu_us_per_request", "{:.0f}", None, ""),
            ])
            rows += r
            details.append((v, tg, base))
    elif n == "3":
        for v in variants:
            r, tg, base = stack_rows(records, n, v, [
                (f"MB/s, one {v} stream", "mb_per_s", "{:.0f}", ("ratio>=", 2), ""),
                (f"relay CPU s/GiB, {v}", "relay_cpu_s_per_gib", "{:.2f}", None, ""),
                (f"tunnelgate-load CPU s/GiB, {v}", "tool_cpu_s_per_gib", "{:.2f}", None, ""),
                (f"machine busy % over the window, {v}", "machine_busy_pct", "{:.0f}", None, ""),
                (f"MB/s the CPU allows (cores / relay+tool CPU), {v}", "cpu_bound_mb_per_s",
                 "{:.0f}", None, ""),
            ])
            rows += r
            details.append((v, tg, base))
    elif n == "4":
        for v in variants:
            r, tg, base = stack_rows(records, n, v, [
                (f"SSE added latency p50 ms, {v}", "sse_p50_ms", "{:.3f}", None, ""),
                # The target applies to independent streams (spread phases); the "together"
                # variant is the synchronized burst, shown beside it (s4_sse.sh).
                (f"SSE added latency p99 ms, {v}", "sse_p99_ms", "{:.3f}",
                 None if v.endswith("together") else ("abs<=", 1), " ms"),
                (f"SSE events/s, {v}", "sse_events_per_s", "{:.0f}", None, ""),
                (f"relay CPU (cores busy), {v}", "relay_cores", "{:.2f}", None, ""),
            ])
            rows += r
            details.append((v, tg, base))
    elif n == "6":
        # Both variants run on tunnelgate: "rules" (RULES rules + MCP) in the tunnelgate
        # column, "open" (one allow-all rule) in the baseline column.
        open_ = aggregate(runs_of(records, n, "open", "tunnelgate"))
        rules = aggregate(runs_of(records, n, "rules", "tunnelgate"))
        label = meta.get("rules_label", "1,000 rules")
        note = (f"6: tunnelgate column = {label}; baseline column = tunnelgate with an open "
                "policy (one allow-all rule), same run")
        for key, name, spec in [("requests_per_s", "requests/s", "{:.0f}"),
                                ("p99_ms", "p99 ms", "{:.3f}"),
                                ("relay_cpu_us_per_request", "relay CPU us/request", "{:.1f}")]:
            a, b = rules and rules[key], open_ and open_[key]
            rows.append(row(n, f"{name}, rules vs open policy", a, b, spec, note=note))
        a, b = rules and rules["requests_per_s"], open_ and open_["requests_per_s"]
        cost = (1 - a / b) * 100 if a is not None and b else None
        r = row(n, "throughput cost of the rules, %", cost, None, "{:.1f}", ("abs<=", 10), " %",
                note=note)
        r["baseline"] = ""
        rows.append(r)
        details += [("open", open_, None), ("rules", rules, None)]
    elif n == "5":
        scale = [r for r in records if r.get("kind") == "scale"]
        by = {(r["what"], r["stack"]): r for r in scale}

        def per(what, stack, field="per_item_kib"):
            r = by.get((what, stack))
            return r and r[field]

        t = by.get(("tunnels", "tunnelgate"), {})
        b = by.get(("tunnels", "baseline"), {})
        rows.append(row(n, f"PSS KiB per tunnel (tunnelgate {t.get('count', '-')}, "
                           f"sshd {b.get('count', '-')} sessions)",
                        per("tunnels", "tunnelgate"), per("tunnels", "baseline"), "{:.1f}",
                        ("abs<=", 32), " KiB"))
        c = by.get(("idle", "tunnelgate"), {})
        d = by.get(("idle", "baseline"), {})
        rows.append(row(n, f"PSS KiB per idle visitor connection (tunnelgate "
                           f"{c.get('count', '-')}, nginx {d.get('count', '-')})",
                        per("idle", "tunnelgate"), per("idle", "baseline"), "{:.1f}",
                        ("abs<=", 16), " KiB"))
        rows.append(row(n, "time to URL p50 ms (auth -> forward granted)",
                        per("tunnels", "tunnelgate", "time_to_url_p50_ms"),
                        per("tunnels", "baseline", "time_to_url_p50_ms"), "{:.2f}"))
        rows.append(row(n, "time to URL p99 ms (auth -> forward granted)",
                        per("tunnels", "tunnelgate", "time_to_url_p99_ms"),
                        per("tunnels", "baseline", "time_to_url_p99_ms"), "{:.2f}",
                        ("abs<=", 20), " ms"))
        rows.append(row(n, "SSH connect -> forward granted p99 ms",
                        per("tunnels", "tunnelgate", "setup_p99_ms"),
                        per("tunnels", "baseline", "setup_p99_ms"), "{:.2f}"))
        total = None
        if t.get("per_item_kib") is not None and c.get("per_item_kib") is not None:
            total = (t["per_item_kib"] * 10_000 + c["per_item_kib"] * 50_000) / 1024 / 1024
        r = row(n, "projected GiB for 10,000 tunnels + 50,000 idle connections", total, None,
                "{:.2f}", ("abs<=", 1.5), " GiB",
                note="5: projected = PSS per tunnel x 10,000 + PSS per idle connection x 50,000"
                + (f"; {meta['note']}" if meta.get("note") else ""))
        r["baseline"] = ""
        rows.append(r)
    return rows, details


def print_rows(rows, out=sys.stdout):
    if not rows:
        return
    notes = list(dict.fromkeys(r["note"] for r in rows if r.get("note")))
    headers = ["scenario", "metric", "tunnelgate", "baseline", "ratio", "target", ""]
    table = [[r["scenario"], r["metric"], r["tunnelgate"], r["baseline"],
              "-" if r["ratio"] is None else f"{r['ratio']:.2f}", r["target"], r["met"]]
             for r in rows]
    widths = [max(len(x[i]) for x in [headers, *table]) for i in range(len(headers))]

    def line(cells):
        return "  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i])
                         for i, c in enumerate(cells)).rstrip()

    print(line(headers), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for cells in table:
        print(line(cells), file=out)
    for note in notes:
        print(f"note {note}", file=out)


def main(argv):
    if not argv:
        sys.exit(__doc__)
    command = argv[0]
    if command == "brief":
        brief(argv[1])
    elif command == "scenario":
        n, results, rows_path = argv[1], argv[2], argv[3]
        meta = dict(a.split("=", 1) for a in argv[4:])
        records = load_records(results)
        rows, details = scenario_rows(n, records, meta)
        failed = failures(records, n)
        if failed and rows:
            rows[0]["note"] = "; ".join(x for x in (rows[0]["note"], f"{n}: {failed}") if x)
        print_rows(rows)
        for variant, tg, base in details:
            for stack, agg in (("tunnelgate", tg), ("baseline", base)):
                if agg and agg["errors"]:
                    print(f"  {stack} {variant}: {agg['errors']} errors, first: {agg['first_error']}")
        with open(rows_path, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    elif command == "summary":
        rows = load_records(argv[1])
        if "--json" in argv:
            print(json.dumps(rows, indent=2))
        else:
            print_rows(rows)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
