"""Row chunks in this process or over dask.distributed, with the same chunks (and so the same seeded
results) either way. The scheduler is `--scheduler ADDR` or ASSAY_DASK_SCHEDULER; without one,
everything runs here. Workers must have Assay importable (the same code and packages)."""
from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

import pandas as pd

from core.compute._threads import SETTING, limit
from core.progress import Progress, report

SCHEDULER_SETTING = "ASSAY_DASK_SCHEDULER"
CHUNK_ROWS = 2_000  # rows per task: small enough to spread, large enough that a task outweighs its overhead


def scheduler_address(given: Optional[str] = None) -> Optional[str]:
    """The cluster to use: the address given, else ASSAY_DASK_SCHEDULER, else None (run here)."""
    address = (given or os.environ.get(SCHEDULER_SETTING, "")).strip()
    return address or None


def map_row_chunks(fn: Callable[..., Any], frame: pd.DataFrame, *, args: Sequence[Any] = (),
                   chunk_rows: int = CHUNK_ROWS, scheduler: Optional[str] = None,
                   progress: Optional[Progress] = None, label: str = "rows") -> list:
    """`fn(chunk, start, *args)` for each run of `chunk_rows` rows of `frame` (start: the chunk's first
    position), in order. With a scheduler the chunks run as tasks on its workers (args are sent once
    to every worker); fn must then be a module-level function. Seed from `start`, never from the
    worker or the order of completion, so a cluster gives what this process gives."""
    starts = list(range(0, len(frame), max(1, int(chunk_rows)))) or [0]
    address = scheduler_address(scheduler)
    if address is None:
        out = []
        with limit():
            for start in starts:
                out.append(fn(frame.iloc[start:start + chunk_rows], start, *args))
                report(progress, min(len(frame), start + chunk_rows) / max(len(frame), 1),
                       f"{min(len(frame), start + chunk_rows):,} of {len(frame):,} {label}")
        return out
    return _on_cluster(fn, frame, starts, args, chunk_rows, address, progress, label)


CONNECT_TIMEOUT = "10s"  # how long a scheduler that does not answer is waited for before the user is told


def _on_cluster(fn, frame: pd.DataFrame, starts: list[int], args: Sequence[Any], chunk_rows: int, address: str,
                progress: Optional[Progress], label: str) -> list:
    from dask.distributed import Client

    from core.errors import InputError

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"Cannot reach the Dask scheduler at {address!r} ({exc}). Start one (`dask scheduler`, "
                         f"then `dask worker {address}`) or leave --scheduler and {SCHEDULER_SETTING} unset to "
                         "run here.") from None
    try:
        shipped = client.scatter(list(args), broadcast=True) if args else []
        futures = [client.submit(_task, fn, frame.iloc[start:start + chunk_rows], start, *shipped, pure=False)
                   for start in starts]
        out = []
        for done, future in enumerate(futures, start=1):  # in order: the results are kept in chunk order anyway
            out.append(future.result())
            report(progress, done / len(futures), f"{done} of {len(futures)} chunks of {label} done on the cluster")
        return out
    finally:
        client.close()


def _task(fn, chunk: pd.DataFrame, start: int, *args):
    """On a worker: one thread per task unless the worker sets ASSAY_THREADS (Dask runs one task per
    worker thread, so more would oversubscribe its cores)."""
    count = int(os.environ.get(SETTING) or 1)
    with limit(count):
        return fn(chunk, start, *args)
