"""A chunk through the model: its inputs coerced as batch scoring coerces them (core.operations.scoring),
the class probabilities and decisions at the version's threshold (core.training.TrainedRun), and the truth
where labels are known."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from core import training
from core.operations import scoring


@dataclass(frozen=True)
class Outputs:
    X: pd.DataFrame                  # the model inputs of the rows it could take
    proba: Optional[np.ndarray]      # classifiers with probabilities: rows x classes
    positions: Optional[np.ndarray]  # classifiers: the predicted class position
    values: Optional[np.ndarray]     # regressors: the predicted value
    truth: Optional[np.ndarray]      # class positions or values as float, NaN where unknown
    rows: int                        # rows in the chunk, rejected ones included

    @property
    def labelled(self) -> np.ndarray:
        return np.zeros(len(self.X), dtype=bool) if self.truth is None else ~np.isnan(self.truth)

    def subset(self, mask: np.ndarray) -> "Outputs":
        pick = (lambda a: None if a is None else a[mask])
        return Outputs(X=self.X[mask] if len(self.X) else self.X, proba=pick(self.proba), positions=pick(self.positions), values=pick(self.values),
                       truth=pick(self.truth), rows=int(mask.sum()))


    def take(self, index: pd.Index, rows: int, *, inputs: bool = True) -> "Outputs":
        """The rows of `index` (in its order; repeats allowed) that the model took; `rows` counts the rejected ones
        too. The model scores row by row, so this equals scoring those rows again. Without `inputs` only the
        outputs and the truth are taken (what the metrics read), and X is left empty."""
        at = self.X.index.get_indexer(index)
        at = at[at >= 0]
        pick = (lambda a: None if a is None else a[at])
        return Outputs(X=self.X.iloc[at] if inputs else self.X.iloc[:0], proba=pick(self.proba), positions=pick(self.positions),
                       values=pick(self.values), truth=pick(self.truth), rows=rows)


def has_probabilities(trained: training.TrainedRun) -> bool:
    """Whether the model gives class probabilities (a Pipeline exposes predict_proba only when its last step does)."""
    return trained.run.task in ("binary", "multiclass") and hasattr(trained.model, "predict_proba")


def model_outputs(trained: training.TrainedRun, casts: dict, frame: pd.DataFrame, truth_column: Optional[str],
                  *, probabilities: bool) -> Outputs:
    """Score one chunk; rows batch scoring would reject (text that is not a number) are left out."""
    run, model = trained.run, trained.model
    X, reasons = scoring.model_inputs(casts, frame)
    ok = reasons.isna().to_numpy()
    X = X[ok]
    truth = _truth(run, frame[truth_column][ok]) if truth_column and truth_column in frame.columns else None
    proba = positions = values = None
    if run.task in ("binary", "multiclass"):
        if probabilities:
            proba = np.asarray(model.predict_proba(X), dtype=float)
            positions = np.asarray(trained.predicted_positions(proba), dtype=int)
        else:
            lookup = {str(c): i for i, c in enumerate(run.classes)}
            positions = np.asarray([lookup.get(str(v), -1) for v in model.predict(X)], dtype=int)
    else:
        values = np.asarray(model.predict(X), dtype=float)
    return Outputs(X=X, proba=proba, positions=positions, values=values, truth=truth, rows=len(frame))


def _truth(run: training.Run, labels: pd.Series) -> np.ndarray:
    if run.task in ("binary", "multiclass"):
        lookup = {str(c): float(i) for i, c in enumerate(run.classes)}
        # Each distinct label once: a joined integer label may arrive as 1.0 beside missing ones
        mapping = {v: lookup.get(str(v), lookup.get(str(int(v)) if isinstance(v, float) and v.is_integer() else "", np.nan))
                   for v in pd.unique(labels.dropna())}
        return labels.map(mapping).to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(labels, errors="coerce").to_numpy(dtype=float)
