#!/usr/bin/env python3
"""The soak benchmark's orchestrator (run it through bench/soak/run.sh).

Starts a relay (two workers, default limits), the backend, 1,000 tunnels (the load tool's
in-process publisher for most, a batch the load tool kills and republishes, and a few stock
`ssh -R` clients that drop and come back), then drives mixed visitor traffic through them for
--minutes while reloading every 30 s and, for part of the run, flooding the SSH port with
pre-authentication connections. Prints a row of figures per minute and a summary; exits 1
when any failed request is not explained by a publisher drop (or the relay died).
"""
import argparse
import asyncio
import os
import shlex
import shutil
import signal
import sys
import tempfile
import traceback

import stack
from faults import Faults
from ledger import Ledger, now
from report import Report
from traffic import Visitors

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/soak/run.sh", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--minutes", type=float, default=30, help="length of the run")
    p.add_argument("--tunnels", type=int, default=1000, help="tunnels in all")
    p.add_argument("--ssh-publishers", type=int, default=4,
                   help="of them, stock ssh -R clients that are dropped in turn")
    p.add_argument("--batch", type=int, default=50,
                   help="of them, the load tool's tunnels killed and republished together")
    p.add_argument("--drop-every", type=float, default=60,
                   help="seconds each ssh publisher stays up between drops (jittered)")
    p.add_argument("--batch-every", type=float, default=300, help="seconds between batch drops")
    p.add_argument("--grace", type=float, default=2,
                   help="seconds after a dropped tunnel is back that its failures are explained")
    p.add_argument("--flap-share", type=float, default=0.1,
                   help="share of visitor operations aimed at the dropped tunnels")
    p.add_argument("--keepalive", type=int, default=16, help="keep-alive request loops")
    p.add_argument("--request-rate", type=float, default=5,
                   help="requests/s of each keep-alive loop")
    p.add_argument("--requests-per-connection", type=int, default=50,
                   help="at most this many requests per keep-alive connection (1..N at random)")
    p.add_argument("--sse", type=int, default=40, help="concurrent SSE streams")
    p.add_argument("--sse-events", type=int, default=40,
                   help="events per stream, one a second (N/2..N at random)")
    p.add_argument("--websockets", type=int, default=20, help="concurrent WebSockets")
    p.add_argument("--ws-messages", type=int, default=40,
                   help="echoed messages per WebSocket, one a second (N/2..N at random)")
    p.add_argument("--transfer-mib", type=int, default=100, help="upload and download size")
    p.add_argument("--transfer-every", type=float, default=20,
                   help="seconds between uploads (and between downloads); 0: none")
    p.add_argument("--reload-every", type=float, default=30, help="seconds between reloads")
    p.add_argument("--flood", type=int, default=200,
                   help="SSH pre-authentication connections held during the flood (0: none)")
    p.add_argument("--flood-sources", type=int, default=8,
                   help="loopback addresses they come from (127.0.0.2 and up)")
    p.add_argument("--flood-from", type=float, default=1 / 3, help="flood start, share of the run")
    p.add_argument("--flood-to", type=float, default=1 / 2, help="flood end, share of the run")
    p.add_argument("--tg-bin", required=True, help=argparse.SUPPRESS)  # run.sh passes these
    p.add_argument("--load-bin", required=True, help=argparse.SUPPRESS)
    p.add_argument("--keep", action="store_true", help="keep the working directory (logs)")
    args = p.parse_args(argv)
    if args.tunnels <= args.ssh_publishers + args.batch:
        p.error("--tunnels must exceed --ssh-publishers + --batch")
    args.transfer_bytes = args.transfer_mib << 20
    args.domain = stack.DOMAIN
    return args


async def soak(args, work, procs, command):
    ports = dict(zip(("https", "ssh", "admin", "backend"), stack.free_ports(4)))
    stack.make_credentials(work)
    await stack.issue_certificate(work, 0)
    steady = args.tunnels - args.ssh_publishers - args.batch
    stack.write_relay_config(work, ports, args.tunnels)
    relay = await stack.start_relay(procs, args.tg_bin, work)
    procs.relay = relay
    await stack.start_backend(procs, HERE, ports["backend"])
    print(f"[soak] relay pid {relay.pid}: https 127.0.0.1:{ports['https']}, ssh "
          f"127.0.0.1:{ports['ssh']}, admin 127.0.0.1:{ports['admin']}; working in {work}",
          flush=True)

    t = now()
    load = procs.start(stack.load_publisher_argv(args.load_bin, work, ports, steady, "soak"),
                       "load-steady.log")
    await stack.wait_for(os.path.join(work, "load-steady.log"), "published", 600, load,
                   "tunnelgate-load")
    ledger = Ledger(args.grace)
    faults = Faults(args, ledger, procs, work, ports, relay, args.load_bin)
    await faults.start_publishers()
    print(f"[soak] {args.tunnels} tunnels up in {now() - t:.1f} s ({steady} steady, "
          f"{args.batch} in the batch that is dropped, {args.ssh_publishers} ssh -R); "
          f"running {args.minutes:g} min", flush=True)

    visitors = Visitors(args, ledger, ports["https"], os.path.join(work, "ca.pem"),
                        [f"soak-{i}" for i in range(steady)], faults.flapping_names())
    report = Report(ledger, relay, ports["admin"], faults, sys.stdout)
    ledger.t0 = now()
    await report.baseline()
    report.header()
    traffic = visitors.tasks()
    injectors = faults.tasks()
    total = args.minutes * 60
    minute = 0
    interrupted = False
    try:
        while ledger.elapsed(now()) < total:
            next_row = min((minute + 1) * 60, total)
            await asyncio.sleep(max(0, next_row - ledger.elapsed(now())))
            minute += 1
            await report.row(minute)
            if relay.poll() is not None:
                print(f"[soak] the relay exited ({relay.returncode})", flush=True)
                break
            if load.poll() is not None:
                print(f"[soak] the steady publisher exited ({load.returncode})", flush=True)
                break
    except asyncio.CancelledError:
        interrupted = True  # Ctrl-C: the figures so far, then clean up
    # Stop starting work; let what runs finish (streams end on their own, within a minute).
    visitors.stopping = faults.stopping = True
    for task in injectors:
        task.cancel()
    pending = traffic
    if not interrupted:
        _, pending = await asyncio.wait(traffic, timeout=90)
    for task in pending:
        task.cancel()
    await asyncio.gather(*injectors, *pending, return_exceptions=True)
    # What finished while winding down goes in one last row.
    if len(ledger.outcomes) > report.seen_outcomes:
        await report.row(f"{minute}+")
    unexplained = report.summary(command, len(pending), args.tunnels,
                                 os.path.join(work, "relay.log"))
    if interrupted:
        return 130
    return 1 if unexplained or relay.poll() is not None else 0


def main():
    args = parse_args(sys.argv[1:])
    command = os.environ.get("SOAK_COMMAND") or " ".join(map(shlex.quote, sys.argv))
    work = tempfile.mkdtemp(prefix="tg-soak.")
    procs = stack.Processes(work)
    procs.relay = None
    loop = asyncio.new_event_loop()
    main_task = loop.create_task(soak(args, work, procs, command))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main_task.cancel)
    rc = 1
    try:
        rc = loop.run_until_complete(main_task)
    except asyncio.CancelledError:
        print("[soak] interrupted", flush=True)
        rc = 130
    except Exception:  # a set-up failure: say what, then clean up
        traceback.print_exc()
    finally:
        procs.stop_all(procs.relay)
        loop.close()
        if args.keep:
            print(f"[soak] kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
