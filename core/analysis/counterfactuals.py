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
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd

from core.data import cohorts, datasets
from core import training
from core.errors import InputError
from core.lake import Lake
from core.progress import Progress, report

SAMPLE_SIZE = 1_000
CHUNK_CANDIDATES = 400_000  # candidates predicted in one call
METHODS = ("random", "kdtree", "genetic")
IMMUTABLE_HINTS = ("age", "birth", "sex", "gender", "race", "ethnic", "nationality", "religion", "marital")
MAX_ROWS = 10_000


@dataclass(frozen=True)
class Space:
    """What may change and how: the features to vary, their permitted ranges and categories."""
    features: list[str]
    numeric: list[str]
    vary: list[str]
    ranges: dict       # numeric feature -> (low, high)
    precision: dict    # numeric feature -> decimals
    categories: dict   # categorical feature -> list of values


@dataclass(frozen=True)
class Goal:
    task: str
    target_index: Optional[int] = None   # classification: the desired class position
    low: float = -np.inf                 # regression: the desired range
    high: float = np.inf
    positive_index: Optional[int] = None  # binary: the positive class position and the run's threshold;
    threshold: Optional[float] = None     # without them, the most probable class (dice-ml's own rule)

    def valid(self, model, X: pd.DataFrame) -> np.ndarray:
        if self.task == "regression":
            predicted = np.asarray(model.predict(X), dtype=float)
            return (predicted >= self.low) & (predicted <= self.high)
        proba = model.predict_proba(X)
        if self.threshold is not None:
            positive = proba[:, self.positive_index] >= self.threshold
            decided = np.where(positive, self.positive_index, 1 - self.positive_index)
            return decided == self.target_index
        return proba.argmax(axis=1) == self.target_index


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
             seed: int = 0, sparsity: bool = True, progress: Optional[Progress] = None) -> list[dict]:
    """Counterfactuals for each row of `rows` (model features only). `goal_for(original_prediction)`
    gives each row's Goal. Returns per row: the counterfactuals (feature dicts) and what changed."""
    if not 1 <= count <= 50:
        raise InputError(f"Ask for 1 to 50 counterfactuals per row, not {count}.")
    rng = np.random.default_rng(seed)
    goals = [goal_for(i) for i in range(len(rows))]
    per_chunk = max(1, CHUNK_CANDIDATES // sample_size)
    found: list[list[dict]] = []
    for start in range(0, len(rows), per_chunk):
        chunk = rows.iloc[start:start + per_chunk]
        found += _search(model, chunk, space, goals[start:start + per_chunk], count, sample_size, rng)
        report(progress, 0.8 * min(1.0, (start + len(chunk)) / len(rows)),
               f"Counterfactuals: searched {start + len(chunk):,} of {len(rows):,} rows")
    if sparsity:
        report(progress, 0.85, "Moving changed features back toward the originals")
        found = _sparser(model, rows, space, goals, found)
    report(progress, 1.0, "Counterfactuals ready")
    return found


def _sample(space: Space, column: str, size: int, rng: np.random.Generator) -> np.ndarray:
    if column in space.ranges:
        low, high = space.ranges[column]
        decimals = space.precision[column]
        if decimals == 0:
            return rng.integers(int(np.floor(low)), int(np.floor(high)) + 1, size).astype(float)
        return np.round(rng.uniform(low, high + 10 ** -decimals, size), decimals).clip(low, high)
    return rng.choice(np.asarray(space.categories[column], dtype=object), size)


def _search(model, rows: pd.DataFrame, space: Space, goals: list[Goal], count: int, size: int,
            rng: np.random.Generator) -> list[list[dict]]:
    n = len(rows)
    columns = {c: np.repeat(rows[c].to_numpy(dtype=object if c not in space.numeric else float), size)
               for c in space.features}
    samples = {c: np.tile(_sample(space, c, size, rng), n) for c in space.vary}  # dice-ml: one sample set per query
    owner = np.repeat(np.arange(n), size)
    distinct = list(dict.fromkeys(goals))
    goal_of = np.array([distinct.index(g) for g in goals])[owner]
    cap = max(20, 4 * count)  # valid candidates kept per row and step: enough to choose the closest
    active = np.ones(n, dtype=bool)
    valid_sets: list[dict] = [dict() for _ in range(n)]
    for step in range(1, len(space.vary) + 1):
        picked = rng.integers(0, len(space.vary), n * size)
        for j, column in enumerate(space.vary):
            hit = picked == j
            columns[column][hit] = samples[column][hit]
        live = active[owner]
        candidates = pd.DataFrame({c: v[live] for c, v in columns.items()})
        ok = np.zeros(n * size, dtype=bool)
        live_idx = np.flatnonzero(live)
        for g, goal in enumerate(distinct):
            with_goal = goal_of[live_idx] == g
            if with_goal.any():
                ok[live_idx[with_goal]] = goal.valid(model, candidates[with_goal])
        hits = np.flatnonzero(ok)
        first = np.searchsorted(owner[hits], owner[hits], side="left")  # hits are in row order
        hits = hits[np.arange(len(hits)) - first < cap]
        for k in hits:
            valid_sets[owner[k]].setdefault(tuple(columns[c][k] for c in space.features), None)
        if step >= 2:
            active &= np.array([len(v) < count for v in valid_sets])
        if not active.any():
            break
    originals = rows[space.features].to_dict("records")
    return [_choose(originals[i], list(valid_sets[i]), space, count) for i in range(n)]


def _changed(original: dict, candidate: dict, features: list[str]) -> list[str]:
    return [c for c in features if not _same(original[c], candidate[c])]


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


def _choose(original: dict, keys: list[tuple], space: Space, count: int) -> list[dict]:
    scored = []
    for key in keys:
        candidate = dict(zip(space.features, key))
        changed = _changed(original, candidate, space.features)
        if changed:
            scored.append((len(changed), _distance(original, candidate, space, changed), candidate, tuple(changed)))
    scored.sort(key=lambda s: (s[0], s[1]))
    chosen, seen_sets = [], set()
    for item in scored:  # one per set of changed features first: diverse answers
        if item[3] not in seen_sets:
            chosen.append(item)
            seen_sets.add(item[3])
        if len(chosen) == count:
            break
    for item in scored:
        if len(chosen) == count:
            break
        if not any(item is c for c in chosen):
            chosen.append(item)
    return [c[2] for c in chosen]


def _sparser(model, rows: pd.DataFrame, space: Space, goals: list[Goal], found: list[list[dict]],
             steps: int = 7) -> list[list[dict]]:
    """dice-ml's post-hoc sparsity, batched: for each feature in turn, every counterfactual that changed
    it tries the original value (kept if still valid), and numbers binary-search the closest valid value."""
    originals = rows[space.features].to_dict("records")
    flat = [(i, cf) for i, cfs in enumerate(found) for cf in cfs]
    if not flat:
        return found
    for column in space.vary:
        todo = [(i, cf) for i, cf in flat if not _same(originals[i][column], cf[column])]
        if not todo:
            continue
        back = pd.DataFrame([{**cf, column: originals[i][column]} for i, cf in todo])
        ok = _valid_each(model, back, [goals[i] for i, _ in todo])
        for (i, cf), good in zip(todo, ok):
            if good:
                cf[column] = originals[i][column]
        if column not in space.ranges:
            continue
        todo = [(i, cf) for (i, cf), good in zip(todo, ok) if not good and not _missing(originals[i][column])]
        if not todo:
            continue
        start = np.array([float(originals[i][column]) for i, _ in todo])
        end = np.array([float(cf[column]) for _, cf in todo])
        low, high = np.zeros(len(todo)), np.ones(len(todo))  # fraction of the way from original to counterfactual
        for _ in range(steps):
            middle = (low + high) / 2
            trial = pd.DataFrame([{**cf, column: v} for (i, cf), v in zip(todo, _round(start + middle * (end - start),
                                                                                        space.precision[column]))])
            good = _valid_each(model, trial, [goals[i] for i, _ in todo])
            high, low = np.where(good, middle, high), np.where(good, low, middle)
        for (i, cf), value in zip(todo, _round(start + high * (end - start), space.precision[column])):
            cf[column] = float(value)
    return found


def _round(values: np.ndarray, decimals: int) -> np.ndarray:
    return np.round(values, decimals)


def _valid_each(model, frame: pd.DataFrame, goals: list[Goal]) -> np.ndarray:
    ok = np.zeros(len(frame), dtype=bool)
    for goal in set(goals):
        mask = np.array([g == goal for g in goals])
        ok[mask] = goal.valid(model, frame[mask])
    return ok


def default_vary(run: training.Run) -> list[str]:
    """Every feature except those that look immutable or sensitive (age, sex, race, ...); the user can change it."""
    return [f for f in run.feature_names if f not in run.sensitive
            and not any(hint in f.lower() for hint in IMMUTABLE_HINTS)]


def for_run(lake: Lake, run: Union[str, training.TrainedRun], *, row_ids: Optional[Sequence[int]] = None, cohort: Optional[str] = None,
            rows: int = 20, count: int = 5, vary: Optional[Sequence[str]] = None, permitted: Optional[dict] = None,
            desired_class: Any = "opposite", desired_range: Optional[Sequence[float]] = None, method: str = "random",
            sample_size: int = SAMPLE_SIZE, seed: int = 0, progress: Optional[Progress] = None) -> dict:
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
        found = generate(model, X, space, goal_for, count=count, sample_size=sample_size, seed=seed, progress=progress)
    else:
        found = _with_dice(trained, X, reference, space, goal_for, count, method, seed, progress)
    seconds = time.perf_counter() - started
    out_rows, changes = [], {f: 0 for f in run.feature_names}
    every = [cf for cfs in found for cf in cfs]
    labels_of = iter(_predictions(trained, pd.DataFrame(every, columns=run.feature_names))[1] if every else [])
    for i, cfs in enumerate(found):
        predicted = [next(labels_of) for _ in cfs]
        base = X.iloc[i].to_dict()
        entries = []
        for cf, label in zip(cfs, predicted):
            changed = _changed(base, cf, run.feature_names)
            for c in changed:
                changes[c] += 1
            entries.append({"values": {k: _typed(v, space.precision.get(k)) for k, v in cf.items()}, "prediction": label,
                            "changed": changed})
        out_rows.append({"row": int(query["__row_id"].iloc[i]), "original": {k: _plain(v) for k, v in base.items()},
                         "prediction": labels[i], "counterfactuals": entries})
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
