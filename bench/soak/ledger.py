"""The soak's bookkeeping: every visitor operation's outcome, and every injected fault's window.

A failed operation is *explained* when its tunnel's publisher was deliberately dropped while it
ran: its [start, end] overlaps a drop window of that tunnel, [drop, back up + grace]. Nothing
else explains a failure: not a reload (reloads must be seamless), not the SSH flood (it must
not disturb visitors), not a failure on a tunnel that was never dropped. Those are
*unexplained*, and there must be none.
"""
import math
import time


def now():
    return time.monotonic()


class Window:
    """One tunnel's publisher down on purpose: from `start` until it is published again."""

    def __init__(self, names, kind, start):
        self.names = set(names)
        self.kind = kind
        self.start = start
        self.end = math.inf  # until close()

    def close(self, at=None):
        self.end = now() if at is None else at


class Outcome:
    __slots__ = ("kind", "tunnel", "start", "end", "ok", "detail", "explained_by")

    def __init__(self, kind, tunnel, start, end, ok, detail):
        self.kind, self.tunnel, self.start, self.end = kind, tunnel, start, end
        self.ok, self.detail, self.explained_by = ok, detail, None


class Ledger:
    def __init__(self, grace_s):
        self.grace_s = grace_s
        self.t0 = now()
        self.outcomes = []
        self.windows = []
        self.reloads = []  # (time, how, ok, detail)
        self.counters = {}  # free-form totals: sse events, ws messages, bytes moved …

    def add(self, name, amount=1):
        self.counters[name] = self.counters.get(name, 0) + amount

    def record(self, kind, tunnel, start, ok, detail=""):
        self.outcomes.append(Outcome(kind, tunnel, start, now(), ok, detail))

    def drop(self, names, kind):
        window = Window(names, kind, now())
        self.windows.append(window)
        return window

    def explain(self, outcome):
        """The drop window that explains a failed outcome, or None."""
        for w in self.windows:
            if outcome.tunnel in w.names and outcome.start <= w.end + self.grace_s and \
                    outcome.end >= w.start:
                return w
        return None

    def classify(self, outcomes):
        """(ok, explained failures, unexplained failures) among the given outcomes."""
        ok, explained, unexplained = [], [], []
        for o in outcomes:
            if o.ok:
                ok.append(o)
                continue
            o.explained_by = self.explain(o)
            (explained if o.explained_by else unexplained).append(o)
        return ok, explained, unexplained

    def elapsed(self, t):
        return t - self.t0
