"""Held-out metrics and curves (kept as data, drawn later) for each problem type."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, classes: list, *, positive: Any = None,
                           threshold: float = 0.5) -> dict:
    """Binary (with `positive`, the class whose probability is proba[:, index]) or multiclass metrics."""
    if len(classes) == 2:
        index = classes.index(positive)
        score = proba[:, index]
        truth = (y_true == positive).astype(int)
        predicted = (score >= threshold).astype(int)
        tn, fp, fn, tp = skm.confusion_matrix(truth, predicted, labels=[0, 1]).ravel()
        return {
            "accuracy": skm.accuracy_score(truth, predicted),
            "balanced_accuracy": skm.balanced_accuracy_score(truth, predicted),
            "roc_auc": skm.roc_auc_score(truth, score), "pr_auc": skm.average_precision_score(truth, score),
            "f1": skm.f1_score(truth, predicted, zero_division=0),
            "precision": skm.precision_score(truth, predicted, zero_division=0),
            "recall": skm.recall_score(truth, predicted, zero_division=0),
            "log_loss": skm.log_loss(truth, np.clip(score, 1e-15, 1 - 1e-15), labels=[0, 1]),
            "brier": skm.brier_score_loss(truth, score), "threshold": threshold,
            "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        }
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    truth = np.asarray(y_true, dtype=object)
    labels = list(classes)
    out = {"accuracy": skm.accuracy_score(truth, predicted),
           "balanced_accuracy": skm.balanced_accuracy_score(truth, predicted),
           "log_loss": skm.log_loss(truth, np.clip(proba, 1e-15, 1), labels=labels)}
    for average in ("macro", "micro"):
        out[f"f1_{average}"] = skm.f1_score(truth, predicted, average=average, zero_division=0)
        out[f"precision_{average}"] = skm.precision_score(truth, predicted, average=average, zero_division=0)
        out[f"recall_{average}"] = skm.recall_score(truth, predicted, average=average, zero_division=0)
    if len(set(truth)) == len(labels):
        out["roc_auc_ovr_macro"] = skm.roc_auc_score(truth, proba, multi_class="ovr", average="macro", labels=labels)
    matrix = skm.confusion_matrix(truth, predicted, labels=labels)
    out["confusion_matrix"] = {"labels": [str(c) for c in labels], "matrix": matrix.tolist()}
    return out


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict:
    y_true = np.asarray(y_true, dtype=float)
    nonzero = np.abs(y_true) > 1e-12
    return {"rmse": math.sqrt(skm.mean_squared_error(y_true, predicted)), "mae": skm.mean_absolute_error(y_true, predicted),
            "r2": skm.r2_score(y_true, predicted),
            "mape": float(np.mean(np.abs((y_true[nonzero] - predicted[nonzero]) / y_true[nonzero]))) if nonzero.any() else None}


def classification_curves(y_true: np.ndarray, proba: np.ndarray, classes: list, *, positive: Any = None) -> pd.DataFrame:
    """Long form: curve (roc, pr, calibration), class, x, y, threshold; thinned to at most ~200 points each."""
    frames = []
    targets = [positive] if len(classes) == 2 else list(classes)
    for label in targets:
        truth = (np.asarray(y_true, dtype=object) == label).astype(int)
        if truth.min() == truth.max():
            continue
        score = proba[:, classes.index(label)]
        fpr, tpr, roc_t = skm.roc_curve(truth, score)
        precision, recall, pr_t = skm.precision_recall_curve(truth, score)
        observed, predicted = calibration_curve(truth, score, n_bins=10, strategy="quantile")
        frames += [_thin(pd.DataFrame({"curve": "roc", "x": fpr, "y": tpr, "threshold": roc_t})),
                   _thin(pd.DataFrame({"curve": "pr", "x": recall[:-1], "y": precision[:-1], "threshold": pr_t})),
                   pd.DataFrame({"curve": "calibration", "x": predicted, "y": observed, "threshold": np.nan})]
        frames[-3:] = [f.assign(label=str(label)) for f in frames[-3:]]
    out = pd.concat(frames, ignore_index=True)
    out["threshold"] = out["threshold"].replace([np.inf, -np.inf], np.nan)
    return out[["curve", "label", "x", "y", "threshold"]]


def regression_curves(y_true: np.ndarray, predicted: np.ndarray, *, seed: int = 0, points: int = 2000) -> pd.DataFrame:
    """Residuals against predictions (a sample of points) and predicted-versus-actual by decile."""
    y_true = np.asarray(y_true, dtype=float)
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(y_true), size=min(points, len(y_true)), replace=False)
    residuals = pd.DataFrame({"curve": "residuals", "label": "", "x": predicted[keep], "y": y_true[keep] - predicted[keep],
                              "threshold": np.nan})
    bins = pd.qcut(predicted, q=min(10, len(np.unique(predicted))), duplicates="drop")
    grouped = pd.DataFrame({"p": predicted, "a": y_true}).groupby(bins, observed=True).mean()
    calibration = pd.DataFrame({"curve": "calibration", "label": "", "x": grouped["p"].to_numpy(),
                                "y": grouped["a"].to_numpy(), "threshold": np.nan})
    return pd.concat([residuals, calibration], ignore_index=True)


def _thin(frame: pd.DataFrame, points: int = 200) -> pd.DataFrame:
    if len(frame) <= points:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, points).round().astype(int))
    return frame.iloc[keep]


def json_ready(value: Any) -> Any:
    """JSON-ready numbers (numpy scalars to Python, NaN to None)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
