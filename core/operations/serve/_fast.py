"""A faster call of the same fitted LightGBM pipeline, for the endpoint's small batches.

Why: on one row, the Pipeline's predict_proba spends ~99% of its time in pandas and scikit-learn's per-call
checks (tens of ms) and ~0.02 ms in LightGBM's trees; a micro-batch of a few rows pays that every call.
What: the same fitted objects, called without the per-call frames: numbers pass through as the ColumnTransformer
passes them, each categorical value gets the code the fitted OrdinalEncoder itself gave it (asked once, with
missing and unseen values), and the fitted booster predicts. It is used only when the pipeline has exactly that
shape and, when loaded, gives bit-identical probabilities to the Pipeline on probe rows covering every category,
a missing and an unseen value of each; otherwise the endpoint calls the Pipeline."""
from __future__ import annotations

import numpy as np
import pandas as pd

UNSEEN = "\x00unseen\x00"


class FastModel:
    """predict_proba / predict over the frame score_frame builds (numbers as float, text as object with None)."""

    def __init__(self, pipeline, plan: list, codes: list, booster, classify: bool, binary: bool):
        self.pipeline, self.plan, self.codes, self.booster = pipeline, plan, codes, booster
        self.classify, self.binary = classify, binary

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(X), len(self.plan)), dtype=np.float64)
        for j, (column, kind) in enumerate(self.plan):
            values = X[column]
            if kind == "number":
                out[:, j] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                table, missing, unseen = self.codes[j]
                out[:, j] = [missing if (v is None or v != v) else table.get(str(v), unseen) for v in values]
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raw = self.booster.predict(self._matrix(X))
        return np.vstack((1.0 - raw, raw)).T if self.binary else raw

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(self._matrix(X))

    def plain_matrix(self, rows: list) -> np.ndarray | None:
        """The model's input straight from JSON rows whose numbers are numbers (floats, or integers a double holds
        exactly) and whose texts are strings, or null: nothing score_frame would cast differently or reject.
        None when any value is otherwise (the batch then goes through score_frame)."""
        out = np.empty((len(rows), len(self.plan)), dtype=np.float64)
        for j, (column, kind) in enumerate(self.plan):
            if kind == "number":
                for i, row in enumerate(rows):
                    value = row[column]
                    if value is None:
                        out[i, j] = np.nan
                    elif type(value) is float or (type(value) is int and -2**53 <= value <= 2**53):
                        out[i, j] = value
                    else:
                        return None
            else:
                table, missing, unseen = self.codes[j]
                for i, row in enumerate(rows):
                    value = row[column]
                    if value is None:
                        out[i, j] = missing
                    elif type(value) is str:
                        out[i, j] = table.get(value, unseen)
                    else:
                        return None
        return out

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        """predict_proba (classifiers) or predict (regression) of a matrix from plain_matrix."""
        raw = self.booster.predict(matrix)
        return np.vstack((1.0 - raw, raw)).T if self.binary else raw


def _codes(encoder, columns: list) -> list:
    """What the fitted encoder gives each known category, a missing value and an unseen one, asked of it."""
    tables = []
    for j, column in enumerate(columns):
        known = [str(c) for c in encoder.categories_[j] if not (isinstance(c, float) and np.isnan(c))]
        probe = pd.DataFrame({c: [np.nan] * (len(known) + 2) for c in columns}, dtype=object)
        probe[column] = [*known, np.nan, UNSEEN]
        coded = encoder.transform(probe)[:, j]
        tables.append(({k: float(v) for k, v in zip(known, coded[:len(known)])}, float(coded[-2]), float(coded[-1])))
    return tables


def compile_model(pipeline, task: str, casts: dict):
    """A FastModel of the pipeline, or None when its shape is not the one this knows (or it disagrees)."""
    try:
        steps = dict(pipeline.named_steps)
    except AttributeError:
        return None
    if list(steps) != ["clean", "encode", "model"] or not type(steps["model"]).__name__.startswith("LGBM"):
        return None
    clean, encode, model = steps["clean"], steps["encode"], steps["model"]
    plan, codes = [], []
    for name, transformer, columns in encode.transformers_:
        if name == "remainder":
            continue
        identity = transformer == "passthrough" or (type(transformer).__name__ == "FunctionTransformer"
                                                    and transformer.func is None)  # how a fitted one keeps passthrough
        if identity and set(columns) <= set(clean.numeric or []):
            plan += [(c, "number") for c in columns]
            codes += [None] * len(columns)
        elif type(transformer).__name__ == "OrdinalEncoder" and set(columns) <= set(clean.categorical or []):
            plan += [(c, "code") for c in columns]
            codes += _codes(transformer, list(columns))
        else:
            return None
    if any((kind == "number") != (casts.get(column) == "parse") for column, kind in plan):
        return None
    if (model.n_features_in_ != len(plan) or task not in ("binary", "multiclass", "regression")
            or (task == "binary") != (len(getattr(model, "classes_", [])) == 2)):
        return None
    fast = FastModel(pipeline, plan, codes, model.booster_, task != "regression", task == "binary")
    return fast if _agrees(fast, pipeline, casts, codes, plan) else None


def _agrees(fast: FastModel, pipeline, casts: dict, codes: list, plan: list) -> bool:
    """Bit-identical to the Pipeline on probe rows: every category, a missing and an unseen value of each
    categorical feature, and numbers spread over several magnitudes with missing ones."""
    n = max([len(t[0]) + 2 for t in codes if t is not None] + [16])
    rng = np.random.default_rng(7)
    frame = {}
    for j, (column, kind) in enumerate(plan):
        if kind == "number":
            values = rng.normal(0, 1, n) * 10.0 ** rng.integers(0, 6, n)
            values[rng.random(n) < 0.15] = np.nan
            frame[column] = values
        else:
            known = list(codes[j][0])
            frame[column] = pd.Series([*known, None, UNSEEN] * (n // (len(known) + 2) + 1), dtype=object)[:n].to_numpy()
    X = pd.DataFrame({c: frame[c] if c in frame else [None] * n for c in casts})
    method = "predict_proba" if fast.classify else "predict"
    return bool(np.array_equal(getattr(fast, method)(X), np.asarray(getattr(pipeline, method)(X))))
