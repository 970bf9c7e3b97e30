"""What-if: change any feature of a row and see the model's prediction and its SHAP explanation.

`WhatIf.open` loads the run's model (hash checked) with its decision threshold, and a background
sample of its training rows, once; `predict` then answers for one edited row in milliseconds (exact
TreeSHAP for LightGBM), and `compare` puts the original row's answer (kept, so an edit costs one
prediction) beside the edited row's with each feature's change in SHAP value. bench/whatif.py times it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

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
    _answers: dict = field(default_factory=dict, repr=False, compare=False)  # the last rows' answers

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


    def compare(self, original: dict, edited: dict) -> dict:
        """The original row's prediction and SHAP values beside the edited row's: `original`, `edited`
        (each as `predict` answers), `changed` (the features edited) and `features`, one entry per feature
        with both values and both SHAP values and the change in SHAP value (edited minus original)."""
        before, after = self._answer(original), self._answer(edited)
        shap_before = {c["feature"]: c for c in before["contributions"]}
        kinds = {f["name"]: f["kind"] for f in self.run.features}
        features, changed = [], []
        for entry in after["contributions"]:
            name, old = entry["feature"], shap_before[entry["feature"]]
            moved = not _same(old["value"], entry["value"], kinds[name])
            changed += [name] if moved else []
            features.append({"feature": name, "original": old["value"], "edited": entry["value"], "changed": moved,
                             "shap_original": old["shap"], "shap_edited": entry["shap"],
                             "shap_change": entry["shap"] - old["shap"]})
        features.sort(key=lambda f: -max(abs(f["shap_edited"]), abs(f["shap_original"])))
        return {"original": before, "edited": after, "changed": changed, "features": features}

    def _answer(self, values: dict) -> dict:
        key = tuple((k, _plain(values.get(k))) for k in self.run.feature_names)
        if key not in self._answers:
            if len(self._answers) >= 64:
                self._answers.pop(next(iter(self._answers)))
            self._answers[key] = self.predict(values)
        return self._answers[key]

    def nearest_counterfactual(self, lake: Lake, row_id: int) -> Optional[dict]:
        """The counterfactual of lake row `row_id` with the fewest and smallest changes that flip the
        decision (binary; the allowed features as on the Counterfactuals page), or None when none is found."""
        from core.analysis import counterfactuals

        if self.run.task != "binary":
            return None
        found = counterfactuals.for_run(lake, self.trained, row_ids=[int(row_id)], count=3)["rows"][0]
        return found["counterfactuals"][0] if found["counterfactuals"] else None


def _same(a: Any, b: Any, kind: str) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if kind == "numeric":
        return float(a) == float(b)
    return str(a) == str(b)


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value
