"""Confidence-based performance estimation (CBPE, as NannyML): with calibrated probabilities, each row's
probability of being positive is its expected label, so the expected confusion matrix (at the model's own
decisions) and the expected ROC curve follow without any label. The calibration (isotonic, one-vs-rest for
multiclass, rows renormalised) is fitted on the reference: the model's held-out rows, whose labels are known.
Realized metrics use scikit-learn on the rows whose labels have arrived."""
from __future__ import annotations

from typing import Optional

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from core.monitoring._outputs import Outputs

METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall")
MIN_LABELLED = 100  # realized metrics of a chunk need at least this many labelled rows


class CBPE:
    """Fitted on the reference outputs (probabilities and truth), estimates a chunk's metrics from its probabilities."""

    def __init__(self, classes: int, binary_index: Optional[int]):
        self.classes = classes
        self.binary_index = binary_index  # the positive class's position for a binary model
        self.calibrators: list[IsotonicRegression] = []

    def fit(self, reference: Outputs) -> "CBPE":
        known = reference.labelled
        proba, truth = reference.proba[known], reference.truth[known].astype(int)
        targets = [self.binary_index] if self.binary_index is not None else range(self.classes)
        self.calibrators = [IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
                            .fit(proba[:, c], (truth == c).astype(float)) for c in targets]
        return self

    def calibrated(self, proba: np.ndarray) -> np.ndarray:
        if self.binary_index is not None:
            return self.calibrators[0].predict(proba[:, self.binary_index])
        out = np.column_stack([cal.predict(proba[:, c]) for c, cal in enumerate(self.calibrators)])
        total = out.sum(axis=1, keepdims=True)
        return np.where(total > 0, out / np.where(total > 0, total, 1), 1.0 / self.classes)

    def estimate(self, outputs: Outputs, metrics: tuple) -> dict:
        if len(outputs.X) == 0:
            return {m: None for m in metrics}
        p = self.calibrated(outputs.proba)
        if self.binary_index is not None:
            return _binary(outputs.proba[:, self.binary_index], p, outputs.positions == self.binary_index, metrics)
        return _multiclass(outputs.proba, p, outputs.positions, metrics)


def _binary(score: np.ndarray, p: np.ndarray, decided: np.ndarray, metrics: tuple) -> dict:
    d = decided.astype(float)
    tp, fp = float(np.sum(p * d)), float(np.sum((1 - p) * d))
    fn, tn = float(np.sum(p * (1 - d))), float(np.sum((1 - p) * (1 - d)))
    values = {"roc_auc": expected_roc_auc(score, p), "accuracy": (tp + tn) / len(p),
              "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn), "f1": _ratio(2 * tp, 2 * tp + fp + fn)}
    return {m: values[m] for m in metrics}


def _multiclass(proba: np.ndarray, p: np.ndarray, predicted: np.ndarray, metrics: tuple) -> dict:
    classes = p.shape[1]
    per_class = {"precision": [], "recall": [], "f1": []}
    for c in range(classes):
        mine = predicted == c
        tp, fp, fn = float(p[mine, c].sum()), float((1 - p[mine, c]).sum()), float(p[~mine, c].sum())
        per_class["precision"].append(_ratio(tp, tp + fp))
        per_class["recall"].append(_ratio(tp, tp + fn))
        per_class["f1"].append(_ratio(2 * tp, 2 * tp + fp + fn))
    aucs = [expected_roc_auc(proba[:, c], p[:, c]) for c in range(classes)]
    values = {"roc_auc": _mean(aucs), "accuracy": float(p[np.arange(len(p)), predicted].mean()),
              **{k: _mean(v) for k, v in per_class.items()}}
    return {m: values[m] for m in metrics}


def expected_roc_auc(score: np.ndarray, p: np.ndarray) -> Optional[float]:
    """The area under the ROC curve expected when each row is positive with probability p, ranked by score
    (tied scores move together, as in scikit-learn's roc_curve)."""
    order = np.argsort(-score, kind="stable")
    s, q = score[order], p[order]
    tps, fps = np.cumsum(q), np.cumsum(1 - q)
    if tps[-1] <= 0 or fps[-1] <= 0:
        return None
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tpr, fpr = np.r_[0.0, tps[last] / tps[-1]], np.r_[0.0, fps[last] / fps[-1]]
    return float(np.trapezoid(tpr, fpr))


def realized(outputs: Outputs, metrics: tuple, *, classes: int, binary_index: Optional[int]) -> Optional[dict]:
    """The metrics on the chunk's labelled rows, or None when fewer than MIN_LABELLED have labels."""
    known = outputs.labelled
    if known.sum() < MIN_LABELLED:
        return None
    truth, predicted = outputs.truth[known].astype(int), outputs.positions[known]
    proba = outputs.proba[known] if outputs.proba is not None else None
    values: dict = {}
    if binary_index is not None:
        y, yhat = (truth == binary_index).astype(int), (predicted == binary_index).astype(int)
        values.update(_counted(y.astype(bool), yhat.astype(bool)))
        values["roc_auc"] = roc_auc_score(y, proba[:, binary_index]) if proba is not None and len(set(y)) == 2 else None
    else:
        labels = list(range(classes))
        kwargs = {"labels": labels, "average": "macro", "zero_division": 0}
        values.update(accuracy=accuracy_score(truth, predicted), precision=precision_score(truth, predicted, **kwargs),
                      recall=recall_score(truth, predicted, **kwargs), f1=f1_score(truth, predicted, **kwargs))
        present = len(set(truth)) == classes
        values["roc_auc"] = (roc_auc_score(truth, proba, multi_class="ovr", average="macro", labels=labels)
                             if proba is not None and present else None)
    return {m: (None if values.get(m) is None else float(values[m])) for m in metrics}


def _counted(y: np.ndarray, yhat: np.ndarray) -> dict:
    """Accuracy, precision, recall and F1 from the confusion counts, as scikit-learn's (zero_division=0) give
    them, without its input checks (the reference's spread measures them on 30 bootstrap samples)."""
    tp, fp, fn = int(np.sum(y & yhat)), int(np.sum(~y & yhat)), int(np.sum(y & ~yhat))
    return {"accuracy": float(np.mean(y == yhat)), "precision": _ratio(tp, tp + fp) or 0.0,
            "recall": _ratio(tp, tp + fn) or 0.0, "f1": _ratio(2 * tp, 2 * tp + fp + fn) or 0.0}


def _ratio(a: float, b: float) -> Optional[float]:
    return a / b if b > 0 else None


def _mean(values: list) -> Optional[float]:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
