"""Counterfactuals: the smallest changes to a row's features that change the model's decision.

The search follows dice-ml's "random" method (same candidate sampling, same validity rule, same
features-to-vary and permitted ranges, then a post-hoc pass that moves each changed feature back
toward the original while the decision holds), but batched across rows: every step is one
predict call over all candidates of many rows, where dice-ml loops over rows in Python. Missing
values are kept (the model handles them); dice-ml refuses them. The kdtree and genetic methods
run through dice-ml itself, one row at a time.

Semantics, per row (as in dice-ml's random method):
- S candidates start as copies of the row; at step n (n = 1, 2, ...), each candidate replaces one
  randomly chosen feature-to-vary with a random value (numbers uniform in the permitted range at
  the feature's decimal precision, categories uniform over those seen in the training rows).
- A candidate is valid when the model gives the desired class (binary: the run's decision at its
  threshold, core.training.TrainedRun; multiclass: the most probable class) or a prediction in the
  desired range (regression). The search stops at step 2 or later once COUNT distinct valid candidates exist.
- Among the valid candidates, Assay keeps those with the fewest changed features and the
  smallest range-normalized distance, one per set of changed features first (diversity), then
  the post-hoc sparsity pass (binary search toward the original, per changed number; revert
  a changed category when the decision holds without it).
"""
from __future__ import annotations

import time
from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd

from core.data import cohorts, datasets
from core import training
from core.errors import InputError
from core.lake import Lake
from core.progress import Progress, report
from core.analysis import _counterfactual_search as _search
from core.analysis._counterfactual_search import SAMPLE_SIZE, Goal, Space

METHODS = ("random", "kdtree", "genetic")
IMMUTABLE_HINTS = ("age", "birth", "sex", "gender", "race", "ethnic", "nationality", "religion", "marital")
MAX_ROWS = 10_000


def space_from(training_rows: pd.DataFrame, features: Sequence[str], numeric: Sequence[str],
               vary: Optional[Sequence[str]] = None, permitted: Optional[dict] = None) -> Space:
    permitted = dict(permitted or {})
    vary = list(features if vary is None else vary)
    unknown = [c for c in list(vary) + list(permitted) if c not in features]
    if unknown:
        raise InputError(f"{unknown} are not features of this model; it uses {', '.join(features)}.")
    if not vary:
        raise InputError("Allow at least one feature to vary.")
    ranges, precision, categories = {}, {}, {}
    for column in features:
        values = training_rows[column]
        if column in numeric:
            known = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
            low, high = (float(known.min()), float(known.max())) if len(known) else (0.0, 0.0)
            if column in permitted:
                low, high = _range(column, permitted[column])
            ranges[column], precision[column] = (low, high), _decimals(known)
        else:
            seen = [v for v in pd.unique(values.dropna().astype(str))]
            if column in permitted:
                allowed = [str(v) for v in permitted[column]]
                missing = [v for v in allowed if v not in seen]
                if missing:
                    raise InputError(f"{column} never takes the value(s) {missing} in the training rows.")
                seen = allowed
            categories[column] = sorted(seen)
    return Space(features=list(features), numeric=list(numeric), vary=vary, ranges=ranges, precision=precision,
                 categories=categories)


def _range(column: str, value: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"The permitted range of {column} must be two numbers [low, high], not {value!r}.") from None
    if low > high:
        raise InputError(f"The permitted range of {column} runs from {low} to {high}: low must not exceed high.")
    return low, high


def _decimals(values: np.ndarray) -> int:
    sample = values[:10_000]
    for decimals in range(0, 5):
        if np.allclose(sample, np.round(sample, decimals)):
            return decimals
    return 4


def generate(model, rows: pd.DataFrame, space: Space, goal_for, *, count: int = 5, sample_size: int = SAMPLE_SIZE,
             seed: int = 0, sparsity: bool = True, scheduler: Optional[str] = None,
             progress: Optional[Progress] = None) -> list[list[dict]]:
    """Counterfactuals for each row of `rows` (model features only). `goal_for(original_prediction)`
    gives each row's Goal. Returns per row: the counterfactuals (feature dicts). With a Dask scheduler
    the rows are searched in chunks on its workers, with the same results."""
    if not 1 <= count <= 50:
        raise InputError(f"Ask for 1 to 50 counterfactuals per row, not {count}.")
    goals = [goal_for(i) for i in range(len(rows))]
    distinct = list(dict.fromkeys(goals))
    position = {goal: g for g, goal in enumerate(distinct)}
    found = _search.generate(model, rows, space, distinct, np.array([position[g] for g in goals], dtype=int),
                             count=count, sample_size=sample_size, seed=seed, sparsity=sparsity, scheduler=scheduler,
                             progress=progress)
    report(progress, 1.0, "Counterfactuals ready")
    return found


def _changed(original: dict, candidate: dict, features: list[str]) -> list[str]:
    return [c for c in features if not _same(original[c], candidate[c])]


def _changed_matrix(originals: pd.DataFrame, found: pd.DataFrame, features: list[str]) -> np.ndarray:
    """(counterfactual, feature): whether it differs from its row's original, as `_changed` decides one by one."""
    out = np.zeros((len(found), len(features)), dtype=bool)
    for j, column in enumerate(features):
        a, b = originals[column], found[column]
        gone_a, gone_b = a.isna().to_numpy(), b.isna().to_numpy()
        numbers_a, numbers_b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
        if (numbers_a.notna().to_numpy() | gone_a).all() and (numbers_b.notna().to_numpy() | gone_b).all():
            same = np.abs(numbers_a.to_numpy(dtype=float) - numbers_b.to_numpy(dtype=float)) < 1e-9
        else:
            same = a.astype(str).to_numpy() == b.astype(str).to_numpy()
        out[:, j] = np.where(gone_a | gone_b, ~(gone_a & gone_b), ~same)
    return out


def _same(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return abs(float(a) - float(b)) < 1e-9
    return str(a) == str(b)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _distance(original: dict, candidate: dict, space: Space, changed: list[str]) -> float:
    total = 0.0
    for column in changed:
        if column in space.ranges:
            low, high = space.ranges[column]
            a, b = original[column], candidate[column]
            total += 1.0 if _missing(a) else abs(float(b) - float(a)) / max(high - low, 1e-12)
        else:
            total += 1.0
    return total


def default_vary(run: training.Run) -> list[str]:
    """Every feature except those that look immutable or sensitive (age, sex, race, ...); the user can change it."""
    return [f for f in run.feature_names if f not in run.sensitive
            and not any(hint in f.lower() for hint in IMMUTABLE_HINTS)]


def for_run(lake: Lake, run: Union[str, training.TrainedRun], *, row_ids: Optional[Sequence[int]] = None, cohort: Optional[str] = None,
            rows: int = 20, count: int = 5, vary: Optional[Sequence[str]] = None, permitted: Optional[dict] = None,
            desired_class: Any = "opposite", desired_range: Optional[Sequence[float]] = None, method: str = "random",
            sample_size: int = SAMPLE_SIZE, seed: int = 0, scheduler: Optional[str] = None,
            progress: Optional[Progress] = None) -> dict:
    """Counterfactuals for rows of a run's input picked by lake row id, by a saved cohort, or (neither)
    the first `rows` of the run's held-out rows; decisions at the run's threshold."""
    if method not in METHODS:
        raise InputError(f"Unknown method {method!r}; choose from {', '.join(METHODS)}.")
    if not isinstance(rows, int) or not 1 <= rows <= MAX_ROWS:
        raise InputError(f"Ask for 1 to {MAX_ROWS:,} rows, not {rows!r}.")
    trained = training.open_run(lake, run)
    run, model = trained.run, trained.model

    version, _ = training.evaluation_source(lake, run, None)
    numeric = [f["name"] for f in run.features if f["kind"] == "numeric"]
    report(progress, 0.01, f"Reading the rows of {version.ref}")
    if row_ids is not None:
        ids = [_row_id(v) for v in row_ids]
        if not ids or len(ids) > MAX_ROWS:
            raise InputError(f"Give 1 to {MAX_ROWS:,} row ids.")
        query = datasets.read_frame(lake, version, where=f"rowid IN ({', '.join(str(i) for i in ids)})", with_row_ids=True)
        absent = sorted(set(ids) - set(query["__row_id"].tolist()))
        if absent:
            raise InputError(f"{version.ref} has no row(s) with id {absent[:10]}; row ids run from 0 to {version.rows - 1:,}.")
    elif cohort:
        chosen = cohorts.get(lake, cohort, usecase=run.usecase)
        where, params = cohorts.where_sql(chosen.conditions, version.column_names)
        query = datasets.read_frame(lake, version, where=where, params=params, limit=rows, with_row_ids=True)
        if query.empty:
            raise InputError(f"Cohort {cohort!r} has no rows in {version.ref}.")
    else:
        where, params = trained.held_out_filter()
        query = datasets.read_frame(lake, version, where=where, params=params, limit=rows, with_row_ids=True)
    where, params = trained.held_out_filter(held_out=False)
    reference = datasets.read_frame(lake, version, where=where, params=params, limit=200_000)
    vary = default_vary(run) if vary is None else list(vary)
    space = space_from(reference, run.feature_names, numeric, vary, permitted)
    X = query[run.feature_names].reset_index(drop=True)
    original, labels = _predictions(trained, X)
    goal_for = _goals(trained, original, desired_class, desired_range)
    started = time.perf_counter()
    if method == "random":
        found = generate(model, X, space, goal_for, count=count, sample_size=sample_size, seed=seed, scheduler=scheduler,
                         progress=progress)
    else:
        found = _with_dice(trained, X, reference, space, goal_for, count, method, seed, progress)
    seconds = time.perf_counter() - started
    every = pd.DataFrame([cf for cfs in found for cf in cfs], columns=run.feature_names)
    owner = np.repeat(np.arange(len(found)), [len(cfs) for cfs in found])
    predicted = _predictions(trained, every)[1] if len(every) else []
    changed = _changed_matrix(X.iloc[owner].reset_index(drop=True), every, run.feature_names)
    columns = {c: [_typed(v, space.precision.get(c)) for v in every[c].tolist()] for c in run.feature_names}
    out_rows = [{"row": int(query["__row_id"].iloc[i]), "original": {k: _plain(v) for k, v in X.iloc[i].to_dict().items()},
                 "prediction": labels[i], "counterfactuals": []} for i in range(len(found))]
    names = np.asarray(run.feature_names, dtype=object)
    for k, i in enumerate(owner):
        out_rows[i]["counterfactuals"].append({"values": {c: columns[c][k] for c in run.feature_names},
                                               "prediction": predicted[k], "changed": list(names[changed[k]])})
    changes = dict(zip(run.feature_names, changed.sum(axis=0).tolist() if len(every) else [0] * len(names)))
    total = sum(len(r["counterfactuals"]) for r in out_rows)
    return {"run_id": run.run_id, "method": method, "count": count, "vary": vary, "threshold": trained.threshold,
            "rows": out_rows,
            "rows_without": sum(1 for r in out_rows if not r["counterfactuals"]), "counterfactuals": total,
            "feature_changes": dict(sorted(((k, v) for k, v in changes.items() if v), key=lambda kv: -kv[1])),
            "seconds": round(seconds, 3), "rows_per_second": round(len(out_rows) / seconds, 2) if seconds else None}


def _row_id(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InputError(f"Row ids are whole numbers (lake row ids), not {value!r}.") from None
    if number < 0:
        raise InputError(f"Row ids are zero or more, not {number}.")
    return number


def _predictions(trained: training.TrainedRun, X: pd.DataFrame) -> tuple[np.ndarray, list]:
    """Each row's predicted class position (or value) and its label, as the review decides it."""
    run, model = trained.run, trained.model
    if run.task in ("binary", "multiclass"):
        positions = trained.predicted_positions(model.predict_proba(X))
        return positions, [_plain(run.classes[p]) for p in positions]
    values = np.asarray(model.predict(X), dtype=float)
    return values, [float(v) for v in values]


def _goals(trained: training.TrainedRun, original: np.ndarray, desired_class: Any,
           desired_range: Optional[Sequence[float]]):
    run = trained.run
    decision = {"positive_index": trained.positive_index, "threshold": trained.threshold} if run.task == "binary" else {}
    if run.task in ("regression", "timeseries"):
        if desired_range is None:
            raise InputError("A regression model needs the desired range of its prediction: --range LOW HIGH.")
        low, high = _range("the prediction", desired_range)
        goal = Goal(task="regression", low=low, high=high)
        return lambda i: goal
    if desired_class in (None, "opposite"):
        if run.task != "binary":
            raise InputError(f"Name the desired class for a {run.task} model; its classes are {run.classes}.")
        return lambda i: Goal(task="classification", target_index=int(1 - original[i]), **decision)
    lookup = {str(c): i for i, c in enumerate(run.classes)}
    if str(desired_class) not in lookup:
        raise InputError(f"{desired_class!r} is not a class of this model; its classes are {run.classes}.")
    goal = Goal(task="classification", target_index=lookup[str(desired_class)], **decision)
    return lambda i: goal


def _with_dice(trained: training.TrainedRun, X: pd.DataFrame, reference: pd.DataFrame, space: Space, goal_for,
               count: int, method: str, seed: int, progress: Optional[Progress]) -> list[list[dict]]:
    """dice-ml's own kdtree or genetic search, one row at a time; dice-ml decides at 0.5, so its answers
    are kept only where they reach the desired class at the run's own decision."""
    import dice_ml

    run, model = trained.run, trained.model
    if X.isna().any().any():
        raise InputError(f"dice-ml's {method} method cannot handle missing values in the chosen rows; "
                         "use the random method, which keeps them.")
    train = reference[run.feature_names].dropna().copy()
    train["__y"] = _predictions(trained, train)[0]
    for column in run.feature_names:
        if column not in space.numeric:
            train[column] = train[column].astype(str)
    data = dice_ml.Data(dataframe=train, continuous_features=space.numeric, outcome_name="__y")
    backend = dice_ml.Model(model=model, backend="sklearn",
                            model_type="regressor" if run.task in ("regression", "timeseries") else "classifier")
    explainer = dice_ml.Dice(data, backend, method=method)
    permitted = {c: list(space.ranges[c]) for c in space.vary if c in space.ranges}
    permitted.update({c: space.categories[c] for c in space.vary if c in space.categories})
    found = []
    for i in range(len(X)):
        goal = goal_for(i)
        query = X.iloc[[i]].copy()
        kwargs = ({"desired_range": [goal.low, goal.high]} if goal.task == "regression"
                  else {"desired_class": goal.target_index})
        try:
            result = explainer.generate_counterfactuals(query, total_CFs=count, features_to_vary=space.vary,
                                                        permitted_range=permitted, random_seed=seed, **kwargs)
            frame = result.cf_examples_list[0].final_cfs_df
        except Exception:  # dice-ml raises when it finds none
            frame = None
        if frame is not None and len(frame):
            frame = frame[goal.valid(model, frame[run.feature_names].reset_index(drop=True)).tolist()]
        found.append([] if frame is None else frame[run.feature_names].to_dict("records"))
        report(progress, (i + 1) / len(X), f"dice-ml {method}: {i + 1} of {len(X)} rows")
    return found


def _typed(value: Any, decimals: Optional[int]) -> Any:
    """A counterfactual value as the data holds it: whole numbers stay whole."""
    value = _plain(value)
    if decimals == 0 and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _plain(value: Any) -> Any:
    if _missing(value):
        return None
    return value.item() if hasattr(value, "item") else value
