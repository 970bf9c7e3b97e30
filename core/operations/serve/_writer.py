"""Writes the endpoint's statistics to the lake from a background thread, never from a request: each
model version's window becomes one `serve` job (what monitoring reads). A failed write (a busy catalog,
a lost connection) gives the windows back and is tried again, backing off; stopping writes what is left."""
from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from typing import Callable

from core.lake import Lake
from core.operations.serve._stats import Stats, Window

MAX_BACKOFF = 30.0


def write_windows(lake: Lake, windows: dict[str, Window], *, usecase_of: Callable[[str], str], actor: str) -> None:
    """One transaction: a jobs row per model version served."""
    rows = []
    for ref, window in windows.items():
        name, _, version = ref.partition("@")
        record = window.record()
        job_id = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:10]}"
        rows.append([job_id, usecase_of(ref), name, int(version), window.requests, window.ok,
                     window.requests - window.ok, json.dumps(record, allow_nan=False), record["latency_ms_p95"], actor])

    def work(cur) -> None:
        for row in rows:
            cur.execute("INSERT INTO lake.assay.jobs VALUES (?, ?, ?, ?, 'endpoint', NULL, 'endpoint', 'succeeded', ?, ?, "
                        "?, ?, ?, NULL, NULL, ?, now())", row)

    served = ", ".join(f"{ref}: {w.requests} requests" for ref, w in windows.items())
    lake.write(work, actor=actor, action="serve", message=f"serve {served}", tag=f"job:{rows[0][0]}",
               details={"jobs": [r[0] for r in rows]})


class Writer:
    """Every `every` seconds, the windows not yet written go to the lake; failures back off and retry."""

    def __init__(self, lake: Lake, stats: Stats, *, usecase_of: Callable[[str], str], actor: str, every: float):
        self.lake, self.stats, self.usecase_of, self.actor, self.every = lake, stats, usecase_of, actor, every
        self.stop_event = threading.Event()
        self.busy = threading.Lock()  # one write at a time: the loop's, or the last one at stop
        self.thread = threading.Thread(target=self._loop, name="serve-statistics", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def flush(self) -> bool:
        """Write what is pending now; False (and the windows kept) when the write failed."""
        with self.busy:
            windows = self.stats.take()
            if not windows:
                return True
            try:
                write_windows(self.lake, windows, usecase_of=self.usecase_of, actor=self.actor)
            except Exception as error:  # noqa: BLE001 - any failure keeps the statistics for the next try
                self.stats.give_back(windows, error)
                print(f"serve: statistics not written yet ({type(error).__name__}: {str(error)[:200]}); will retry",
                      file=sys.stderr)
                return False
            self.stats.wrote(windows)
            return True

    def _loop(self) -> None:
        wait = self.every
        while not self.stop_event.wait(wait):
            wait = self.every if self.flush() else min(max(wait * 2, 1.0), MAX_BACKOFF)

    def stop(self, *, deadline_seconds: float) -> bool:
        """Stop the loop, then write what is left, trying until the deadline; True when nothing is left."""
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join()
        end, delay = time.monotonic() + deadline_seconds, 0.5
        while True:
            if self.flush():
                return True
            if time.monotonic() + delay > end:
                return False
            time.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)
