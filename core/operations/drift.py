"""Drift: does the data a model now sees still look like the data it was trained on, do its
predictions, and (once labels arrive) does it still perform?

Per-feature tests follow Evidently's defaults: with a reference of 1,000 rows or fewer,
Kolmogorov-Smirnov (numbers) and chi-square (categories) at p < 0.05; above, the Wasserstein
distance normalized by the reference's standard deviation (numbers) and the Jensen-Shannon
distance (categories), drifted above 0.1. PSI (drifted above 0.2) can be chosen instead. The
dataset drifts when at least half of the features do (configurable). Every report is persisted,
so the trend over batches can be drawn.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from core.data import datasets
from core.lake import permissions
from core.governance import registry
from core import training
from core.errors import InputError
from core.lake import Lake
from core.names import parse_dataset_ref

SMALL_REFERENCE = 1_000
REFERENCE_ROWS = 50_000  # drawn by DuckDB, so a 10M-row table never reaches pandas whole
CURRENT_ROWS = 200_000
METHODS = ("auto", "psi")
DISTANCE_THRESHOLD = 0.1
PSI_THRESHOLD = 0.2
PERFORMANCE_DROP = 0.05  # a drop of the primary metric beyond this recommends retraining


def feature_drift(reference: pd.Series, current: pd.Series, *, numeric: bool, method: str = "auto") -> dict:
    ref, cur = reference.dropna(), current.dropna()
    if len(ref) == 0 or len(cur) == 0:
        return {"test": "none", "value": None, "threshold": None, "drifted": False, "note": "no values to compare"}
    if method == "psi":
        value = _psi(ref, cur, numeric)
        return {"test": "psi", "value": value, "threshold": PSI_THRESHOLD, "drifted": value > PSI_THRESHOLD}
    if len(reference) <= SMALL_REFERENCE:
        if numeric:
            p = float(stats.ks_2samp(ref.astype(float), cur.astype(float)).pvalue)
            return {"test": "ks", "value": p, "threshold": 0.05, "drifted": p < 0.05}
        table = pd.crosstab(np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref.astype(str), cur.astype(str)])
        p = float(stats.chi2_contingency(table)[1]) if table.shape[1] > 1 else 1.0
        return {"test": "chi_square", "value": p, "threshold": 0.05, "drifted": p < 0.05}
    if numeric:
        spread = float(ref.astype(float).std()) or 1.0
        value = float(stats.wasserstein_distance(ref.astype(float), cur.astype(float)) / spread)
        return {"test": "wasserstein", "value": value, "threshold": DISTANCE_THRESHOLD, "drifted": value > DISTANCE_THRESHOLD}
    levels = sorted(set(ref.astype(str).unique()) | set(cur.astype(str).unique()))  # each level once, not each row
    p = ref.astype(str).value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    q = cur.astype(str).value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    value = float(jensenshannon(p, q))
    return {"test": "jensen_shannon", "value": value, "threshold": DISTANCE_THRESHOLD, "drifted": value > DISTANCE_THRESHOLD}


def distribution(reference: pd.Series, current: pd.Series, *, numeric: bool, bins: int = 20,
                 levels: int = 12) -> Optional[dict]:
    """Reference and current as shares of their rows on common bins, for the reference-against-current chart:
    numbers in equal-width bins over both ranges (so a shift shows), categories as the most common levels
    of both (the rest as "(other)"). None when a side has no values."""
    ref, cur = reference.dropna(), current.dropna()
    if len(ref) == 0 or len(cur) == 0:
        return None
    if numeric:
        ref, cur = ref.astype(float), cur.astype(float)
        both = pd.concat([ref, cur])  # the range of both, without the farthest 0.5% on each side (counted in the end bins)
        low, high = float(both.quantile(0.005)), float(both.quantile(0.995))
        edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
        return {"kind": "numeric", "edges": edges.tolist(),
                "reference": (np.histogram(ref.clip(edges[0], edges[-1]), edges)[0] / len(ref)).tolist(),
                "current": (np.histogram(cur.clip(edges[0], edges[-1]), edges)[0] / len(cur)).tolist()}
    ref, cur = ref.astype(str), cur.astype(str)
    top = list(pd.concat([ref, cur]).value_counts().index[:levels])
    shares = [side.where(side.isin(top), "(other)").value_counts(normalize=True) for side in (ref, cur)]
    names = top + (["(other)"] if any("(other)" in share.index for share in shares) else [])
    return {"kind": "categorical", "levels": names,
            "reference": [float(shares[0].get(n, 0.0)) for n in names],
            "current": [float(shares[1].get(n, 0.0)) for n in names]}


def _psi(ref: pd.Series, cur: pd.Series, numeric: bool, bins: int = 10) -> float:
    if numeric:
        edges = np.unique(np.quantile(ref.astype(float), np.linspace(0, 1, bins + 1)))
        edges[0], edges[-1] = -np.inf, np.inf
        p = np.histogram(ref.astype(float), edges)[0] / len(ref)
        q = np.histogram(cur.astype(float), edges)[0] / len(cur)
    else:
        levels = sorted(set(ref.astype(str)) | set(cur.astype(str)))
        p = ref.astype(str).value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
        q = cur.astype(str).value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    p, q = np.clip(p, 1e-4, None), np.clip(q, 1e-4, None)
    return float(np.sum((q - p) * np.log(q / p)))


def report(lake: Lake, model_ref: str, *, dataset: str, actor: str, reference: Optional[str] = None,
           labels: Optional[str] = None, entity: Optional[str] = None, method: str = "auto", drift_share: float = 0.5,
           seed: int = 0) -> dict:
    """Compare a batch (a dataset version) with the model's training rows (or another reference version),
    persist the report, return it."""
    permissions.require(lake, actor, "monitor")
    if method not in METHODS:
        raise InputError(f"Unknown drift method {method!r}; choose auto (Evidently's defaults) or psi.")
    if not 0 < drift_share <= 1:
        raise InputError(f"The dataset-drift share must be in (0, 1], not {drift_share}.")
    version, trained = registry.open_version(lake, model_ref)  # the model at the version's decision threshold
    run, model = trained.run, trained.model

    if reference:
        chosen = datasets.get(lake, parse_dataset_ref(reference))
        reference_label, reference = chosen.ref, datasets.read_frame(lake, chosen, sample=REFERENCE_ROWS)
    else:
        source, _ = training.evaluation_source(lake, run, None)
        where, params = trained.held_out_filter(held_out=False)
        reference = datasets.read_frame(lake, source, where=where, params=params, sample=REFERENCE_ROWS)
        reference_label = f"{run.input_ref} training rows"
    batch = datasets.get(lake, parse_dataset_ref(dataset))
    current = datasets.read_frame(lake, batch, sample=CURRENT_ROWS)
    missing = [f for f in run.feature_names if f not in current.columns]
    if missing:
        raise InputError(f"{batch.ref} lacks the model's input column(s) {missing}.")
    features = []
    for feature in version.signature:
        name, numeric = feature["name"], feature["kind"] == "numeric"
        missing_reference = name not in reference.columns
        if missing_reference:
            raise InputError(f"The reference lacks the model's input column {name!r}.")
        tested = feature_drift(reference[name], current[name], numeric=numeric, method=method)
        features.append({"feature": name, "kind": feature["kind"], "method": tested["test"],
                         "statistic": tested["value"], **tested,
                         "distribution": distribution(reference[name], current[name], numeric=numeric)})
    drifted = [f for f in features if f["drifted"]]
    share = len(drifted) / len(features)
    ref_scores, cur_scores = _scores(model, run, reference), _scores(model, run, current)
    prediction = feature_drift(pd.Series(ref_scores), pd.Series(cur_scores), numeric=True, method=method)
    performance = _performance(lake, trained, current, labels, entity)
    primary, higher = training.PRIMARY[run.task]
    drop = None
    if performance and primary in performance["current"] and primary in run.metrics:
        drop = (run.metrics[primary] - performance["current"][primary]) * (1 if higher else -1)
        performance["primary_metric"], performance["drop"] = primary, drop
    retrain = share >= drift_share or (drop is not None and drop > PERFORMANCE_DROP)
    result = {"model": version.ref, "reference": f"{reference_label} ({len(reference):,})",
              "current": batch.ref, "rows": int(len(current)), "batch_rows": int(batch.rows), "method": method, "features": features,
              "drifted_features": [f["feature"] for f in drifted], "drift_share": share,
              "dataset_drift": share >= drift_share, "drift_share_threshold": drift_share,
              "prediction_drift": prediction, "performance": performance, "retrain_recommended": retrain,
              "reasons": ([f"{len(drifted)} of {len(features)} features drifted"] if share >= drift_share else [])
              + ([f"{primary} fell by {drop:.3f}"] if drop is not None and drop > PERFORMANCE_DROP else [])}
    report_id = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:10]}"

    def work(cur) -> None:
        cur.execute("INSERT INTO lake.assay.drift_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [report_id, run.usecase, version.name, version.version, result["reference"], batch.ref,
                     result["dataset_drift"], share, prediction["value"], json.dumps(performance, default=str),
                     json.dumps(result, default=str), actor])

    lake.write(work, actor=actor, action="monitor", message=f"monitor {version.ref} on {batch.ref}", tag=f"drift:{report_id}",
               details={"drift_share": share, "retrain_recommended": retrain})
    return {"report_id": report_id, **result}


def _scores(model, run: training.Run, frame: pd.DataFrame) -> np.ndarray:
    X = frame[run.feature_names]
    if run.task == "binary":
        return model.predict_proba(X)[:, run.classes.index(run.positive)]
    if run.task == "multiclass":
        return model.predict_proba(X).max(axis=1)
    return np.asarray(model.predict(X), dtype=float)


def _performance(lake: Lake, trained: training.TrainedRun, current: pd.DataFrame, labels: Optional[str],
                 entity: Optional[str]) -> Optional[dict]:
    """Metrics on the batch once labels are known: in the batch itself, or in a labels dataset joined by entity."""
    run = trained.run
    frame = current
    if labels:
        known = datasets.read_frame(lake, datasets.get(lake, parse_dataset_ref(labels)))
        key = entity or next((c for c in known.columns if c.endswith("_id")), None)
        if not key or key not in known.columns or key not in current.columns or run.target not in known.columns:
            raise InputError(f"Labels are joined by an entity column present in both and must hold {run.target!r}; "
                             "name it with --entity.")
        frame = current.drop(columns=[run.target], errors="ignore").merge(known[[key, run.target]], on=key, how="inner")
    if run.target not in frame.columns or frame[run.target].notna().sum() < 20:
        return None
    frame = frame[frame[run.target].notna()]
    return {"rows_with_labels": int(len(frame)), "current": trained.metrics_on(frame),
            "training_holdout": {k: v for k, v in run.metrics.items() if isinstance(v, (int, float))}}


def reports(lake: Lake, *, model: Optional[str] = None, usecase: Optional[str] = None, limit: int = 200) -> list[dict]:
    sql, params = "SELECT report_id, result, created_at FROM lake.assay.drift_reports WHERE true", []
    if model:
        sql, params = sql + " AND model = ?", params + [model]
    if usecase:
        sql, params = sql + " AND usecase = ?", params + [usecase]
    rows = lake.query(sql + " ORDER BY created_at LIMIT ?", params + [int(limit)])
    return [{"report_id": r[0], "created_at": r[2], **json.loads(r[1])} for r in rows]
