"""Compute: how many threads a job may use, and spreading row chunks over a dask.distributed cluster.

`threads()` is the one setting (ASSAY_THREADS, default: the CPUs this process may use); `limit()`
applies it to every OpenMP and BLAS pool (threadpoolctl) around LightGBM, scikit-learn and numpy
calls, and LightGBM is given the same number as `n_jobs`/`num_threads`, so jobs running at once
share the cores instead of thrashing. `map_row_chunks` runs a function over fixed row chunks, in
this process or on a cluster (`--scheduler ADDR` or ASSAY_DASK_SCHEDULER), with equal results.
"""
from core.compute._dask import CHUNK_ROWS, map_row_chunks, scheduler_address
from core.compute._threads import lightgbm_kwargs, limit, threads

__all__ = ["CHUNK_ROWS", "limit", "lightgbm_kwargs", "map_row_chunks", "scheduler_address", "threads"]
