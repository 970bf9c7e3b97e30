"""Drift of the joint distribution, per chunk, and per-feature drift as the drift report measures it.

- PCA reconstruction error (NannyML's method): the reference's inputs are imputed (median; categories by
  their reference frequency), standardised and compressed by PCA to the components that keep 65% of the
  variance; a chunk's value is the mean distance between its rows and their reconstruction. A change in how
  features move together raises it even when no feature's own distribution moves.
- A domain classifier: gradient boosting (LightGBM, as NannyML's) told to separate the chunk's rows from the reference's, scored by
  cross-validated ROC AUC (0.5: indistinguishable; 1: a different population). Both sides are sampled to at
  most DOMAIN_ROWS rows, so its cost per chunk does not grow with the chunk.
- Per feature: core.operations.drift.feature_drift (Evidently's defaults), on samples of at most DRIFT_ROWS,
  drifted only beyond the reference chunks' own range of that statistic as well.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

from core.operations import drift

VARIANCE_KEPT = 0.65
DOMAIN_ROWS = 5_000
DRIFT_ROWS = 50_000
BINS = 20
TOP_LEVELS = 15
SHOWN_FEATURES = 3  # distributions kept for the drifted features, or at least the most moved ones


def as_text(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """The categories as pandas text, converted once per chunk: the encoder, the drift tests and the distributions
    all take a category's text (`astype(str)`), which on the scored inputs' Python objects was done per step."""
    return frame.astype({c: str for c in categorical}) if categorical else frame


def _looked_up(values: pd.Series, shares: dict) -> np.ndarray:
    """Each row's category share (missing or unseen: 0), looked up once per distinct level."""
    codes, levels = pd.factorize(values.astype(str))
    return np.asarray([shares.get(level, 0.0) for level in levels] + [0.0], dtype=float)[codes]


class Encoder:
    """Numbers: the reference median where missing; categories: their share of the reference (unseen: 0)."""

    def __init__(self, numeric: list[str], categorical: list[str]):
        self.numeric, self.categorical = numeric, categorical

    def fit(self, frame: pd.DataFrame) -> "Encoder":
        self.medians = {c: float(np.nanmedian(frame[c].to_numpy(dtype=float))) if frame[c].notna().any() else 0.0
                        for c in self.numeric}
        self.shares = {c: frame[c].astype(str).value_counts(normalize=True).to_dict() for c in self.categorical}
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        columns = [frame[c].to_numpy(dtype=float) for c in self.numeric]
        columns = [np.where(np.isnan(v), self.medians[c], v) for c, v in zip(self.numeric, columns)]
        columns += [_looked_up(frame[c], self.shares[c]) for c in self.categorical]
        return np.column_stack(columns) if columns else np.zeros((len(frame), 0))


class PCADrift:
    def __init__(self, encoder: Encoder):
        self.encoder = encoder

    def fit(self, reference: pd.DataFrame) -> "PCADrift":
        data = self.encoder.transform(reference)
        self.scaler = StandardScaler().fit(data)
        # from the features' covariance (a few columns): the same components as a full SVD of the rows, far cheaper
        self.pca = PCA(n_components=VARIANCE_KEPT, svd_solver="covariance_eigh",
                       random_state=0).fit(self.scaler.transform(data))
        return self

    def error(self, frame: pd.DataFrame) -> float:
        return float(self.row_errors(frame).mean())

    def row_errors(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's distance from its reconstruction (the error is their mean)."""
        data = self.scaler.transform(self.encoder.transform(frame))
        rebuilt = self.pca.inverse_transform(self.pca.transform(data))
        return np.linalg.norm(data - rebuilt, axis=1)


class DomainClassifier:
    def __init__(self, encoder: Encoder, reference: pd.DataFrame, seed: int = 0):
        self.encoder, self.seed = encoder, seed
        self.reference = reference  # indexed by row: a reference chunk is left out of its own comparison

    def auc(self, chunk: pd.DataFrame, *, exclude: pd.Index | None = None) -> float:
        """Cross-validated ROC AUC of telling the chunk from the reference (less `exclude`, the positions of a
        reference chunk's own rows)."""
        reference = self.reference if exclude is None else self.reference.drop(index=exclude)
        ref = _sample(reference, DOMAIN_ROWS, self.seed)
        cur = _sample(chunk, DOMAIN_ROWS, self.seed + 1)
        X = self.encoder.transform(pd.concat([ref, cur], ignore_index=True))
        y = np.r_[np.zeros(len(ref)), np.ones(len(cur))]
        model = LGBMClassifier(n_estimators=50, num_leaves=15, learning_rate=0.1, n_jobs=1, verbose=-1,
                               random_state=self.seed)
        folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=self.seed)
        scores = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
        return float(roc_auc_score(y, scores))


def feature_statistics(reference: pd.DataFrame, chunk: pd.DataFrame, signature: list[dict], seed: int,
                       reference_rows: int = DRIFT_ROWS) -> dict:
    """Each model input tested as the drift report tests it: name -> the test's result. The reference is sampled
    to `reference_rows` (at most DRIFT_ROWS): the reference chunks are each compared with the rest of the
    reference, and a current chunk with a sample of the same size, so both meet the same test on equal terms."""
    ref = _sample(reference, min(DRIFT_ROWS, reference_rows), seed)
    cur = _sample(chunk, DRIFT_ROWS, seed + 1)
    return {f["name"]: drift.feature_drift(ref[f["name"]], cur[f["name"]], numeric=f["kind"] == "numeric")
            for f in signature}


def feature_drift(reference: pd.DataFrame, chunk: pd.DataFrame, signature: list[dict], seed: int,
                  limits: dict, reference_rows: int) -> tuple[list, dict]:
    """Per feature: drifted when its statistic passes the drift report's own threshold and leaves the range of
    the reference chunks' statistics (`limits`: name -> limits already scaled to this chunk's size); with the
    distributions of the drifted features (or, when none drifted, of the ones that moved most)."""
    tested = feature_statistics(reference, chunk, signature, seed, reference_rows)
    results = []
    for feature in signature:
        name, found = feature["name"], tested[feature["name"]]
        p_value = found["test"] in ("ks", "chi_square")  # small references: smaller is more drift
        beyond = (limits[name]["lower"] is not None and found["value"] is not None and found["value"] < limits[name]["lower"]) \
            if p_value else (limits[name]["upper"] is not None and found["value"] is not None
                             and found["value"] > limits[name]["upper"])
        results.append({"feature": name, "kind": feature["kind"], "method": found["test"], "value": found["value"],
                        "threshold": found["threshold"],
                        "reference_range": [limits[name]["lower"], limits[name]["upper"]],
                        "drifted": bool(found["drifted"] and beyond)})
    ranked = sorted(results, key=lambda r: (not r["drifted"], -(r["value"] or 0.0)))
    shown = [r for r in ranked if r["drifted"]] or ranked[:SHOWN_FEATURES]
    ref, cur = _sample(reference, min(DRIFT_ROWS, reference_rows), seed), _sample(chunk, DRIFT_ROWS, seed + 1)
    distributions = {r["feature"]: distribution(ref[r["feature"]], cur[r["feature"]], r["kind"] == "numeric")
                     for r in shown}
    return results, distributions


def distribution(reference: pd.Series, current: pd.Series, numeric: bool) -> dict:
    """Shares of the reference and the chunk per bin (numbers: BINS bins over the reference's 1st-99th
    percentiles, the tails in the end bins) or per level (the TOP_LEVELS most common, the rest as 'other')."""
    if numeric:
        ref, cur = reference.dropna().to_numpy(dtype=float), current.dropna().to_numpy(dtype=float)
        if len(ref) == 0:
            return {"kind": "numeric", "bins": [], "reference": [], "current": []}
        low, high = np.quantile(ref, [0.01, 0.99])
        edges = np.linspace(low, high if high > low else low + 1.0, BINS + 1)
        share = (lambda v: (np.histogram(np.clip(v, edges[0], edges[-1]), edges)[0] / max(len(v), 1)).round(5).tolist())
        return {"kind": "numeric", "bins": edges.round(6).tolist(), "reference": share(ref), "current": share(cur)}
    ref, cur = reference.astype(str), current.astype(str)
    levels = ref.value_counts().index[:TOP_LEVELS].tolist()
    shares = lambda v: [float((v == level).mean()) for level in levels] + [float((~v.isin(levels)).mean())]
    return {"kind": "categorical", "bins": levels + ["other"], "reference": np.round(shares(ref), 5).tolist(),
            "current": np.round(shares(cur), 5).tolist()}


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame if len(frame) <= rows else frame.sample(n=rows, random_state=seed)
