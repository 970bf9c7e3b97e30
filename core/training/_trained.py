"""One owner of a trained run's decision: the run, its model (loaded and hash-checked once per
operation), its decision threshold and its held-out rows. Every analysis (review, fairness,
counterfactuals, what-if, mitigation, the gate, batch scoring, the endpoint) is handed a
TrainedRun and decides through it, so a run trained at 0.3 is judged and served at 0.3.

- binary: a score (probability of the positive class) at or above the threshold predicts the
  positive class. The threshold is the one the run was trained with (run.metrics["threshold"]),
  or a registered version's own (core.registry.set_threshold). Mitigated runs record 0.5: their
  models already shift each group's threshold onto 0.5 (core.training._mitigated).
- multiclass: the most probable class; regression: the predicted value. No threshold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from core.errors import InputError
from core.lake import Lake
from core.training._held_out import held_out_filter, held_out_ids
from core.training._metrics import classification_metrics, regression_metrics
from core.training._mitigated import MITIGATED_THRESHOLD
from core.training._runs import Run, get, load_model

MITIGATED_ALGORITHMS = ("threshold_optimizer", "exponentiated_gradient")


def check_threshold(value: Any) -> float:
    """A decision threshold: a number strictly between 0 and 1."""
    if isinstance(value, bool):
        value = None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0 < number < 1):
        raise InputError(f"The decision threshold must be a number strictly between 0 and 1 (such as 0.3), "
                         f"not {value!r}.")
    return number


def decision_threshold(run: Run) -> Optional[float]:
    """The threshold a binary run was trained and evaluated with (None for other tasks)."""
    if run.task != "binary":
        return None
    if run.algorithm in MITIGATED_ALGORITHMS:
        return MITIGATED_THRESHOLD
    return float(run.metrics.get("threshold", 0.5))  # runs recorded before thresholds were stored decided at 0.5


def decision_rule(run: Run, threshold: Optional[float]) -> str:
    """The decision rule in words (a registered version's output field, the scorecard)."""
    if run.task == "binary":
        return f"probability of {run.target} = {run.positive}; decision at {threshold:g}"
    if run.task == "multiclass":
        return f"class probabilities over {run.classes}; decision: the most probable class"
    return f"predicted {run.target} (a number)"


@dataclass(frozen=True)
class TrainedRun:
    run: Run
    model: Any = field(repr=False, compare=False)
    threshold: Optional[float]

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def positive_index(self) -> int:
        return self.run.classes.index(self.run.positive)

    @property
    def decision(self) -> str:
        return decision_rule(self.run, self.threshold)

    def positive_score(self, proba: np.ndarray) -> np.ndarray:
        return np.asarray(proba)[:, self.positive_index]

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Binary: True where the positive-class score predicts the positive class."""
        if self.run.task != "binary":
            raise InputError(f"Only a binary classifier decides at a threshold; run {self.run_id} is {self.run.task}.")
        return np.asarray(scores, dtype=float) >= self.threshold

    def predicted_positions(self, proba: np.ndarray) -> np.ndarray:
        """Each row's predicted class position (binary: at the threshold; multiclass: the most probable)."""
        if self.run.task == "binary":
            index = self.positive_index
            return np.where(self.decide(self.positive_score(proba)), index, 1 - index)
        return np.asarray(proba).argmax(axis=1)

    def predicted_labels(self, proba: np.ndarray) -> list:
        """Each row's predicted class label (as the run stores its classes)."""
        return [self.run.classes[int(p)] for p in self.predicted_positions(proba)]

    def metrics_on(self, frame: pd.DataFrame) -> dict:
        """The model's metrics on labelled rows (the gate's, drift's), binary decisions at the threshold."""
        run, model = self.run, self.model
        X, truth = frame[run.feature_names], frame[run.target]
        if run.task in ("binary", "multiclass"):
            extra = {"threshold": self.threshold} if run.task == "binary" else {}
            metrics = classification_metrics(truth.to_numpy(dtype=object), model.predict_proba(X), run.classes,
                                             positive=run.positive, **extra)
        else:
            metrics = regression_metrics(truth.to_numpy(dtype=float), np.asarray(model.predict(X), dtype=float))
        return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and k != "threshold"}

    def held_out_filter(self, *, held_out: bool = True) -> tuple[str, list]:
        return held_out_filter(self.run_id, held_out=held_out)

    def held_out_ids(self, lake: Lake) -> np.ndarray:
        return held_out_ids(lake, self.run_id)


def open_run(lake: Lake, run: Union[str, Run, TrainedRun], *, threshold: Optional[float] = None) -> TrainedRun:
    """The run (by id, or as read) with its model loaded once (hash and types checked) and its threshold:
    `threshold` when given (a registered version's own), else the run's. A TrainedRun is returned as is."""
    if isinstance(run, TrainedRun):
        return run
    run = get(lake, run) if isinstance(run, str) else run
    if threshold is not None and run.task != "binary":
        raise InputError(f"Only a binary classifier has a decision threshold; run {run.run_id} is {run.task}.")
    chosen = decision_threshold(run) if threshold is None else check_threshold(threshold)
    return TrainedRun(run=run, model=load_model(lake, run), threshold=chosen)
