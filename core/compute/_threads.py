"""The thread setting and its application (threadpoolctl for OpenMP and BLAS pools; LightGBM's own count)."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

from core.errors import InputError

SETTING = "ASSAY_THREADS"
_local = threading.local()  # the innermost limit of the calling thread (each Streamlit session is a thread)


def available() -> int:
    """The CPUs this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads() -> int:
    """Threads one job may use: inside `limit(n)` that n; otherwise ASSAY_THREADS, or every CPU available."""
    active = getattr(_local, "limits", None)
    if active:
        return active[-1]
    raw = os.environ.get(SETTING, "").strip()
    if not raw:
        return available()
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{SETTING} must be a whole number of threads (1 or more), not {raw!r}.") from None
    if value < 1:
        raise InputError(f"{SETTING} must be 1 or more, not {value}.")
    return value


@contextmanager
def limit(n: Optional[int] = None) -> Iterator[int]:
    """Cap the OpenMP and BLAS thread pools at `n` (default: `threads()`) for the block, and make
    `threads()` answer `n` inside it (LightGBM takes its count from there). Yields n."""
    from threadpoolctl import threadpool_limits

    count = threads() if n is None else max(1, int(n))
    stack = getattr(_local, "limits", None)
    if stack is None:
        stack = _local.limits = []
    stack.append(count)
    try:
        with threadpool_limits(limits=count):
            yield count
    finally:
        stack.pop()


def lightgbm_kwargs(model) -> dict:
    """Keyword arguments that make a LightGBM model's predict use `threads()` (a stored model keeps the
    n_jobs it was trained with, which need not fit the cores of the job predicting now); {} otherwise."""
    return {"num_threads": threads()} if type(model).__name__.startswith("LGBM") else {}
