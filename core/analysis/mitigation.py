"""Fairness mitigation with fairlearn, saved as a new run that can be reviewed and registered like
any other.

- method "threshold": ThresholdOptimizer (post-processing) on the run's own model: thresholds per
  sensitive group, chosen on the run's training rows to maximise accuracy under the constraint.
- method "expgrad": ExponentiatedGradient (reduction): the run's algorithm, with its parameters,
  retrained on reweighted training rows until the constraint holds within `eps`.

Before and after are measured on the run's held-out rows, which neither method sees.
"""
from __future__ import annotations

import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from core.data import datasets
from core.analysis import fairness
from core.lake import permissions
from core import training
from core.errors import InputError
from core.lake import Lake
from core.progress import Progress, report
from core.training import (MITIGATED_THRESHOLD, GroupThresholdModel, MixtureModel, WeightedFit, classification_curves,
                           classification_metrics, code_version, group_keys, json_ready, record_run, save_artifact)

METHODS = {"threshold": "ThresholdOptimizer (post-processing)", "expgrad": "ExponentiatedGradient (reduction)"}
CONSTRAINTS = {"demographic_parity": ("selection_rate",), "equalized_odds": ("tpr", "fpr"),
               "true_positive_rate_parity": ("tpr",)}
EXPGRAD_ITERATIONS = 30


@dataclass(frozen=True)
class MitigationResult:
    run: training.Run
    before: dict
    after: dict

    def to_dict(self) -> dict:
        return {"run_id": self.run.run_id, "base_run_id": self.run.params["base_run"], "method": self.run.params["method"],
                "constraint": self.run.params["constraint"], "before": self.before, "after": self.after}


def mitigate(lake: Lake, run_id: str, *, sensitive: Sequence[str], method: str, constraint: str, actor: str,
             eps: float = 0.01, progress: Optional[Progress] = None) -> MitigationResult:
    permissions.require(lake, actor, "mitigate")
    if method not in METHODS:
        raise InputError(f"Unknown method {method!r}; choose threshold (ThresholdOptimizer) or expgrad "
                         "(ExponentiatedGradient).")
    if constraint not in CONSTRAINTS:
        raise InputError(f"Unknown constraint {constraint!r}; choose from {', '.join(CONSTRAINTS)}.")
    if not 0 < eps < 1:
        raise InputError(f"eps (the allowed constraint violation) must be between 0 and 1, not {eps}.")
    sensitive = list(dict.fromkeys(sensitive or []))
    if not sensitive:
        raise InputError("Name the sensitive column(s) to mitigate over (--sensitive COL).")
    base = training.open_run(lake, run_id)  # the base model at its own decision threshold
    base_run, model = base.run, base.model
    if base_run.task != "binary":
        raise InputError(f"Mitigation needs a binary classifier; run {run_id} is {base_run.task}.")
    if base_run.algorithm in training.MITIGATED_ALGORITHMS:
        raise InputError(f"Run {run_id} is already mitigated; mitigate its base run {base_run.params['base_run']}.")
    report(progress, 0.02, f"Reading {base_run.input_ref}")
    fit_rows, test_rows = _rows(lake, base, sensitive)
    classes, positive = base_run.classes, base_run.positive
    index = classes.index(positive)
    y_fit = (fit_rows[base_run.target].astype(str) == str(positive)).astype(int).to_numpy()
    keys = group_keys(fit_rows, sensitive)
    small = pd.Series(keys).value_counts()
    if len(small) < 2:
        raise InputError(f"{sensitive} has a single group in the training rows; there is nothing to equalize.")
    started = time.perf_counter()
    if method == "threshold":
        report(progress, 0.2, "Out-of-fold scores of the training rows, then a threshold per group (ThresholdOptimizer)")
        mitigated, details = _threshold(base_run, model, fit_rows, y_fit, keys, sensitive, constraint, index)
    else:
        mitigated, details = _expgrad(base_run, fit_rows, y_fit, keys, constraint, index, eps, progress)
    duration = time.perf_counter() - started
    report(progress, 0.9, "Measuring before and after on the held-out rows")
    inputs = base_run.feature_names + ([c for c in sensitive if c not in base_run.feature_names] if method == "threshold" else [])
    truth = test_rows[base_run.target].to_numpy(dtype=object)
    before_proba = model.predict_proba(test_rows[base_run.feature_names])
    after_proba = mitigated.predict_proba(test_rows[inputs])
    before = _measure(truth, before_proba, test_rows[sensitive], base, constraint)
    after_decision = training.TrainedRun(run=base_run, model=mitigated, threshold=MITIGATED_THRESHOLD)
    after = _measure(truth, after_proba, test_rows[sensitive], after_decision, constraint)
    metrics = json_ready(classification_metrics(truth, after_proba, classes, positive=positive,
                                                threshold=MITIGATED_THRESHOLD))
    curves = classification_curves(truth, after_proba, classes, positive=positive)
    new_id = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:10]}"
    artifact, digest = save_artifact(lake, new_id, mitigated)
    signature = list(base_run.features) + [
        {"name": c, "type": str(test_rows[c].dtype), "kind": "categorical"}
        for c in inputs if c not in base_run.feature_names]
    record = {**{k: getattr(base_run, k) for k in ("usecase", "input_kind", "input_name", "input_version",
                                                    "input_snapshot", "target", "task", "positive", "classes", "split",
                                                    "excluded")},
              "run_id": new_id, "batch_id": uuid.uuid4().hex[:12],
              "algorithm": "threshold_optimizer" if method == "threshold" else "exponentiated_gradient",
              "params": {"base_run": base_run.run_id, "base_algorithm": base_run.algorithm, "method": method,
                         "constraint": constraint, "mitigated_over": sensitive, **details},
              "features": signature, "sensitive": list(dict.fromkeys(base_run.sensitive + sensitive)),
              "warnings": list(base_run.warnings) + _warnings(method, sensitive),
              "metrics": {**metrics, "mitigation": {"before": _headline(before), "after": _headline(after)}},
              "train_rows": int(len(fit_rows)), "test_rows": int(len(test_rows)), "duration_seconds": round(duration, 3),
              "code_version": code_version(), "artifact": artifact, "artifact_sha256": digest, "created_by": actor}
    try:
        lake.write(lambda cur: record_run(cur, record, curves, test_rows["__row_id"].to_numpy()), actor=actor,
                   action="mitigate", message=f"mitigate {base_run.run_id} ({method}, {constraint})", tag=f"run:{new_id}")
    except BaseException:
        (lake.config.folder / artifact).unlink(missing_ok=True)
        raise
    report(progress, 1.0, f"Mitigated run {new_id} saved")
    return MitigationResult(run=training.get(lake, new_id), before=before, after=after)


def _rows(lake: Lake, trained: training.TrainedRun, sensitive: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's training rows (its input minus its held-out rows) and its held-out rows, with a known target."""

    run = trained.run
    version, _ = training.evaluation_source(lake, run, None)
    missing = [c for c in sensitive if c not in version.column_names]
    if missing:
        raise InputError(f"{version.ref} has no column(s) {missing}; it has {', '.join(version.column_names[:30])}.")
    frame = datasets.read_frame(lake, version, with_row_ids=True)
    frame = frame[frame[run.target].notna()]
    is_test = frame["__row_id"].isin(set(trained.held_out_ids(lake).tolist())).to_numpy()
    return frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True)


class _GivenScore(ClassifierMixin, BaseEstimator):
    """ThresholdOptimizer's view of the scores: the first column of X already is the positive-class score."""

    def __init__(self):
        self.fitted_ = True

    def fit(self, X, y, **kwargs):
        return self

    def predict_proba(self, X):
        positive = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1 - positive, positive])


def _out_of_fold_scores(run: training.Run, fit_rows: pd.DataFrame, y: np.ndarray, folds: int = 3) -> np.ndarray:
    """Positive-class scores of the training rows from models that did not see them (the run's own
    model is over-confident on its training rows, so thresholds chosen there would not hold)."""
    from sklearn.model_selection import StratifiedKFold

    scores = np.empty(len(fit_rows))
    X = fit_rows[run.feature_names]
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=run.split.get("seed", 42)).split(X, y):
        model = training.build_pipeline(run.algorithm, "binary", *_kinds(run), seed=run.split.get("seed", 42),
                                        params=_params(run))
        model.fit(X.iloc[train], y[train])
        scores[held] = model.predict_proba(X.iloc[held])[:, 1]
    return scores


def _threshold(run: training.Run, model, fit_rows: pd.DataFrame, y: np.ndarray, keys: np.ndarray, sensitive: list[str],
               constraint: str, index: int) -> tuple[GroupThresholdModel, dict]:
    """fairlearn's optimum under the constraint, then one threshold per group with the rates (the
    constrained ones) that fairlearn's randomized rule has on the out-of-fold scores."""
    from fairlearn.postprocessing import ThresholdOptimizer

    scores = _out_of_fold_scores(run, fit_rows, y)
    optimizer = ThresholdOptimizer(estimator=_GivenScore(), constraints=constraint, objective="accuracy_score",
                                   prefit=True, predict_method="predict_proba")
    optimizer.fit(scores[:, None], y, sensitive_features=keys)
    chance = optimizer._pmf_predict(scores[:, None], sensitive_features=keys)[:, 1]
    watched = CONSTRAINTS[constraint]
    thresholds, rates = {}, {}
    for key in pd.unique(keys):
        mask = keys == key
        target = _rates(chance[mask], y[mask])
        thresholds[str(key)], achieved = _matching_threshold(scores[mask], y[mask], {m: target[m] for m in watched})
        rates[str(key)] = {"randomized": target, "deterministic": achieved}
    mitigated = GroupThresholdModel(base=model, sensitive=sensitive, thresholds=thresholds, positive_index=index)
    return mitigated, {"thresholds": thresholds, "rates_on_training_rows": rates}


def _rates(decided: np.ndarray, y: np.ndarray) -> dict:
    positives, negatives = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    return {"selection_rate": float(decided.mean()), "tpr": float((decided * y).sum() / positives),
            "fpr": float((decided * (1 - y)).sum() / negatives)}


def _matching_threshold(scores: np.ndarray, y: np.ndarray, target: dict) -> tuple[float, dict]:
    """The threshold (between two neighbouring scores) whose rates are closest to the target rates."""
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], y[order]
    n, positives, negatives = len(scores), max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    chosen = np.arange(n + 1)  # the top k rows are predicted positive
    rates = {"selection_rate": chosen / n, "tpr": np.concatenate([[0], np.cumsum(hits)]) / positives,
             "fpr": np.concatenate([[0], np.cumsum(1 - hits)]) / negatives}
    distance = sum(np.abs(rates[m] - v) for m, v in target.items())
    distinct = np.concatenate([ranked[:-1] != ranked[1:], [True]])  # a cut can only fall between different scores
    distance[1:][~distinct] = np.inf
    k = int(np.argmin(distance))
    upper = ranked[k - 1] if k > 0 else 1.0
    lower = ranked[k] if k < n else 0.0
    threshold = float(np.clip((upper + lower) / 2, 1e-9, 1 - 1e-9))
    return threshold, {m: float(rates[m][k]) for m in rates}


def _kinds(run: training.Run) -> tuple[list[str], list[str]]:
    return ([f["name"] for f in run.features if f["kind"] == "numeric"],
            [f["name"] for f in run.features if f["kind"] == "categorical"])


def _params(run: training.Run) -> dict:
    params = dict(run.params)
    if "best_iteration" in params:
        params["n_estimators"] = params["best_iteration"]  # the rounds early stopping kept; no validation fold here
    return params


def _expgrad(run: training.Run, fit_rows: pd.DataFrame, y: np.ndarray, keys: np.ndarray, constraint: str, index: int,
             eps: float, progress: Optional[Progress]) -> tuple[MixtureModel, dict]:
    from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient, TruePositiveRateParity

    moment = {"demographic_parity": DemographicParity, "equalized_odds": EqualizedOdds,
              "true_positive_rate_parity": TruePositiveRateParity}[constraint]()
    pipeline = training.build_pipeline(run.algorithm, "binary", *_kinds(run), seed=run.split.get("seed", 42),
                                       params=_params(run))
    fits = [0]

    def counted() -> None:
        fits[0] += 1
        report(progress, 0.2 + 0.65 * min(1.0, fits[0] / EXPGRAD_ITERATIONS),
               f"ExponentiatedGradient: {fits[0]} model(s) trained on reweighted rows")

    reduction = ExponentiatedGradient(WeightedFit(pipeline=pipeline, on_fit=counted), constraints=moment, eps=eps,
                                      max_iter=EXPGRAD_ITERATIONS)
    report(progress, 0.2, "ExponentiatedGradient: training on reweighted rows")
    with warnings.catch_warnings():  # fairlearn 0.15 sets Series values with .at on new keys: deprecated in pandas 3
        warnings.filterwarnings("ignore", message="Setting a value on a Series via .at")
        reduction.fit(fit_rows[run.feature_names], y, sensitive_features=keys)
    weights = reduction.weights_
    kept = [(reduction.predictors_[i].pipeline_, float(w)) for i, w in weights.items() if w > 1e-9]
    mitigated = MixtureModel(predictors=[p for p, _ in kept], weights=[w for _, w in kept], positive_index=index)
    return mitigated, {"models_trained": fits[0], "mixture_weights": [w for _, w in kept], "eps": eps}


def _measure(truth: np.ndarray, proba: np.ndarray, sensitive: pd.DataFrame, decision: training.TrainedRun,
             constraint: str) -> dict:
    """Accuracy and the group metrics that the constraint equalizes, at the model's decision (the base run's
    threshold before, the mitigated model's own after)."""
    run = decision.run
    y_true = (pd.Series(truth).astype(str) == str(run.positive)).to_numpy()
    score = decision.positive_score(proba)
    report = fairness.assess(y_true, decision.decide(score), sensitive.reset_index(drop=True), score=score,
                             positive=run.positive, n_boot=0)
    watched = CONSTRAINTS[constraint]
    disparity = max(report.disparities[m]["difference"] or 0.0 for m in watched)
    return {"accuracy": report.overall["accuracy"], "roc_auc": report.overall.get("roc_auc"),
            "selection_rate": report.overall["selection_rate"], "disparity": disparity, "disparity_metrics": list(watched),
            "differences": {m: report.disparities[m]["difference"] for m in fairness.METRICS},
            "groups": [{k: g[k] for k in ("group", "count", *fairness.METRICS)} for g in report.groups],
            "summary": report.summary}


def _headline(measured: dict) -> dict:
    return {k: measured[k] for k in ("accuracy", "roc_auc", "selection_rate", "disparity")}


def _warnings(method: str, sensitive: list[str]) -> list[str]:
    if method == "threshold":
        return [f"This model reads {', '.join(sensitive)} at prediction time to choose each group's threshold; "
                "check that using it in decisions is lawful where the model will be used."]
    return []
