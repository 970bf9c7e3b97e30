"""The model: one scikit-learn Pipeline that takes the raw DataFrame (selection, type cleaning,
imputation and encoding inside), so review, scoring and the endpoint all call one object.

Linear models get median imputation, scaling and one-hot encoding; tree models get ordinal
codes (LightGBM's own pandas-category handling breaks dice-ml, see DESIGN.md) and keep
missing numbers as NaN where the algorithm handles them natively.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier,
                              RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from core import compute

Task = Literal["binary", "multiclass", "regression", "timeseries"]
ALGORITHMS: dict[str, str] = {
    "logistic": "Logistic regression (ridge for regression)",
    "random_forest": "Random forest",
    "hist_gb": "Histogram gradient boosting",
    "lightgbm": "LightGBM (early stopping on a validation fold)",
}


class FrameCleaner(BaseEstimator, TransformerMixin):
    """First step of every model: select the model's columns from a raw DataFrame and give them
    stable types (numbers as float, text as object with NaN for missing), whatever extra columns
    or pandas string types the input has. A missing column is an error that names it."""

    def __init__(self, numeric: list | None = None, categorical: list | None = None):
        self.numeric = numeric
        self.categorical = categorical

    def fit(self, X: pd.DataFrame, y: Any = None) -> "FrameCleaner":
        self.feature_names_in_ = np.asarray(list(self.numeric or []) + list(self.categorical or []), dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"input is missing column(s) {missing}")
        out = {}
        for column in self.numeric or []:
            out[column] = pd.to_numeric(X[column], errors="coerce").astype("float64")
        for column in self.categorical or []:
            values = X[column]
            text = values.astype(str).to_numpy(dtype=object)  # vectorized; a per-value map costs ~1 s per 1M rows
            text[values.isna().to_numpy()] = np.nan
            out[column] = text
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.feature_names_in_


def build_pipeline(algorithm: str, task: Task, numeric: list[str], categorical: list[str], *, seed: int,
                   params: dict | None = None) -> Pipeline:
    if algorithm not in ALGORITHMS:
        raise ValueError(algorithm)
    linear = algorithm == "logistic"
    steps = []
    if numeric:
        numeric_steps = [("impute", SimpleImputer(strategy="median"))]
        if linear:
            numeric_steps.append(("scale", StandardScaler()))
        steps.append(("numeric", Pipeline(numeric_steps) if (linear or algorithm == "random_forest")
                      else "passthrough", numeric))
    if categorical:
        if linear:
            encoder = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
                                ("onehot", OneHotEncoder(handle_unknown="ignore", min_frequency=5,
                                                         sparse_output=False))])
        else:
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                     encoded_missing_value=-2)
        steps.append(("categorical", encoder, categorical))
    encode = ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("clean", FrameCleaner(numeric=numeric, categorical=categorical)), ("encode", encode),
                     ("model", _estimator(algorithm, task, seed, params or {}))])


def _estimator(algorithm: str, task: Task, seed: int, params: dict) -> Any:
    classify = task in ("binary", "multiclass")
    if algorithm == "logistic":
        return LogisticRegression(max_iter=2000, C=params.get("C", 1.0)) if classify else Ridge(alpha=params.get("alpha", 1.0))
    if algorithm == "random_forest":
        kind = RandomForestClassifier if classify else RandomForestRegressor
        # Depth-bounded: unbounded forests are huge on disk and exact TreeSHAP on them costs ~0.2 s a row.
        return kind(n_estimators=params.get("n_estimators", 100), min_samples_leaf=params.get("min_samples_leaf", 5),
                    max_depth=params.get("max_depth", 12),
                    max_features=params.get("max_features", "sqrt" if classify else 1.0), n_jobs=compute.threads(), random_state=seed)
    if algorithm == "hist_gb":
        kind = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return kind(learning_rate=params.get("learning_rate", 0.1), max_leaf_nodes=params.get("max_leaf_nodes", 31),
                    max_iter=params.get("max_iter", 300), early_stopping=True, validation_fraction=0.1,
                    random_state=seed)
    from lightgbm import LGBMClassifier, LGBMRegressor

    kind = LGBMClassifier if classify else LGBMRegressor
    return kind(n_estimators=params.get("n_estimators", 2000), learning_rate=params.get("learning_rate", 0.05),
                num_leaves=params.get("num_leaves", 31), min_child_samples=params.get("min_child_samples", 20),
                subsample=params.get("subsample", 1.0), subsample_freq=1 if params.get("subsample", 1.0) < 1 else 0,
                colsample_bytree=params.get("colsample_bytree", 1.0), random_state=seed, verbose=-1, n_jobs=compute.threads())


def fit_pipeline(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, *, validation: tuple | None = None) -> dict:
    """Fit; LightGBM stops early on the validation fold (transformed by the fitted encoder).
    Returns what fitting decided (e.g. the number of boosting rounds kept)."""
    with compute.limit():  # LightGBM's n_jobs and every OpenMP/BLAS pool follow one setting (no thrash)
        return _fit(pipeline, X, y, validation)


def _fit(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, validation: tuple | None) -> dict:
    model = pipeline.named_steps["model"]
    if validation is not None and type(model).__name__.startswith("LGBM"):
        from lightgbm import early_stopping

        prepare = Pipeline(pipeline.steps[:-1]).fit(X, y)
        X_valid, y_valid = validation
        model.fit(prepare.transform(X), y, eval_X=(prepare.transform(X_valid),), eval_y=(y_valid,),
                  callbacks=[early_stopping(50, verbose=False)])
        return {"best_iteration": int(model.best_iteration_ or model.n_estimators)}
    pipeline.fit(X, y)
    return {}
