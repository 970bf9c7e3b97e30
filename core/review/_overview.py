"""Model overview: metrics overall and per value of a feature or per cohort, with bootstrap
confidence intervals; the confusion matrix; predicted scores by true class."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

BOOTSTRAP = 200
MAX_GROUPS = 20


def _bootstrap(values: np.ndarray, seed: int) -> tuple[float, float]:
    """95% interval of a mean by bootstrap. For 0/1 values (accuracy, selection rate) the count in a
    resample of n rows is exactly Binomial(n, mean), so it is drawn directly; otherwise Poisson
    weights, in chunks so memory stays small."""
    if len(values) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    if np.isin(values, (0.0, 1.0)).all():
        low, high = np.percentile(rng.binomial(len(values), values.mean(), size=BOOTSTRAP) / len(values), [2.5, 97.5])
        return float(low), float(high)
    means = []
    for _ in range(BOOTSTRAP // 20):
        weights = rng.poisson(1.0, size=(20, len(values)))
        means.append((weights @ values) / np.maximum(weights.sum(axis=1), 1))
    low, high = np.percentile(np.concatenate(means), [2.5, 97.5])
    return float(low), float(high)


def group_metrics(rows: pd.DataFrame, *, classification: bool, seed: int = 0) -> dict:
    """rows: truth_pos (0/1 for binary, class position otherwise, or the number), predicted, score, error."""
    out = {"rows": int(len(rows))}
    if not len(rows):
        return out
    error = rows["error"].to_numpy(dtype=float)
    if classification:
        correct = 1 - error
        out["accuracy"] = float(correct.mean())
        out["accuracy_ci"] = _bootstrap(correct, seed)
        if "positive_predicted" in rows:
            selected = rows["positive_predicted"].to_numpy(dtype=float)
            out["selection_rate"] = float(selected.mean())
            out["selection_rate_ci"] = _bootstrap(selected, seed + 1)
            truth = rows["truth_positive"].to_numpy()
            if 0 < truth.sum() < len(truth):
                out["roc_auc"] = float(skm.roc_auc_score(truth, rows["score"]))
            out["positive_rate"] = float(truth.mean())
    else:
        out["mae"] = float(error.mean())
        out["mae_ci"] = _bootstrap(error, seed)
        out["rmse"] = float(np.sqrt((error ** 2).mean()))
    return out


def by_feature(rows: pd.DataFrame, values: pd.Series, *, classification: bool, bins: int = 5, seed: int = 0) -> list[dict]:
    """Metrics per value of a feature (numbers in quantile bins; missing values a group of their own)."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > MAX_GROUPS and not pd.api.types.is_bool_dtype(values):
        keys = pd.qcut(values, q=bins, duplicates="drop").astype(str).where(values.notna(), "(missing)")
    else:
        keys = values.astype("object").astype(str).where(values.notna(), "(missing)")
        top = keys.value_counts().index[:MAX_GROUPS]
        keys = keys.where(keys.isin(top), "(other)")
    return [{"group": str(key), **group_metrics(rows[keys.to_numpy() == key], classification=classification, seed=seed)}
            for key in sorted(keys.unique(), key=str)]


def score_distribution(rows: pd.DataFrame, *, bins: int = 20) -> list[dict]:
    """Histogram of predicted scores by true class (binary: probability of the positive class)."""
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for truth, group in rows.groupby("truth_label"):
        counts, _ = np.histogram(group["score"].clip(0, 1), bins=edges)
        out += [{"truth": str(truth), "bin_start": float(edges[i]), "bin_end": float(edges[i + 1]), "rows": int(c)}
                for i, c in enumerate(counts)]
    return out
