"""Fairness assessment with fairlearn's MetricFrame: group metrics over one or more sensitive
columns and their intersections, disparities (difference and ratio, between groups and to
overall), the four-fifths rule against a reference group, bootstrap intervals (every group
metric is a proportion, so its resamples are binomial draws: exact and instant), and a summary
in plain words. Works on a model's predictions or, in audit mode, on stored labels and predictions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
from fairlearn.metrics import (MetricFrame, count, false_negative_rate, false_positive_rate, selection_rate,
                               true_positive_rate)
from sklearn.metrics import accuracy_score, precision_score, roc_auc_score

from core.data import datasets
from core import training
from core.errors import InputError
from core.lake import Lake

FAVOURABLE_IF_HIGH = ("selection_rate", "accuracy", "tpr", "precision")
METRICS = ("selection_rate", "accuracy", "tpr", "fpr", "fnr", "precision")
SMALL_GROUP = 30


def _precision(y_true, y_pred) -> float:
    return precision_score(y_true, y_pred, zero_division=0)


@dataclass(frozen=True)
class FairnessReport:
    sensitive: list[str]
    positive: Any
    overall: dict
    groups: list[dict]
    disparities: dict
    four_fifths: dict
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"sensitive": self.sensitive, "positive": self.positive, "overall": self.overall, "groups": self.groups,
                "disparities": self.disparities, "four_fifths": self.four_fifths, "summary": self.summary,
                "warnings": self.warnings}


def assess(y_true: np.ndarray, y_pred: np.ndarray, sensitive: pd.DataFrame, *, score: Optional[np.ndarray] = None,
           positive: Any = 1, reference: Optional[dict] = None, n_boot: int = 100, seed: int = 0) -> FairnessReport:
    """Group metrics for 0/1 truth and predictions (1 = the positive value) over the sensitive columns."""
    if len(sensitive.columns) == 0:
        raise InputError("Name at least one sensitive column.")
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    features = sensitive.astype("object").where(sensitive.notna(), "(missing)").astype(str)
    metrics = {"count": count, "selection_rate": selection_rate, "accuracy": accuracy_score, "tpr": true_positive_rate,
               "fpr": false_positive_rate, "fnr": false_negative_rate, "precision": _precision}
    frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=features)
    by_group = frame.by_group
    rng = np.random.default_rng(seed)
    names = list(features.columns)
    groups, warnings = [], []
    for key, row in by_group.iterrows():
        values = key if isinstance(key, tuple) else (key,)
        group = dict(zip(names, values))
        entry = {"group": group, **{m: _num(row[m]) for m in ("count", *METRICS)}}
        entry["count"] = int(row["count"])
        mask = np.logical_and.reduce([features[c].to_numpy() == v for c, v in group.items()])
        entry["positives"] = int(y_true[mask].sum())
        if score is not None and 0 < y_true[mask].sum() < mask.sum():
            entry["roc_auc"] = float(roc_auc_score(y_true[mask], np.asarray(score)[mask]))
        if n_boot:
            for metric, (hits, total) in _proportions(y_true[mask], y_pred[mask]).items():
                entry[f"{metric}_ci"] = _interval(hits, total, n_boot, rng)
        entry["small"] = entry["count"] < SMALL_GROUP
        if entry["small"]:
            warnings.append(f"Group {_label(group)} has only {entry['count']} rows: too few to judge its metrics.")
        groups.append(entry)
    overall = {m: _num(frame.overall[m]) for m in ("count", *METRICS)}
    overall["count"] = int(frame.overall["count"])
    if score is not None and 0 < y_true.sum() < len(y_true):
        overall["roc_auc"] = float(roc_auc_score(y_true, score))
    disparities = {m: {"difference": _num(frame.difference()[m]), "ratio": _num(frame.ratio()[m]),
                       "difference_to_overall": _num(frame.difference(method="to_overall")[m]),
                       "ratio_to_overall": _num(frame.ratio(method="to_overall")[m])} for m in METRICS}
    judged = [g for g in groups if not g["small"]] or groups
    reference_group = _reference(judged, reference)
    rule = four_fifths(judged, reference_group)
    report = FairnessReport(sensitive=names, positive=positive, overall=overall, groups=groups,
                            disparities=disparities, four_fifths=rule, warnings=warnings)
    return FairnessReport(**{**report.__dict__, "summary": summarize(report)})


def _proportions(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Each metric as hits out of a total: every group metric here is a proportion."""
    tp = int((truth & predicted).sum())
    fp = int((~truth.astype(bool) & predicted.astype(bool)).sum())
    positives, predicted_positive = int(truth.sum()), int(predicted.sum())
    n = len(truth)
    correct = int((truth == predicted).sum())
    return {"selection_rate": (predicted_positive, n), "accuracy": (correct, n), "tpr": (tp, positives),
            "fnr": (positives - tp, positives), "fpr": (fp, n - positives), "precision": (tp, predicted_positive)}


def _interval(hits: int, total: int, n_boot: int, rng: np.random.Generator) -> list:
    """95% bootstrap interval of a proportion: resampling its `total` rows gives Binomial(total, hits/total)
    hits, drawn directly (conditional on the group's denominator), so it costs nothing per row."""
    if total < 2:
        return [None, None]
    draws = rng.binomial(total, hits / total, size=n_boot) / total
    low, high = np.percentile(draws, [2.5, 97.5])
    return [float(low), float(high)]


def four_fifths(groups: list[dict], reference: dict, threshold: float = 0.8) -> dict:
    """Each metric of each group against the reference group: the smaller over the larger must be at
    least 0.8 (for rates where lower is better, such as fpr, the same ratio applies)."""
    results, passed = {}, True
    for metric in METRICS:
        worst, worst_group = 1.0, None
        for group in groups:
            a, b = group.get(metric), reference.get(metric)
            if a is None or b is None or group is reference:
                continue
            ratio = 1.0 if max(a, b) == 0 else min(a, b) / max(a, b)
            if ratio < worst:
                worst, worst_group = ratio, group["group"]
        results[metric] = {"worst_ratio": worst, "worst_group": worst_group, "passed": worst >= threshold}
        passed &= worst >= threshold
    return {"reference": reference["group"], "threshold": threshold, "metrics": results, "passed": passed}


def summarize(report: FairnessReport) -> list[str]:
    """Plain-language sentences a stakeholder can read aloud."""
    groups = [g for g in report.groups if not g["small"] and g["count"]]
    if len(groups) < 2:
        return ["There are not enough groups with enough rows to compare."]
    positive = report.positive
    lines = []
    for metric, who in (("fpr", f"whose true outcome was not {positive!r}"), ("fnr", f"whose true outcome was {positive!r}")):
        rated = [g for g in groups if g.get(metric)]
        if len(rated) >= 2:
            high, low = max(rated, key=lambda g: g[metric]), min(rated, key=lambda g: g[metric])
            if low[metric] > 0:
                verb = f"predicted {positive!r}" if metric == "fpr" else f"missed (not predicted {positive!r})"
                lines.append(f"Among people {who}, {_label(high['group'])} were {verb} "
                             f"{high[metric] / low[metric]:.1f} times as often as {_label(low['group'])} "
                             f"({high[metric]:.1%} against {low[metric]:.1%}).")
    high = max(groups, key=lambda g: g["selection_rate"] or 0)
    low = min(groups, key=lambda g: g["selection_rate"] or 0)
    lines.append(f"{_label(high['group'])} were predicted {positive!r} in {high['selection_rate']:.1%} of cases, "
                 f"{_label(low['group'])} in {low['selection_rate']:.1%}.")
    failed = [m for m, r in report.four_fifths["metrics"].items() if not r["passed"]]
    lines.append("Every metric passes the four-fifths rule against the reference group." if not failed else
                 f"The four-fifths rule fails for {', '.join(failed)} (reference: {_label(report.four_fifths['reference'])}).")
    return lines


def audit(lake: Lake, dataset: str, *, label: str, sensitive: Sequence[str], prediction: Optional[str] = None,
          score: Optional[str] = None, threshold: Optional[float] = None, positive: Any = None,
          reference: Optional[dict] = None, n_boot: int = 100) -> FairnessReport:
    """Audit stored predictions (a vendor's or a legacy system's): label and prediction columns, or a
    score column with a threshold (a score at or above it counts as the positive prediction)."""
    if bool(prediction) == bool(score):
        raise InputError("Give the predictions: --prediction COL, or --score COL with --threshold T.")
    if score and threshold is None:
        raise InputError("A score needs --threshold: a score at or above it counts as the positive prediction.")
    version = datasets.get(lake, dataset)
    needed = [label, *(c for c in (prediction, score) if c), *sensitive]
    missing = [c for c in needed if c not in version.column_names]
    if missing:
        raise InputError(f"{version.ref} has no column(s) {missing}; it has {', '.join(version.column_names[:30])}.")
    frame = datasets.read_frame(lake, version)[list(dict.fromkeys(needed))]
    warnings = []
    known = frame[label].notna() & frame[prediction or score].notna()
    if (~known).any():
        warnings.append(f"{int((~known).sum()):,} row(s) without a label or prediction were left out.")
        frame = frame[known]
    positive = _positive_value(frame[label], positive)
    y_true = _is_value(frame[label], positive)
    if prediction:
        y_pred = _is_value(frame[prediction], positive)
        scores = None
    else:
        if not pd.api.types.is_numeric_dtype(frame[score]):
            raise InputError(f"The score column {score!r} must hold numbers.")
        scores = frame[score].astype(float).to_numpy()
        y_pred = scores >= float(threshold)
    report = assess(y_true, y_pred, frame[list(sensitive)], score=scores, positive=positive, reference=reference,
                    n_boot=n_boot)
    return FairnessReport(**{**report.__dict__, "warnings": warnings + report.warnings})


def for_run(lake: Lake, run_id: str, *, sensitive: Sequence[str], dataset: Optional[str] = None,
            threshold: float = 0.5, reference: Optional[dict] = None, n_boot: int = 100) -> FairnessReport:
    """A binary model's fairness on its held-out rows (or every row of another dataset version)."""
    scores = scores_for_run(lake, run_id, sensitive=sensitive, dataset=dataset)
    return assess_scores(scores, threshold=threshold, reference=reference, n_boot=n_boot)


def assess_scores(scores: "Scores", *, threshold: float = 0.5, reference: Optional[dict] = None,
                  n_boot: int = 100) -> FairnessReport:
    if not 0 < threshold < 1:
        raise InputError(f"The threshold must be between 0 and 1, not {threshold}.")
    return assess(scores.y_true, scores.score >= threshold, scores.sensitive, score=scores.score,
                  positive=scores.positive, reference=reference, n_boot=n_boot)


def assess_regression(y_true: np.ndarray, y_pred: np.ndarray, sensitive: pd.DataFrame) -> dict:
    """Regression by group: count, MAE, RMSE, mean prediction and mean truth, with their spreads."""
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error

    features = sensitive.astype("object").where(sensitive.notna(), "(missing)").astype(str)
    metrics = {"count": count, "mae": mean_absolute_error, "rmse": root_mean_squared_error,
               "mean_prediction": lambda t, p: float(np.mean(p)), "mean_truth": lambda t, p: float(np.mean(t))}
    frame = MetricFrame(metrics=metrics, y_true=np.asarray(y_true, dtype=float), y_pred=np.asarray(y_pred, dtype=float),
                        sensitive_features=features)
    names, groups = list(features.columns), []
    for key, row in frame.by_group.iterrows():
        values = key if isinstance(key, tuple) else (key,)
        entry = {"group": dict(zip(names, values)), **{m: _num(row[m]) for m in metrics}}
        entry["count"] = int(row["count"])
        entry["small"] = entry["count"] < SMALL_GROUP
        groups.append(entry)
    disparities = {m: {"difference": _num(frame.difference()[m]), "ratio": _num(frame.ratio()[m])}
                   for m in ("mae", "rmse", "mean_prediction")}
    judged = [g for g in groups if not g["small"]] or groups
    worst, best = max(judged, key=lambda g: g["mae"]), min(judged, key=lambda g: g["mae"])
    summary = [f"The model's typical error (MAE) is {worst['mae']:.3g} for {_label(worst['group'])} and "
               f"{best['mae']:.3g} for {_label(best['group'])}."] if len(judged) > 1 else []
    return {"sensitive": names, "overall": {m: _num(frame.overall[m]) for m in metrics}, "groups": groups,
            "disparities": disparities, "summary": summary,
            "warnings": [f"Group {_label(g['group'])} has only {g['count']} rows: too few to judge its metrics."
                         for g in groups if g["small"]]}


# How a user's file may have written a boolean. Only a column stored as BOOLEAN (a lake ingested before
# CSV text stayed text, or a Parquet/JSON boolean) is matched through these; text is matched as written.
_TRUE_WORDS = ("true", "t", "yes", "y", "1")
_FALSE_WORDS = ("false", "f", "no", "n", "0")


def _as_boolean(positive: Any) -> Optional[bool]:
    word = str(positive).strip().lower()
    return True if word in _TRUE_WORDS else (False if word in _FALSE_WORDS else None)


def _is_value(values: pd.Series, positive: Any) -> np.ndarray:
    """Rows whose value is `positive`: as text, or for a BOOLEAN column, the boolean the literal means."""
    if pd.api.types.is_bool_dtype(values) and str(positive) not in ("True", "False") \
            and _as_boolean(positive) is not None:
        return (values.astype(bool) == _as_boolean(positive)).to_numpy()
    return (values.astype(str) == str(positive)).to_numpy()


def _positive_value(values: pd.Series, positive: Any) -> Any:
    seen = set(values.astype(str))
    if positive is not None:
        if str(positive) not in seen and not (pd.api.types.is_bool_dtype(values) and _as_boolean(positive) is not None):
            hint = (" (a true/false column: yes, no, true, false, t, f, y, n, 1 or 0 also name its values)"
                    if pd.api.types.is_bool_dtype(values) else "")
            raise InputError(f"--positive {positive!r} does not occur in the label; it has {sorted(seen)[:10]}{hint}.")
        return positive
    for candidate in ("1", "True", "true", "yes", "1.0"):
        if candidate in seen and len(seen) == 2:
            return candidate
    raise InputError(f"Name the positive label value with --positive; the label has {sorted(seen)[:10]}.")


def _reference(groups: list[dict], reference: Optional[dict]) -> dict:
    if reference:
        wanted = {k: str(v) for k, v in reference.items()}
        for group in groups:
            if group["group"] == wanted:
                return group
        raise InputError(f"No group {wanted}; the groups are {[g['group'] for g in groups][:12]}.")
    return max(groups, key=lambda g: g["count"])  # the largest group, unless one is named


def _label(group: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in group.items())


def _num(value: Any) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


@dataclass(frozen=True)
class Scores:
    """A binary model's scores on its evaluation rows, with the truth and the sensitive columns."""
    y_true: np.ndarray
    score: np.ndarray
    sensitive: pd.DataFrame
    positive: Any


def scores_for_run(lake: Lake, run_id: str, *, sensitive: Sequence[str], dataset: Optional[str] = None) -> Scores:

    scored = training.score_run(lake, run_id, dataset=dataset, extra_columns=sensitive)
    if scored.run.task != "binary":
        raise InputError(f"Fairness by group needs a binary classifier; run {run_id} is {scored.run.task}.")
    rows = scored.rows[scored.rows["truth_label"].notna()]
    return Scores(y_true=rows["truth_positive"].to_numpy(), score=rows["score"].to_numpy(),
                  sensitive=scored.frame.loc[rows.index, list(sensitive)].reset_index(drop=True),
                  positive=scored.run.positive)


def threshold_sweep(scores: Scores, thresholds: Sequence[float] = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))) -> pd.DataFrame:
    """Per threshold: overall accuracy and the spread of each rate across groups (min/max ratio)."""
    features = scores.sensitive.astype("object").where(scores.sensitive.notna(), "(missing)").astype(str)
    metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
               "accuracy": accuracy_score}
    rows = []
    for threshold in thresholds:
        predicted = (scores.score >= threshold).astype(int)
        frame = MetricFrame(metrics=metrics, y_true=scores.y_true.astype(int), y_pred=predicted, sensitive_features=features)
        ratios = frame.ratio()
        rows.append({"threshold": float(threshold), "accuracy": float(frame.overall["accuracy"]),
                     "selection_rate": float(frame.overall["selection_rate"]),
                     **{f"{m}_ratio": _num(ratios[m]) for m in ("selection_rate", "tpr", "fpr")}})
    return pd.DataFrame(rows)


def cheapest_thresholds(scores: Scores, *, fp_cost: float, fn_cost: float,
                        thresholds: Sequence[float] = tuple(np.round(np.arange(0.01, 1.0, 0.01), 2))) -> dict:
    """The threshold with the lowest total cost (false positives x fp_cost + false negatives x fn_cost),
    overall and for each group on its own."""
    if fp_cost < 0 or fn_cost < 0 or fp_cost + fn_cost == 0:
        raise InputError("Costs must be zero or more, and not both zero.")
    truth = scores.y_true.astype(bool)

    def best(mask: np.ndarray) -> dict:
        costs = []
        for threshold in thresholds:
            predicted = scores.score[mask] >= threshold
            fp = int((predicted & ~truth[mask]).sum())
            fn = int((~predicted & truth[mask]).sum())
            costs.append((fp * fp_cost + fn * fn_cost, threshold, fp, fn))
        cost, threshold, fp, fn = min(costs)
        return {"threshold": float(threshold), "cost": float(cost), "false_positives": fp, "false_negatives": fn,
                "rows": int(mask.sum())}

    features = scores.sensitive.astype("object").where(scores.sensitive.notna(), "(missing)").astype(str)
    groups = []
    for key, part in features.groupby(list(features.columns)):
        values = key if isinstance(key, tuple) else (key,)
        mask = np.zeros(len(features), dtype=bool)
        mask[features.index.get_indexer(part.index)] = True
        groups.append({"group": dict(zip(features.columns, values)), **best(mask)})
    return {"overall": best(np.ones(len(features), dtype=bool)), "groups": groups, "fp_cost": fp_cost, "fn_cost": fn_cost}
