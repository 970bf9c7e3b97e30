"""What-if: change any feature of a row and see the model's prediction and its SHAP explanation.

`WhatIf.open` loads the run's model (hash checked) and a background sample of its training rows
once; `predict` then answers for one edited row in milliseconds (exact TreeSHAP for LightGBM).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import datasets, training
from core.errors import InputError
from core.lake import Lake
from core.review import _explain

BACKGROUND_ROWS = 1_000


@dataclass
class WhatIf:
    run: training.Run
    model: Any
    background: pd.DataFrame

    @classmethod
    def open(cls, lake: Lake, run_id: str) -> "WhatIf":
        from core.review import evaluation_source

        run = training.get(lake, run_id)
        version, _ = evaluation_source(lake, run, None)
        background = datasets.read_frame(lake, version, where="rowid NOT IN (SELECT row_id FROM lake.assay.run_test_rows "
                                         "WHERE run_id = ?)", params=[run.run_id], limit=BACKGROUND_ROWS)
        return cls(run=run, model=training.load_model(lake, run), background=background[run.feature_names])

    def row(self, lake: Lake, row_id: int) -> dict:
        """One row of the run's input, as a dict of its features."""
        from core.review import evaluation_source

        version, _ = evaluation_source(lake, self.run, None)
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
            if run.task == "binary":
                score = float(proba[run.classes.index(run.positive)])
                label = run.positive if score >= 0.5 else next(c for c in run.classes if c != run.positive)
            else:
                label, score = run.classes[int(np.argmax(proba))], float(np.max(proba))
            out = {"prediction": _plain(label), "score": score,
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
