"""A run in words, for pickers and headers: algorithm, data and date, never a bare id."""
from __future__ import annotations

from core.training._runs import Run

NAMES = {"logistic": "Logistic regression", "random_forest": "Random forest", "hist_gb": "Histogram gradient boosting",
         "lightgbm": "LightGBM", "threshold_optimizer": "Threshold optimizer", "exponentiated_gradient": "Exponentiated gradient"}


def algorithm_name(algorithm: str) -> str:
    return NAMES.get(algorithm, algorithm.replace("_", " ").capitalize())


def describe_run(run: Run) -> str:
    """`LightGBM of defaulted on applications@1 · 2026-11-29 14:41` (a mitigated run names its base algorithm)."""
    name = algorithm_name(run.algorithm)
    if run.params.get("base_run") and run.params.get("base_algorithm"):
        name = f"{name} over {algorithm_name(run.params['base_algorithm'])}"
    return f"{name} of {run.target} on {run.input_ref} · {run.created_at:%Y-%m-%d %H:%M}"
