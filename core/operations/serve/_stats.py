"""The endpoint's statistics, kept in memory: totals since start (what /metrics shows) and, per model
version, the window not yet written to the lake (what the background writer takes, and gives back when
the write fails, so nothing is lost while the catalog is busy)."""
from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # seconds (Prometheus)
SAMPLE = 10_000  # latencies kept per window for its percentiles (a uniform sample beyond: memory stays flat)
MAX_VALUES = 50  # distinct values of a categorical input counted per window; the rest count as "(other)"


@dataclass
class Window:
    """What one model version served since the last write to the lake."""
    started: float = field(default_factory=time.time)
    requests: int = 0
    ok: int = 0
    rows: int = 0
    errors: Counter = field(default_factory=Counter)
    latencies: list = field(default_factory=list)
    seen: int = 0  # latencies offered to the sample
    decisions: Counter = field(default_factory=Counter)
    inputs: dict = field(default_factory=dict)

    def add_latency(self, seconds: float) -> None:
        self.seen += 1
        if len(self.latencies) < SAMPLE:
            self.latencies.append(seconds)
        else:  # reservoir sampling
            slot = random.randrange(self.seen)
            if slot < SAMPLE:
                self.latencies[slot] = seconds

    def merge(self, newer: "Window") -> "Window":
        """This (unwritten) window followed by a newer one, as one."""
        self.requests += newer.requests
        self.ok += newer.ok
        self.rows += newer.rows
        self.errors.update(newer.errors)
        self.decisions.update(newer.decisions)
        for seconds in newer.latencies:
            self.add_latency(seconds)
        for name, summary in newer.inputs.items():
            mine = self.inputs.setdefault(name, _empty(summary["kind"]))
            _merge_summary(mine, summary)
        return self

    def record(self) -> dict:
        """The window as the `serve` job's details (its reasons column)."""
        values = np.asarray(self.latencies) * 1000
        pct = {f"latency_ms_p{q}": (float(np.percentile(values, q)) if len(values) else None) for q in (50, 95, 99)}
        return {**pct, "rows_scored": self.rows, "errors": dict(self.errors), "decisions": dict(self.decisions),
                "inputs": {name: _describe(s) for name, s in self.inputs.items()},
                "from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
                "to": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _empty(kind: str) -> dict:
    if kind == "numeric":
        return {"kind": kind, "count": 0, "missing": 0, "sum": 0.0, "sum_sq": 0.0, "min": None, "max": None}
    return {"kind": kind, "missing": 0, "values": Counter()}


def _merge_summary(into: dict, other: dict) -> None:
    into["missing"] += other["missing"]
    if into["kind"] == "numeric":
        into["count"] += other["count"]
        into["sum"] += other["sum"]
        into["sum_sq"] += other["sum_sq"]
        for key, pick in (("min", min), ("max", max)):
            if other[key] is not None:
                into[key] = other[key] if into[key] is None else pick(into[key], other[key])
        return
    for value, n in other["values"].items():
        key = value if value in into["values"] or len(into["values"]) < MAX_VALUES else "(other)"
        into["values"][key] += n


def _describe(s: dict) -> dict:
    if s["kind"] != "numeric":
        return {"missing": s["missing"], "values": dict(s["values"].most_common())}
    n = s["count"]
    mean = s["sum"] / n if n else None
    std = float(np.sqrt(max(s["sum_sq"] / n - mean * mean, 0.0))) if n else None
    return {"count": n, "missing": s["missing"], "mean": mean, "std": std, "min": s["min"], "max": s["max"]}


def summarize(numeric: dict, categorical: dict) -> dict:
    """Summaries of one answered batch's inputs: numeric {name: float array}, categorical {name: object array}."""
    out = {}
    for name, values in numeric.items():
        present = values[~np.isnan(values)]
        out[name] = {"kind": "numeric", "count": int(len(present)), "missing": int(len(values) - len(present)),
                     "sum": float(present.sum()), "sum_sq": float((present * present).sum()),
                     "min": float(present.min()) if len(present) else None,
                     "max": float(present.max()) if len(present) else None}
    for name, values in categorical.items():
        summary = _empty("categorical")
        for value in values:
            if value is None:
                summary["missing"] += 1
            else:
                summary["values"][str(value)[:100]] += 1
        out[name] = summary
    return out


class Stats:
    """Thread-safe: the event loop records requests, worker threads record predictions, the writer takes windows."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = time.time()
        self.requests = self.rows = self.predict_calls = self.batched = 0
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.decisions: Counter = Counter()
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.recent: deque = deque(maxlen=10_000)
        self.windows: dict[str, Window] = {}
        self.writing: dict[str, Window] = {}  # taken by a write that has not finished
        self.written = {"jobs": 0, "requests": 0, "failures": 0, "last_error": None}

    def _window(self, ref: str) -> Window:
        return self.windows.setdefault(ref, Window())

    def request(self, ref: str, status: int, seconds: float, kind: str | None = None) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            self.recent.append(seconds)
            self.latency_sum += seconds
            self.buckets[next((i for i, b in enumerate(BUCKETS) if seconds <= b), len(BUCKETS))] += 1
            window = self._window(ref)
            window.requests += 1
            window.add_latency(seconds)
            if status == 200:
                window.ok += 1
            else:
                self.errors[kind or str(status)] += 1
                window.errors[kind or str(status)] += 1

    def refused(self, status: int, kind: str) -> None:
        """A refused request to another path than /predict (a foreign Host, a missing token, ...)."""
        with self.lock:
            self.statuses[status] += 1
            self.errors[kind] += 1

    def batch(self, requests: int) -> None:
        with self.lock:
            self.predict_calls += 1
            self.batched += requests

    def predicted(self, ref: str, rows: int, decisions: Counter, inputs: dict) -> None:
        with self.lock:
            self.rows += rows
            self.decisions.update(decisions)
            window = self._window(ref)
            window.rows += rows
            window.decisions.update(decisions)
            for name, summary in inputs.items():
                _merge_summary(window.inputs.setdefault(name, _empty(summary["kind"])), summary)

    def take(self) -> dict[str, Window]:
        with self.lock:
            taken, self.windows = {r: w for r, w in self.windows.items() if w.requests}, {}
            self.writing = taken
            return taken

    def give_back(self, windows: dict[str, Window], error: BaseException) -> None:
        """A failed write: the windows return, older first, to be written with what came since."""
        with self.lock:
            self.writing = {}
            for ref, old in windows.items():
                self.windows[ref] = old.merge(self.windows[ref]) if ref in self.windows else old
            self.written["failures"] += 1
            self.written["last_error"] = str(error).splitlines()[0][:300] if str(error) else type(error).__name__

    def wrote(self, windows: dict[str, Window]) -> None:
        with self.lock:
            self.writing = {}
            self.written["jobs"] += len(windows)
            self.written["requests"] += sum(w.requests for w in windows.values())
            self.written["last_error"] = None

    def pending(self) -> int:
        """Requests whose statistics are not in the lake yet (waiting, or in a write that has not finished)."""
        with self.lock:
            return self._pending()

    def _pending(self) -> int:
        return sum(w.requests for w in [*self.windows.values(), *self.writing.values()])

    def snapshot(self) -> dict:
        with self.lock:
            values = np.asarray(self.recent) * 1000
            pct = {f"latency_ms_p{q}": (float(np.percentile(values, q)) if len(values) else None) for q in (50, 95, 99)}
            return {"requests": self.requests, "errors": sum(self.errors.values()), **pct, "rows": self.rows,
                    "predict_calls": self.predict_calls, "batched_requests": self.batched,
                    "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                    "errors_by_kind": dict(self.errors), "decisions": dict(self.decisions),
                    "latency_buckets": list(self.buckets), "latency_seconds_sum": self.latency_sum,
                    "statistics": {**self.written, "pending_requests": self._pending()}}
