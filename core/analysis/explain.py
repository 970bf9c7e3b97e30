"""Explanations with real SHAP values of the model itself (never a surrogate), mapped back from
encoded columns to the raw features a person knows, plus partial dependence and ICE curves.

LightGBM: its own TreeSHAP (`pred_contrib`), exact and multi-threaded. Other trees: shap's
TreeExplainer. Linear models: shap's LinearExplainer with a background sample. Exact TreeSHAP
costs time per row (about 1 ms for a 300-tree LightGBM, up to 0.2 s for a random forest, here),
so explanations use a seeded sample above `explain_rows` (100,000 by default; 1,000 for forests)
and the result says how many rows were explained. Fairness-mitigated models (per-group
thresholds, mixtures) are explained by permutation sampling of their own output on 2,000 rows:
still the model, never a surrogate. Error analysis always uses every row.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd
from sklearn.inspection import partial_dependence
from sklearn.pipeline import Pipeline

from core import compute
from core.progress import Progress, report

FOREST_SAMPLE = 1_000
EXPLAIN_ROWS = 100_000  # default cap: exact TreeSHAP costs ~1 ms a row for a 300-tree LightGBM here
BATCH = 10_000  # rows per chunk, here and on a cluster alike
AGNOSTIC_SAMPLE = 2_000  # rows explained for models that are not one Pipeline (mitigated ones)
DRAWS = 32  # permutation draws per row for those


def encoded_groups(pipeline: Pipeline) -> list[str]:
    """For each column the encoder outputs, the raw feature it came from."""
    encoder = pipeline.named_steps["encode"]
    groups: list[str] = []
    for name, transformer, columns in encoder.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        onehot = getattr(transformer, "named_steps", {}).get("onehot") if hasattr(transformer, "named_steps") else None
        if onehot is not None:
            for column, width in zip(columns, onehot._n_features_outs):  # one block of columns per raw feature
                groups += [column] * width
        else:
            groups += list(columns)
    return groups


def shap_matrix(pipeline: Pipeline, X: pd.DataFrame, *, task: str, classes: Optional[list], positive: Any,
                seed: int = 0, explain_rows: int = EXPLAIN_ROWS, progress: Optional[Progress] = None,
                only_first: bool = False, scheduler: Optional[str] = None) -> tuple[pd.DataFrame, float, np.ndarray]:
    """SHAP values per raw feature (rows of X in order, or of the sample for forests), the base value,
    and the positions of the explained rows. Classification: toward the positive class (binary, in
    log-odds for boosted trees and linear models) or toward each row's predicted class (multiclass).
    With `only_first`, only X's first row is explained (the others are the background). With a Dask
    `scheduler` (core.compute), chunks of rows are explained on its workers, with the same values, and
    the default cap (EXPLAIN_ROWS) is lifted: every row is explained."""
    if not hasattr(pipeline, "named_steps"):
        return _permutation_shap(pipeline, X, task=task, classes=classes, positive=positive, seed=seed,
                                 explain_rows=explain_rows, progress=progress, only_first=only_first)
    model = pipeline.named_steps["model"]
    prepare = Pipeline(pipeline.steps[:-1])
    kind = type(model).__name__
    positions = np.arange(len(X))
    if compute.scheduler_address(scheduler) and explain_rows == EXPLAIN_ROWS:
        explain_rows = len(X)  # the default cap is for one machine: with a cluster, every row
    limit = min(explain_rows, FOREST_SAMPLE) if kind.startswith("RandomForest") else explain_rows
    if only_first:
        positions = np.arange(1)
    elif len(X) > limit:
        positions = np.sort(np.random.default_rng(seed).choice(len(X), limit, replace=False))
    groups = encoded_groups(pipeline)
    background = None
    if kind in ("LogisticRegression", "Ridge"):
        background = np.asarray(prepare.transform(X.sample(min(1000, len(X)), random_state=seed)), dtype=float)
    # The same chunks here and on a cluster (values are per row; a multiclass base is the mean over all rows).
    parts = compute.map_row_chunks(_shap_chunk, X.iloc[positions], args=(pipeline, task, classes, positive, background),
                                   chunk_rows=BATCH, scheduler=scheduler, label="rows explained (SHAP)",
                                   progress=lambda f, m: report(progress, f, f"SHAP values: {m}"))
    matrix = np.vstack([values for values, _ in parts])
    bases = np.concatenate([np.broadcast_to(np.asarray(b, dtype=float), (len(v),)) for v, b in parts])
    base = float(bases.mean()) if task == "multiclass" else float(bases[0])
    frame = pd.DataFrame(matrix, columns=groups).T.groupby(level=0, sort=False).sum().T  # encoded -> raw features
    return frame[list(dict.fromkeys(groups))], float(base), positions


def _permutation_shap(model, X: pd.DataFrame, *, task: str, classes: Optional[list], positive: Any, seed: int,
                      explain_rows: int, progress: Optional[Progress],
                      only_first: bool = False) -> tuple[pd.DataFrame, float, np.ndarray]:
    """Models that are not one Pipeline (fairness-mitigated ones): Shapley values of the model's own
    positive-class probability by permutation sampling (interventional, like shap's permutation
    explainer), batched across rows so each draw is one predict call. Each of DRAWS draws pairs a
    random feature order (half of them the reverse of another, antithetic) with a random background
    row; the values add up exactly to f(row) minus the mean over the drawn background rows."""
    if task != "binary":
        raise ValueError("model-agnostic explanations are for binary models")
    rng = np.random.default_rng(seed)
    positions = np.arange(len(X))
    limit = min(explain_rows, AGNOSTIC_SAMPLE)
    if only_first:
        positions = np.arange(1)
    elif len(X) > limit:
        positions = np.sort(rng.choice(len(X), limit, replace=False))
    columns, index = list(X.columns), classes.index(positive)
    rows, n_features = X.iloc[positions].reset_index(drop=True), len(X.columns)
    values, base = np.zeros((len(rows), n_features)), np.zeros(len(rows))
    steps = np.arange(n_features + 1)
    for draw in range(DRAWS):
        if draw % 2 == 0:
            order = np.argsort(rng.random((len(rows), n_features)), axis=1)
            background = X.iloc[rng.integers(0, len(X), len(rows))].reset_index(drop=True)
        else:
            order = order[:, ::-1]  # antithetic: the same background row, the reverse order
        rank = np.argsort(order, axis=1)  # rank[r, j]: where feature j comes in row r's order
        take_row = rank[:, None, :] < steps[None, :, None]  # (rows, steps, features): feature already switched in
        chained = {}
        for j, column in enumerate(columns):
            own, other = rows[column].to_numpy(), background[column].to_numpy()
            chained[column] = np.where(take_row[:, :, j], own[:, None], other[:, None]).reshape(-1)
        output = model.predict_proba(pd.DataFrame(chained))[:, index].reshape(len(rows), n_features + 1)
        gains = np.diff(output, axis=1)  # gains[r, k]: what the k-th feature in row r's order added
        values += np.take_along_axis(gains, rank, axis=1)
        base += output[:, 0]
        report(progress, (draw + 1) / DRAWS, f"SHAP values (permutation sampling): draw {draw + 1} of {DRAWS}")
    return pd.DataFrame(values / DRAWS, columns=columns), float((base / DRAWS).mean()), positions


def _shap_chunk(rows: pd.DataFrame, start: int, pipeline: Pipeline, task: str, classes: Optional[list], positive: Any,
                background: Optional[np.ndarray]) -> tuple[np.ndarray, Any]:
    """One chunk of rows (here or on a Dask worker): encoded SHAP values and the base (per row for multiclass)."""
    model, prepare = pipeline.named_steps["model"], Pipeline(pipeline.steps[:-1])
    encoded = np.asarray(prepare.transform(rows), dtype=float)
    return _raw_shap(model, type(model).__name__, encoded, task, classes, positive, background)


def _raw_shap(model, kind: str, encoded: np.ndarray, task: str, classes: Optional[list], positive: Any,
              background: Optional[np.ndarray]) -> tuple[np.ndarray, Any]:
    n_features = encoded.shape[1]
    multiclass = task == "multiclass"
    if kind.startswith("LGBM"):
        contributions = model.booster_.predict(encoded, pred_contrib=True, num_threads=compute.threads())
        if multiclass:
            k = len(classes)
            blocks = contributions.reshape(len(encoded), k, n_features + 1)
            chosen = model.predict_proba(encoded, num_threads=compute.threads()).argmax(axis=1)
            picked = blocks[np.arange(len(encoded)), chosen]
            return picked[:, :-1], picked[:, -1]
        values, base = contributions[:, :-1], float(contributions[0, -1])
    else:
        import shap

        if kind in ("LogisticRegression", "Ridge"):
            explainer = shap.LinearExplainer(model, shap.maskers.Independent(background))
        else:
            explainer = shap.TreeExplainer(model)
        raw = np.asarray(explainer.shap_values(encoded))
        expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
        if raw.ndim == 3:  # (rows, features, classes)
            if multiclass:
                chosen = model.predict_proba(encoded).argmax(axis=1)
                return raw[np.arange(len(encoded)), :, chosen], expected[chosen]
            index = classes.index(positive) if classes else 1
            return raw[:, :, index], float(expected[index])
        values, base = raw, float(expected[-1])
        if multiclass:
            return values, base
    if task == "binary" and classes and classes.index(positive) == 0:
        return -values, -base  # the model's output is for class position 1; turn it toward the positive class
    return values, base


GRID_POINTS = 20


def pd_grid(values: pd.Series, *, categorical: bool, points: int = GRID_POINTS) -> list:
    """Where a feature's curve is evaluated: its values when it has at most `points` of them (counts,
    flags, categories: the most frequent ones), otherwise `points` quantiles from the 5th to the 95th
    percentile of the present values. Computed here because scikit-learn's own grid refuses integer
    columns and turns a column with missing values into an all-NaN grid."""
    present = values.dropna()
    if categorical:
        return sorted(str(v) for v in present.astype(str).value_counts().index[:points])
    numbers = present.astype(float)
    unique = np.unique(numbers)
    if len(unique) <= points:
        return [float(v) for v in unique]
    quantiles = np.quantile(numbers, np.linspace(0.05, 0.95, points))
    if np.all(numbers == np.round(numbers)):  # counts and months stay whole numbers
        quantiles = np.round(quantiles)
    return [float(v) for v in np.unique(quantiles)]


def partial_dependence_curves(pipeline: Pipeline, X: pd.DataFrame, features: list[str], *, categorical: list[str],
                              task: str, classes: Optional[list], positive: Any, seed: int = 0,
                              sample: int = 1_000, ice_lines: int = 40) -> list[dict]:
    """Partial dependence (average) and ICE (individual) curves of each feature, on a row sample, by
    scikit-learn's `partial_dependence` over our own grid (`pd_grid`). Numbers are passed as floats:
    every model casts them to float first anyway (FrameCleaner), so the curve is the model's own.
    A feature without a curve gets an `error` sentence a person can read, never the library's text."""
    rows = X.sample(min(sample, len(X)), random_state=seed) if len(X) > sample else X
    rows = rows.copy()
    curves = []
    target = classes.index(positive) if task == "binary" else None
    for feature in features:
        is_categorical = feature in categorical
        values = rows[feature]
        rows[feature] = (values.astype(object).astype(str).where(values.notna(), np.nan) if is_categorical
                         else pd.to_numeric(values, errors="coerce").astype(float))
        grid = pd_grid(rows[feature], categorical=is_categorical)
        if len(grid) < 2:
            curves.append({"feature": feature, "error": f"{feature} has {'no value' if not grid else 'one value'} "
                           f"in the rows sampled, so there is no curve to draw."})
            continue
        try:
            result = partial_dependence(pipeline, rows, [feature], kind="both",
                                        custom_values={feature: np.asarray(grid, dtype=object if is_categorical else float)},
                                        categorical_features=[feature] if is_categorical else None,
                                        response_method="auto" if task not in ("binary", "multiclass") else "predict_proba")
        except (ValueError, TypeError):  # the library's reason is for developers; say what it means
            curves.append({"feature": feature, "error": f"The partial dependence of {feature} could not be computed "
                           "for this model (scikit-learn cannot vary this column on its own)."})
            continue
        average, individual = result["average"], result["individual"]
        output = 0 if average.shape[0] == 1 else (target if target is not None else 0)
        if task == "binary" and average.shape[0] == 1 and target == 0:
            average, individual = 1 - average, 1 - individual  # sklearn reports class position 1
        chosen = np.random.default_rng(seed).choice(individual.shape[1], min(ice_lines, individual.shape[1]), replace=False)
        curves.append({"feature": feature, "categorical": is_categorical,
                       "grid": [_plain(v) for v in result["grid_values"][0]],
                       "average": [float(v) for v in average[output]],
                       "ice": [[float(v) for v in individual[output][i]] for i in chosen]})
    return curves


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
