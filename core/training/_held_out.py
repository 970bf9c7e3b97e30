"""A run's held-out rows: the lake row ids of its input that the model never saw, recorded with the run.
The one module that writes and reads them; everything else asks for `held_out_filter` or `held_out_ids`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.lake import Lake
from core.lake.migrations import HELD_OUT_ROWS

_SELECT = f"SELECT row_id FROM {HELD_OUT_ROWS} WHERE run_id = ?"


def held_out_filter(run_id: str, *, held_out: bool = True) -> tuple[str, list]:
    """A WHERE condition over a dataset's rowid, with its parameters: the run's held-out rows, or
    (held_out=False) every other row of its input (the training rows)."""
    return f"rowid {'IN' if held_out else 'NOT IN'} ({_SELECT})", [run_id]


def held_out_ids(lake: Lake, run_id: str) -> np.ndarray:
    """The lake row ids of the run's held-out rows, ascending."""
    with lake.reading() as cur:
        return cur.execute(_SELECT + " ORDER BY row_id", [run_id]).fetchnumpy()["row_id"]


def record_held_out(cur, run_id: str, row_ids) -> None:
    """Record the run's held-out row ids (inside the caller's transaction)."""
    rows = pd.DataFrame({"run_id": run_id, "row_id": pd.Series(row_ids, dtype="int64")})
    cur.register("run_rows_frame", rows)
    cur.execute(f"INSERT INTO {HELD_OUT_ROWS} SELECT * FROM run_rows_frame")
    cur.unregister("run_rows_frame")
