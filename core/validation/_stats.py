"""Vectorised statistics the checks share: one column's predictive power on its own (binned target
encoding learnt on training rows, judged on held-out rows), Benjamini-Hochberg, and z-tests from sums."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import r2_score, roc_auc_score


def bin_codes(train: pd.Series, other: pd.Series, *, bins: int = 20, top: int = 50) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin codes for two samples of one column, learnt on `train`: numbers by its quantiles, text by its most
    frequent values (the rest together); a missing value is its own bin."""
    numeric = pd.api.types.is_numeric_dtype(train) and not pd.api.types.is_bool_dtype(train)
    if numeric:
        values = train.to_numpy(dtype=float)
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, bins + 1)[1:-1])) if np.isfinite(values).any() \
            else np.array([])

        def code(series: pd.Series) -> np.ndarray:
            x = series.to_numpy(dtype=float)
            return np.where(np.isnan(x), len(edges) + 1, np.searchsorted(edges, x, side="right"))
        return code(train), code(other), len(edges) + 2
    codes, uniques = pd.factorize(train)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    kept = pd.Index(uniques[np.argsort(-counts, kind="stable")[:top]])

    def code_text(series: pd.Series) -> np.ndarray:
        found = kept.get_indexer(series)
        return np.where(series.isna().to_numpy(), len(kept) + 1, np.where(found < 0, len(kept), found)).astype(int)
    return code_text(train), code_text(other), len(kept) + 2


def encoded(train_codes: np.ndarray, train_y: np.ndarray, codes: np.ndarray, size: int, *, prior_weight: float = 10.0,
            classes: Optional[int] = None) -> np.ndarray:
    """Each row's bin mean of the label on the training rows (shrunk towards the overall mean); with `classes`,
    the bin's class shares (rows x classes)."""
    if classes:
        onehot = np.eye(classes)[train_y]
        prior = onehot.mean(axis=0)
        sums = np.stack([np.bincount(train_codes, weights=onehot[:, k], minlength=size) for k in range(classes)], axis=1)
        counts = np.bincount(train_codes, minlength=size)[:, None]
        return ((sums + prior_weight * prior) / (counts + prior_weight))[codes]
    prior = float(np.mean(train_y))
    sums = np.bincount(train_codes, weights=train_y, minlength=size)
    counts = np.bincount(train_codes, minlength=size)
    return ((sums + prior_weight * prior) / (counts + prior_weight))[codes]


def predictive_power(train: pd.Series, train_y: np.ndarray, test: pd.Series, test_y: np.ndarray, *, task: str,
                     bins: int = 20, classes: int = 2) -> Optional[float]:
    """One column alone: ROC AUC (binary; max of AUC and 1 - AUC is not taken: the encoding learns the
    direction), macro one-vs-rest AUC (multiclass) or R2 (regression) on the held-out rows."""
    if len(test_y) < 10 or len(np.unique(test_y)) < 2:
        return None
    a, b, size = bin_codes(train, test, bins=bins)
    if task == "binary":
        return float(roc_auc_score(test_y, encoded(a, train_y.astype(float), b, size)))
    if task == "multiclass":
        shares = encoded(a, train_y, b, size, classes=classes)
        present = np.unique(test_y)
        if len(present) < 2:
            return None
        shares = shares[:, present] / shares[:, present].sum(axis=1, keepdims=True)
        if len(present) == 2:
            return float(roc_auc_score(test_y == present[1], shares[:, 1]))
        return float(roc_auc_score(test_y, shares, multi_class="ovr", labels=present))
    return float(r2_score(test_y, encoded(a, train_y.astype(float), b, size)))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Adjusted p-values (q-values) controlling the false-discovery rate."""
    p = np.asarray(p, dtype=float)
    if not len(p):
        return p
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out


def welch_z(n1, s1, q1, n2, s2, q2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means of two groups and the z statistic of mean1 - mean2, from counts, sums and sums of squares."""
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m2 = s1 / n1, s2 / n2
        v1 = np.maximum(q1 / n1 - m1 ** 2, 0) * n1 / np.maximum(n1 - 1, 1)
        v2 = np.maximum(q2 / n2 - m2 ** 2, 0) * n2 / np.maximum(n2 - 1, 1)
        se = np.sqrt(v1 / n1 + v2 / n2)
        z = np.where(se > 0, (m1 - m2) / np.where(se > 0, se, 1), np.where(m1 > m2, np.inf, 0.0))
    return m1, m2, z


def one_sided_p(z: np.ndarray) -> np.ndarray:
    return stats.norm.sf(z)
