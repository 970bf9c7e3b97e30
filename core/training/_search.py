"""Bounded hyperparameter search: random candidates from a small space per algorithm, each fitted
on the training fold and scored on the validation fold, until the time budget is spent. The
defaults are always the first candidate, so a search never picks worse than them on validation."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from core.training._pipelines import Task, build_pipeline, fit_pipeline

SPACES: dict[str, dict[str, list]] = {
    "logistic": {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], "alpha": [0.01, 0.1, 1.0, 10.0, 100.0]},
    "random_forest": {"n_estimators": [100, 200], "min_samples_leaf": [1, 2, 5, 10, 20], "max_depth": [8, 12, 16],
                      "max_features": ["sqrt", 0.5, 1.0]},
    "hist_gb": {"learning_rate": [0.03, 0.05, 0.1, 0.2], "max_leaf_nodes": [15, 31, 63]},
    "lightgbm": {"learning_rate": [0.02, 0.05, 0.1], "num_leaves": [15, 31, 63, 127],
                 "min_child_samples": [10, 20, 50, 100], "subsample": [0.7, 0.85, 1.0],
                 "colsample_bytree": [0.6, 0.8, 1.0]},
}


def search(algorithm: str, task: Task, numeric: list, categorical: list, train: tuple, valid: tuple, *,
           seconds: float, seed: int) -> tuple[dict, dict]:
    """Best parameters found within `seconds`, and a summary of the search."""
    rng = np.random.default_rng(seed)
    classify = task in ("binary", "multiclass")
    space = {k: v for k, v in SPACES[algorithm].items()
             if not (algorithm == "logistic" and (k == "alpha") == classify)}  # C classifies, alpha regresses
    started = time.perf_counter()
    candidates: list[dict] = [{}]
    best_params, best_score, tried = {}, -np.inf, 0
    while candidates or time.perf_counter() - started < seconds:
        params = candidates.pop() if candidates else {k: v[rng.integers(len(v))] for k, v in space.items()}
        params = {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}
        model = build_pipeline(algorithm, task, numeric, categorical, seed=seed, params=params)
        fit_pipeline(model, *train, validation=valid)
        score = _validation_score(model, task, *valid)
        tried += 1
        if score > best_score:
            best_params, best_score = params, score
        if time.perf_counter() - started >= seconds:
            break
    return best_params, {"candidates": tried, "seconds": round(time.perf_counter() - started, 2),
                         "best_validation_score": float(best_score), "best_params": best_params}


def _validation_score(model: Any, task: Task, X: pd.DataFrame, y: pd.Series) -> float:
    if task == "binary":
        return skm.roc_auc_score(y, model.predict_proba(X)[:, 1])
    if task == "multiclass":
        return skm.balanced_accuracy_score(y, model.predict(X))
    return -float(np.sqrt(skm.mean_squared_error(y, model.predict(X))))
