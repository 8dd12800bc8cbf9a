"""The soak's injected faults, each written down so that failures can be attributed.

- Publisher drops: a few stock `ssh -R` publishers are, in turn, killed (the TCP connection
  ends), ended cleanly (SIGTERM), or frozen (SIGSTOP: a hung client, the relay sees nothing)
  and replaced by a new connection that takes the name over; each comes back after a few
  seconds. A batch of the load tool's tunnels is killed and republished every few minutes.
  Each drop is a ledger window [drop, published again] over the names it took down.
- Reloads: every `reload_every` seconds a freshly issued certificate is put in place and the
  relay reloads, by SIGHUP and by the admin API in turn. Reloads explain no failure.
- SSH pre-authentication flood: for part of the run, `flood` TCP connections to the SSH port
  from 127.0.0.2 and up, idle (half of them after sending an SSH banner), each reopened when
  the relay closes it. It explains no failure either.
"""
import asyncio
import os
import random
import signal
import subprocess

import stack
from ledger import now


class SshPublisher:
    """One stock OpenSSH client publishing `name`, restarted until it is published again."""

    def __init__(self, procs, work, ports, name):
        self.procs, self.work, self.ports, self.name = procs, work, ports, name
        self.proc = None
        self.attempt = 0

    async def publish(self, stop):
        """Starts a client and waits for its URL; retries (a flood may refuse a few) until up."""
        while not stop():
            self.attempt += 1
            log = f"ssh-{self.name}.{self.attempt}.log"
            # stdin stays open (a pipe nobody writes): the session lives until the client ends.
            proc = self.procs.start(stack.ssh_publisher_argv(self.work, self.ports, self.name),
                                    log, stdin=subprocess.PIPE)
            if await stack.wait_for(os.path.join(self.work, log), f"https://{self.name}.", 30, proc):
                self.proc = proc
                return True
            proc.kill()
            await asyncio.sleep(1)
        return False


class Faults:
    def __init__(self, args, ledger, procs, work, ports, relay, load_bin):
        self.args, self.ledger, self.procs = args, ledger, procs
        self.work, self.ports, self.relay, self.load_bin = work, ports, relay, load_bin
        self.stopping = False
        self.ssh = [SshPublisher(procs, work, ports, f"flap-{i}") for i in range(args.ssh_publishers)]
        self.batch_proc = None
        self.batch_runs = 0
        self.flood_held = 0
        self.flood_stats = {"opened": 0, "closed_by_relay": 0, "connect_failed": 0}

    def stop(self):
        return self.stopping

    def batch_names(self):
        return [f"flapb-{i}" for i in range(self.args.batch)]

    def flapping_names(self):
        return [p.name for p in self.ssh] + self.batch_names()

    async def start_publishers(self):
        ups = await asyncio.gather(*(p.publish(self.stop) for p in self.ssh))
        if not all(ups):
            raise RuntimeError("an ssh publisher never came up")
        if self.args.batch and not await self.start_batch():
            raise RuntimeError("the batch publisher never came up")

    async def start_batch(self):
        """Publishes the batch; retries (a flood may refuse some sessions) until it is up."""
        while not self.stopping:
            self.batch_runs += 1
            log = f"load-batch.{self.batch_runs}.log"
            argv = stack.load_publisher_argv(self.load_bin, self.work, self.ports,
                                             self.args.batch, "flapb")
            self.batch_proc = self.procs.start(argv, log)
            if await stack.wait_for(os.path.join(self.work, log), "published", 120,
                                    self.batch_proc):
                return True
            self.batch_proc.kill()
            await asyncio.sleep(1)
        return False

    # -- publisher drops ---------------------------------------------------------------------

    async def ssh_flap_loop(self, publisher, index):
        kinds = ["kill", "takeover", "term"]
        turn = index
        # Spread the publishers' first drops over the first cycle.
        await self.sleep(self.args.drop_every * (index + 1) / (len(self.ssh) + 1))
        while not self.stopping:
            kind = kinds[turn % len(kinds)]
            turn += 1
            window = self.ledger.drop([publisher.name], f"ssh {kind}")
            old = publisher.proc
            if kind == "takeover":
                old.send_signal(signal.SIGSTOP)  # hung: its TCP connection stays open
                await asyncio.sleep(random.uniform(2, 5))
            else:
                old.send_signal(signal.SIGKILL if kind == "kill" else signal.SIGTERM)
                await asyncio.get_running_loop().run_in_executor(None, old.wait)
                await asyncio.sleep(random.uniform(2, 5))
            up = await publisher.publish(self.stop)
            if kind == "takeover":
                old.kill()
                os.kill(old.pid, signal.SIGCONT)
            window.close()
            if not up:
                return
            await self.sleep(random.uniform(0.7, 1.3) * self.args.drop_every)

    async def batch_flap_loop(self):
        await self.sleep(min(self.args.batch_every, self.args.minutes * 60 / 3))
        while not self.stopping:
            window = self.ledger.drop(self.batch_names(), "load tool killed")
            self.batch_proc.kill()
            await asyncio.get_running_loop().run_in_executor(None, self.batch_proc.wait)
            await asyncio.sleep(3)
            up = await self.start_batch()
            window.close()
            if not up:
                return
            await self.sleep(self.args.batch_every)

    # -- reloads -----------------------------------------------------------------------------

    async def reload_loop(self):
        serial = 0
        while True:
            await self.sleep(self.args.reload_every)
            if self.stopping:
                return
            serial += 1
            how = "SIGHUP" if serial % 2 else "admin"
            at = now()
            try:
                await stack.issue_certificate(self.work, serial)
                if how == "SIGHUP":
                    self.relay.send_signal(signal.SIGHUP)
                    ok, detail = True, "sent"
                else:
                    status, body = await admin_request(self.ports["admin"], "POST", "/v1/reload")
                    ok, detail = status == 200, f"{status} {body[:200]!r}"
            except (OSError, RuntimeError) as e:
                ok, detail = False, str(e)
            self.ledger.reloads.append((at, how, ok, detail))

    # -- SSH pre-authentication flood ----------------------------------------------------------

    async def flood(self, start_s, end_s):
        await self.sleep(start_s - self.ledger.elapsed(now()))
        if self.stopping or self.args.flood == 0:
            return
        until = self.ledger.t0 + end_s
        tasks = [asyncio.ensure_future(self.flood_connection(i, until))
                 for i in range(self.args.flood)]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def flood_connection(self, i, until):
        source = f"127.0.0.{2 + i % self.args.flood_sources}"
        while not self.stopping and now() < until:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", self.ports["ssh"], local_addr=(source, 0)), 10)
            except (OSError, asyncio.TimeoutError):
                self.flood_stats["connect_failed"] += 1
                await asyncio.sleep(1)
                continue
            self.flood_stats["opened"] += 1
            self.flood_held += 1
            try:
                if i % 2:
                    writer.write(b"SSH-2.0-soak_flood\r\n")
                # Read (and drop) whatever the relay sends, until it closes or the flood ends.
                while now() < until and not self.stopping:
                    try:
                        data = await asyncio.wait_for(reader.read(4096), 1)
                    except asyncio.TimeoutError:
                        continue
                    if not data:
                        self.flood_stats["closed_by_relay"] += 1
                        break
            except OSError:
                self.flood_stats["closed_by_relay"] += 1
            finally:
                self.flood_held -= 1
                writer.transport.abort()
            await asyncio.sleep(0.5)

    # -- all of it ---------------------------------------------------------------------------

    async def sleep(self, seconds):
        end = now() + max(0, seconds)
        while not self.stopping and now() < end:
            await asyncio.sleep(min(1, end - now()))

    def tasks(self):
        total = self.args.minutes * 60
        coros = [self.ssh_flap_loop(p, i) for i, p in enumerate(self.ssh)]
        if self.args.batch:
            coros.append(self.batch_flap_loop())
        if self.args.reload_every > 0:
            coros.append(self.reload_loop())
        coros.append(self.flood(total * self.args.flood_from, total * self.args.flood_to))
        return [asyncio.ensure_future(c) for c in coros]


async def admin_request(port, method, path):
    """(status, body) of one request to the relay's admin API."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(-1), 30)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body.decode(errors="replace")
