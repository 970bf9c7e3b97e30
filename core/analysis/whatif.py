"""What-if: change any feature of a row and see the model's prediction and its SHAP explanation.

`WhatIf.open` loads the run's model (hash checked) with its decision threshold, and a background
sample of its training rows, once; `predict` then answers for one edited row in milliseconds (exact TreeSHAP for LightGBM).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import pandas as pd

from core.data import datasets
from core import training
from core.errors import InputError
from core.lake import Lake
from core.analysis import explain as _explain

BACKGROUND_ROWS = 1_000


@dataclass
class WhatIf:
    trained: training.TrainedRun
    background: pd.DataFrame

    @property
    def run(self) -> training.Run:
        return self.trained.run

    @property
    def model(self) -> Any:
        return self.trained.model

    @classmethod
    def open(cls, lake: Lake, run: Union[str, training.TrainedRun]) -> "WhatIf":

        trained = training.open_run(lake, run)
        version, _ = training.evaluation_source(lake, trained.run, None)
        where, params = trained.held_out_filter(held_out=False)
        background = datasets.read_frame(lake, version, where=where, params=params, limit=BACKGROUND_ROWS)
        return cls(trained=trained, background=background[trained.run.feature_names])

    def row(self, lake: Lake, row_id: int) -> dict:
        """One row of the run's input, as a dict of its features."""

        version, _ = training.evaluation_source(lake, self.run, None)
        frame = datasets.read_frame(lake, version, where=f"rowid = {int(row_id)}")
        if frame.empty:
            raise InputError(f"{version.ref} has no row {row_id}; row ids run from 0 to {version.rows - 1:,}.")
        return {c: _plain(frame.iloc[0][c]) for c in self.run.feature_names}

    def predict(self, values: dict) -> dict:
        """The prediction for one row of feature values, and each feature's SHAP contribution."""
        unknown = [k for k in values if k not in self.run.feature_names]
        if unknown:
            raise InputError(f"{unknown} are not features of this model.")
        row = pd.DataFrame([{c: values.get(c) for c in self.run.feature_names}])
        for feature in self.run.features:
            if feature["kind"] == "numeric":
                row[feature["name"]] = pd.to_numeric(row[feature["name"]], errors="coerce").astype(float)
        run = self.run
        X = pd.concat([row, self.background], ignore_index=True)
        if run.task in ("binary", "multiclass"):
            proba = self.model.predict_proba(row)[0]
            label = self.trained.predicted_labels(proba[None, :])[0]
            if run.task == "binary":
                score = float(self.trained.positive_score(proba[None, :])[0])
            else:
                score = float(np.max(proba))
            out = {"prediction": _plain(label), "score": score, "threshold": self.trained.threshold,
                   "probabilities": {str(c): float(p) for c, p in zip(run.classes, proba)}}
        else:
            out = {"prediction": float(self.model.predict(row)[0])}
        values_frame, base, positions = _explain.shap_matrix(self.model, X, task=run.task, classes=run.classes,
                                                             positive=run.positive, explain_rows=len(X),
                                                             only_first=True)
        out["base_value"] = base
        out["contributions"] = [{"feature": f, "value": _plain(row.iloc[0][f]), "shap": float(values_frame.iloc[0][f])}
                                for f in run.feature_names if f in values_frame.columns]
        return out


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value
