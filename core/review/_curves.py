"""Read-time views over a review's stored rows: per-group ROC and precision-recall curves, and the points
of a SHAP summary (beeswarm). Small SQL reads and scikit-learn's curve functions; nothing is recomputed
from the model."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import auc, precision_recall_curve, roc_auc_score, roc_curve

from core.errors import InputError
from core.lake import Lake
from core.names import quote_identifier as q
from core.review._store import Review, evaluation_frame

MAX_GROUPS = 12
CURVE_POINTS = 80  # points kept per curve: enough for the shape, small enough to draw at once


def _thin(values: np.ndarray, keep: int) -> np.ndarray:
    """Positions that keep the curve's shape: evenly spaced, first and last always."""
    if len(values) <= keep:
        return np.arange(len(values))
    return np.unique(np.linspace(0, len(values) - 1, keep).round().astype(int))


def group_curves(lake: Lake, review: Review, column: str) -> pd.DataFrame:
    """ROC and precision-recall curve of each group of `column` (a binary review), from the stored truth and
    scores: columns group, legend (the group with its area), curve ("roc" or "pr"), order, x, y, auc, rows.
    A group whose rows hold one class only has no curve and is left out."""
    if review.config.get("task") != "binary":
        raise InputError("Per-group ROC and precision-recall curves are drawn for binary classifiers.")
    frame = evaluation_frame(lake, review, [column])
    frame = frame[frame["truth_positive"].notna() & frame["score"].notna()]
    groups = frame[column].astype("string").fillna("(missing)")
    if groups.nunique() > MAX_GROUPS:
        raise InputError(f"{column} has {groups.nunique():,} values; per-group curves take a column with at most "
                         f"{MAX_GROUPS} groups (a sensitive column such as {', '.join(review.sensitive) or 'sex'}).")
    parts = []
    for group, part in frame.groupby(groups, sort=True):
        truth, score = part["truth_positive"].to_numpy(dtype=int), part["score"].to_numpy(dtype=float)
        if len(np.unique(truth)) < 2:
            continue
        label = f"{column} = {group}"
        fpr, tpr, _ = roc_curve(truth, score)
        precision, recall, _ = precision_recall_curve(truth, score)
        roc_area, pr_area = float(roc_auc_score(truth, score)), float(auc(recall, precision))
        for kind, xs, ys, area, name in (("roc", fpr, tpr, roc_area, "AUC"), ("pr", recall, precision, pr_area, "area")):
            kept = _thin(xs, CURVE_POINTS)
            parts.append(pd.DataFrame({"group": label, "legend": f"{label} ({name} {area:.3f}, {len(part):,} rows)",
                                       "curve": kind, "order": np.arange(len(kept)), "x": xs[kept], "y": ys[kept],
                                       "auc": area, "rows": len(part)}))
    if not parts:
        raise InputError(f"No group of {column} holds both classes: there is no curve to draw.")
    return pd.concat(parts, ignore_index=True)


def shap_summary(lake: Lake, review: Review, features: Sequence[str], *, sample: int = 600, seed: int = 0) -> pd.DataFrame:
    """Points of a SHAP summary (beeswarm): for a seeded sample of explained rows, each feature's SHAP value,
    its value as text, and (numbers) the value's percentile within the sample, for colour."""
    if not features:
        raise InputError("Name at least one feature for the SHAP summary.")
    picked = ", ".join(q(f) for f in features)
    with lake.reading() as cur:
        shap = cur.execute(f"SELECT __row_id, {picked} FROM {review.shap_table} USING SAMPLE {int(sample)} ROWS "
                           f"(reservoir, {int(seed)})").df()
    values = evaluation_frame(lake, review, list(features)).set_index("__row_id").loc[shap["__row_id"]]
    parts = []
    for feature in features:
        column = values[feature]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        rank = column.rank(pct=True).to_numpy() if numeric else np.full(len(column), np.nan)
        parts.append(pd.DataFrame({"feature": feature, "shap": shap[feature].to_numpy(dtype=float),
                                   "value": column.astype("string").fillna("(missing)").to_numpy(), "rank": rank}))
    return pd.concat(parts, ignore_index=True)
