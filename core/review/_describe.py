"""A review in words, for pickers and headers: what was reviewed (algorithm, target, data), on which
rows, and when; never a bare id."""
from __future__ import annotations

from typing import Optional

from core import training
from core.review._store import Review


def describe_review(current: Review, run: Optional[training.Run] = None) -> str:
    """`LightGBM of defaulted on applications@1 · 2026-11-29 14:41 — reviewed on applications@1, held-out
    rows (900), 2026-11-29 14:52` (the run's words when it is given, else what the review kept)."""
    if run is not None:
        model = training.describe_run(run)
    else:
        algorithm = training.algorithm_name(current.config.get("algorithm") or "model")
        model = f"{algorithm} of {current.config.get('target') or 'its target'} (run {current.run_id})"
    rows = "held-out rows" if current.scope == "test" else "every row"
    return f"{model} — reviewed on {current.dataset_ref}, {rows} ({current.rows:,}), {current.created_at:%Y-%m-%d %H:%M}"
