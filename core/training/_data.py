"""From an input table to a checked training problem: target, task, classes, feature columns,
warnings; and the train / validation / test split."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from core.errors import InputError
from core.training._pipelines import Task

MAX_CLASSES = 50
SENSITIVE_NAMES = ("sex", "gender", "race", "ethnicity", "race_ethnicity", "religion", "nationality", "disability",
                   "marital_status", "sexual_orientation")


@dataclass(frozen=True)
class Problem:
    target: str
    task: Task
    classes: Optional[list]
    positive: Any
    numeric: list[str]
    categorical: list[str]
    sensitive: list[str]
    excluded: list[str]
    time_column: Optional[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical

    @property
    def is_classification(self) -> bool:
        return self.task in ("binary", "multiclass")


def suggest_sensitive(columns: Sequence[str]) -> list[str]:
    """Columns whose names say they describe a protected characteristic (a suggestion, not a rule)."""
    return [c for c in columns if c.lower() in SENSITIVE_NAMES or any(c.lower().startswith(n + "_") for n in SENSITIVE_NAMES)]


def define_problem(frame: pd.DataFrame, *, target: str, task: Optional[Task] = None, sensitive: Sequence[str] = (),
                   exclude: Sequence[str] = (), positive: Any = None, time_column: Optional[str] = None,
                   keep: Sequence[str] = ()) -> tuple[Problem, pd.DataFrame]:
    """Check the target and choose the feature columns; returns the problem and the rows with a target."""
    columns = list(frame.columns)
    for name, what in [(target, "target")] + [(c, "sensitive column") for c in sensitive] + \
                      [(c, "excluded column") for c in exclude] + ([(time_column, "time column")] if time_column else []):
        if name not in columns:
            raise InputError(f"The {what} {name!r} is not in the input; it has {', '.join(columns[:30])}.")
    warnings: list[str] = []
    missing_target = int(frame[target].isna().sum())
    if missing_target == len(frame):
        raise InputError(f"The target {target!r} has no values.")
    if missing_target:
        warnings.append(f"{missing_target:,} row(s) without a value of {target!r} were left out.")
        frame = frame[frame[target].notna()].reset_index(drop=True)
    y = frame[target]
    distinct = y.nunique()
    if distinct < 2:
        raise InputError(f"The target {target!r} has a single value ({y.iloc[0]!r}); there is nothing to learn.")
    numeric_target = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    task = task or _infer_task(y, numeric_target, time_column)
    if task in ("regression", "timeseries"):
        if not numeric_target:
            raise InputError(f"{task.capitalize()} needs a numeric target; {target!r} holds {y.dtype} values such as "
                             f"{y.iloc[0]!r}. Use --task binary or multiclass.")
        if task == "timeseries" and not time_column:
            raise InputError("A time-series task needs a time column: --split time:COLUMN.")
        classes, positive = None, None
    else:
        if distinct > MAX_CLASSES:
            raise InputError(f"The target {target!r} has {distinct:,} classes, over the limit of {MAX_CLASSES}; "
                             "use --task regression for a number, or group the classes.")
        if task == "binary" and distinct != 2:
            raise InputError(f"Binary classification needs 2 classes; {target!r} has {distinct}. Use --task multiclass.")
        counts = y.value_counts()
        rare = counts[counts < 2]
        if len(rare):
            raise InputError(f"Class(es) {list(rare.index)} of {target!r} have fewer than 2 rows: a model cannot be "
                             "trained and tested on them. Remove or merge those rows.")
        classes = sorted(counts.index.tolist(), key=str)
        positive = _positive(classes, counts, positive) if task == "binary" else None
    dropped = set(sensitive) | set(exclude) | {target} | ({time_column} if time_column else set())
    numeric, categorical, excluded = [], [], list(exclude)
    for column in columns:
        if column in dropped or column in keep:
            continue
        values = frame[column]
        if values.isna().all():
            warnings.append(f"Column {column!r} has no values and was dropped.")
            excluded.append(column)
        elif pd.api.types.is_datetime64_any_dtype(values):
            warnings.append(f"Column {column!r} is a date or time and was not used as a feature "
                            "(build lag or window features in the feature store instead).")
            excluded.append(column)
        elif _is_identifier(values):
            warnings.append(f"Column {column!r} has a distinct value on every row (an identifier) and was not used.")
            excluded.append(column)
        elif _equals_target(values, y):
            warnings.append(f"Column {column!r} equals the target {target!r}: it leaks the answer and was dropped.")
            excluded.append(column)
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            numeric.append(column)
            if _leaks(values, y, numeric_target):
                warnings.append(f"Column {column!r} predicts the target {target!r} almost perfectly "
                                "(|correlation| ≥ 0.95): check that it is known before the outcome.")
        else:
            categorical.append(column)
    if not numeric and not categorical:
        raise InputError(f"No usable feature columns are left (target {target!r}, sensitive {list(sensitive)}, "
                         f"excluded {excluded}).")
    problem = Problem(target=target, task=task, classes=classes, positive=positive, numeric=numeric,
                      categorical=categorical, sensitive=list(sensitive), excluded=excluded, time_column=time_column,
                      warnings=warnings)
    return problem, frame


def split(frame: pd.DataFrame, problem: Problem, *, test_size: float, method: str, seed: int,
          validation_size: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions for train, validation (for early stopping) and test."""
    if not 0.05 <= test_size <= 0.5:
        raise InputError(f"The test share must be between 0.05 and 0.5, not {test_size}.")
    positions = np.arange(len(frame))
    if method == "time":
        order = np.argsort(frame[problem.time_column].to_numpy(), kind="stable")
        cut = int(round(len(order) * (1 - test_size)))
        rest, test = order[:cut], order[cut:]
        valid_cut = int(round(len(rest) * (1 - validation_size)))
        return rest[:valid_cut], rest[valid_cut:], test
    stratify = frame[problem.target] if problem.is_classification else None
    rest, test = train_test_split(positions, test_size=test_size, random_state=seed, stratify=stratify)
    stratify_rest = frame[problem.target].iloc[rest] if problem.is_classification else None
    train, valid = train_test_split(rest, test_size=validation_size, random_state=seed, stratify=stratify_rest)
    return np.sort(train), np.sort(valid), np.sort(test)


def _infer_task(y: pd.Series, numeric: bool, time_column: Optional[str]) -> Task:
    distinct = y.nunique()
    if numeric and (distinct > 20 or (pd.api.types.is_float_dtype(y) and not np.allclose(y, np.round(y)))):
        return "regression"
    return "binary" if distinct == 2 else "multiclass"


def _positive(classes: list, counts: pd.Series, positive: Any) -> Any:
    if positive is not None:
        for value in classes:
            if str(value) == str(positive):
                return value
        raise InputError(f"--positive {positive!r} is not a class of the target; the classes are {classes}.")
    for candidate in (1, True, "1", "yes", "Yes", "true", "True"):
        if candidate in classes:
            return candidate
    # Text kept as the user wrote it (Y/N, T/F, TRUE/FALSE): the affirmative spelling is the event.
    spelled = {str(v).strip().lower(): v for v in classes}
    for yes, no in (("y", "n"), ("t", "f"), ("yes", "no"), ("true", "false")):
        if len(classes) == 2 and set(spelled) == {yes, no}:
            return spelled[yes]
    return counts.idxmin()  # the rarer class is usually the event of interest


def _is_identifier(values: pd.Series) -> bool:
    if len(values) < 50 or pd.api.types.is_float_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    return values.nunique() == len(values)


def _equals_target(values: pd.Series, y: pd.Series) -> bool:
    if values.isna().any() or values.nunique() != y.nunique():
        return False  # cheap checks first: comparing as text costs seconds on a million rows
    if pd.api.types.is_numeric_dtype(values) and pd.api.types.is_numeric_dtype(y):
        return bool(np.array_equal(values.to_numpy(dtype=float), y.to_numpy(dtype=float)))
    return bool((values.astype(str).to_numpy() == y.astype(str).to_numpy()).all())


def _leaks(values: pd.Series, y: pd.Series, numeric_target: bool) -> bool:
    try:
        target = y.astype(float) if numeric_target else pd.Series(pd.factorize(y)[0], index=y.index, dtype=float)
        if not numeric_target and y.nunique() != 2:
            return False
        correlation = values.astype(float).corr(target)
    except (TypeError, ValueError):
        return False
    return bool(abs(correlation) >= 0.95) if correlation == correlation else False
