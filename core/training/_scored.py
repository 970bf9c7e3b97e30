"""A run's model applied to its evaluation rows: the one place that picks those rows (the run's held-out
rows of its input, or every row of another dataset version) and scores them at the run's decision."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np
import pandas as pd

from core import features
from core.data import datasets
from core.errors import InputError
from core.lake import Lake
from core.training._runs import Run
from core.training._trained import TrainedRun, open_run


def evaluation_source(lake: Lake, run: Run, dataset: Optional[str]):
    if dataset:
        return datasets.get(lake, dataset), "dataset"
    if run.input_kind == "feature_set":
        return features.get(lake, run.input_ref), "feature_set"
    return datasets.get(lake, run.input_ref), "dataset"


@dataclass(frozen=True)
class Scored:
    """A run's model applied to its evaluation rows."""
    trained: TrainedRun
    version: object
    kind: str
    scope: str
    frame: pd.DataFrame
    rows: pd.DataFrame

    run = property(lambda self: self.trained.run)
    model = property(lambda self: self.trained.model)


def score_run(lake: Lake, run: Union[str, TrainedRun], *, dataset: Optional[str] = None,
              scope: Optional[str] = None, extra_columns: Optional[Sequence[str]] = None) -> Scored:
    """Score the evaluation rows at the run's decision threshold: the run's held-out rows of its input by
    default, or every row of another dataset version (a run id is opened here, its model hash-checked)."""
    trained = open_run(lake, run)
    run = trained.run
    version, kind = evaluation_source(lake, run, dataset)
    same_input = (kind, version.name, version.version) == (run.input_kind, run.input_name, run.input_version)
    scope = scope or ("test" if same_input else "all")
    if scope not in ("test", "all"):
        raise InputError("Scope is 'test' (the run's held-out rows) or 'all' (every row of the dataset).")
    if scope == "test" and not same_input:
        raise InputError(f"Only {run.input_ref}, the run's input, has held-out rows; review {version.ref} with scope 'all'.")
    where, params = trained.held_out_filter() if scope == "test" else ("", [])
    frame = datasets.read_frame(lake, version, where=where, params=params, with_row_ids=True)
    extra = list(run.sensitive if extra_columns is None else extra_columns)
    needed = [c for c in run.feature_names + extra + [run.target] if c not in frame.columns]
    if needed:
        raise InputError(f"{version.ref} lacks column(s) {needed} that the model or the review needs.")
    return Scored(trained=trained, version=version, kind=kind, scope=scope, frame=frame, rows=_score(trained, frame))


def _score(trained: TrainedRun, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per evaluated row: truth, prediction (at the run's decision), score, error (and for binary,
    the positive flags)."""
    run, model = trained.run, trained.model
    X, truth = frame[run.feature_names], frame[run.target]
    rows = pd.DataFrame({"__row_id": frame["__row_id"].to_numpy()}, index=frame.index)
    if run.task in ("binary", "multiclass"):
        classes = run.classes
        lookup = {str(c): i for i, c in enumerate(classes)}
        truth_pos = truth.map(lambda v: lookup.get(str(v)) if pd.notna(v) else None)
        proba = model.predict_proba(X)
        predicted = trained.predicted_positions(proba)
        rows["truth_label"] = truth.map(lambda v: str(v) if pd.notna(v) and str(v) in lookup else None)
        if run.task == "binary":
            index = trained.positive_index
            rows["score"] = trained.positive_score(proba)
            rows["positive_predicted"] = (predicted == index).astype(int)
            rows["truth_positive"] = (truth_pos == index).astype(int)
        else:
            rows["score"] = proba.max(axis=1)
        rows["predicted_label"] = [str(classes[i]) for i in predicted]
        rows["error"] = (truth_pos.to_numpy(dtype=float) != predicted).astype(float)
    else:
        predicted = model.predict(X)
        rows["truth_label"] = truth.astype(float)
        rows["predicted_label"] = predicted
        rows["score"] = predicted
        rows["error"] = np.abs(truth.astype(float).to_numpy() - predicted)
    return rows
