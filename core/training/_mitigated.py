"""Fairness-mitigated models, stored like any other run's model: they take the raw DataFrame and
answer `predict_proba` in the run's class positions, so reviews, fairness and scoring use them
unchanged. Both are plain data (fitted Pipelines, numbers, strings), so skops stores them
without pickle.

- GroupThresholdModel: fairlearn's ThresholdOptimizer solution made deterministic: one threshold
  per sensitive group over the base model's positive-class score; it needs the sensitive
  column(s) at prediction time.
- MixtureModel: fairlearn's ExponentiatedGradient solution, a weighted mixture of models retrained
  with reweighted rows; it does not need the sensitive columns to predict.

Both are randomized classifiers in fairlearn; here the same row always gets the same answer.
GroupThresholdModel keeps, per group, the rates fairlearn's randomized rule has (see
core.mitigation); MixtureModel's `predict_proba` is the probability that fairlearn's mixture
would predict the positive class, and its decision (at 0.5) is the weighted vote.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone

MISSING = "(missing)"
# Both models put the decision at 0.5 (per group, or the weighted vote): their runs record it and it is
# the only threshold their scores are meant for.
MITIGATED_THRESHOLD = 0.5


def group_keys(X: pd.DataFrame, sensitive: list[str]) -> np.ndarray:
    """One text key per row for the combination of its sensitive values (missing as '(missing)')."""
    parts = X[sensitive].astype("object").where(X[sensitive].notna(), MISSING).astype(str)
    return parts.agg(" | ".join, axis=1).to_numpy(dtype=object) if len(sensitive) > 1 else parts.iloc[:, 0].to_numpy(dtype=object)


class GroupThresholdModel(ClassifierMixin, BaseEstimator):
    """Per-group thresholds over a base model's positive-class score.

    The score is shifted in log-odds so that each group's threshold lands at 0.5: the decision at
    0.5 is the group's threshold decision and the score keeps its order within a group. A group
    never seen when fitting keeps the base model's own score."""

    def __init__(self, base: Any = None, sensitive: Optional[list] = None, thresholds: Optional[dict] = None,
                 positive_index: int = 1, n_classes: int = 2):
        self.base = base
        self.sensitive = sensitive
        self.thresholds = thresholds
        self.positive_index = positive_index
        self.n_classes = n_classes
        self.classes_ = np.arange(n_classes)

    def fit(self, X: Any = None, y: Any = None) -> "GroupThresholdModel":
        return self  # built from fitted parts; fit exists for scikit-learn's checks

    def positive_probability(self, X: pd.DataFrame) -> np.ndarray:
        score = np.clip(self.base.predict_proba(X)[:, self.positive_index], 1e-12, 1 - 1e-12)
        keys = group_keys(X, self.sensitive)
        shift = np.array([_logit(self.thresholds.get(k, 0.5)) for k in keys]) if len(keys) else np.zeros(0)
        return 1.0 / (1.0 + np.exp(-(_logit(score) - shift)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return _two_columns(self.positive_probability(X), self.positive_index)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


class MixtureModel(ClassifierMixin, BaseEstimator):
    """A weighted mixture of models that each predict the positive class (1) or not (0)."""

    def __init__(self, predictors: Optional[list] = None, weights: Optional[list] = None, positive_index: int = 1,
                 n_classes: int = 2):
        self.predictors = predictors
        self.weights = weights
        self.positive_index = positive_index
        self.n_classes = n_classes
        self.classes_ = np.arange(n_classes)

    def fit(self, X: Any = None, y: Any = None) -> "MixtureModel":
        return self

    def positive_probability(self, X: pd.DataFrame) -> np.ndarray:
        total = np.zeros(len(X))
        for predictor, weight in zip(self.predictors, self.weights):
            total += weight * (np.asarray(predictor.predict(X)) == 1)
        return np.clip(total / sum(self.weights), 0.0, 1.0)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return _two_columns(self.positive_probability(X), self.positive_index)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


class WeightedFit(ClassifierMixin, BaseEstimator):
    """What ExponentiatedGradient fits at each step: a copy of the run's Pipeline trained on the
    reweighted rows (the weights go to the model step), reporting each fit to `on_fit`."""

    def __init__(self, pipeline: Any = None, on_fit: Optional[Callable[[], None]] = None):
        self.pipeline = pipeline
        self.on_fit = on_fit

    def fit(self, X: pd.DataFrame, y: Any, sample_weight: Optional[np.ndarray] = None) -> "WeightedFit":
        self.pipeline_ = clone(self.pipeline)
        self.pipeline_.fit(X, y, model__sample_weight=sample_weight)
        self.classes_ = np.unique(y)
        if self.on_fit:
            self.on_fit()
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict(X)


def _logit(p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _two_columns(positive: np.ndarray, positive_index: int) -> np.ndarray:
    out = np.empty((len(positive), 2))
    out[:, positive_index], out[:, 1 - positive_index] = positive, 1 - positive
    return out
