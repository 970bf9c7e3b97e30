"""Train several algorithms on one input and split, evaluate each on the held-out rows, and record
every run (metrics, curves, artifact) in the lake, one transaction per run."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pandas as pd

from core.data import datasets, usecases
from core import features
from core.lake import permissions
from core.errors import InputError
from core.lake import Lake
from core.names import parse_dataset_ref
from core.progress import Progress, report
from core.training import _metrics, _runs
from core.training._data import Problem, define_problem, split
from core.training._pipelines import ALGORITHMS, Task, build_pipeline, fit_pipeline
from core.training._search import search
from core.training._trained import check_threshold

PRIMARY = {"binary": ("roc_auc", True), "multiclass": ("balanced_accuracy", True), "regression": ("rmse", False),
           "timeseries": ("rmse", False)}
BACKTEST_FOLDS = 3


@dataclass(frozen=True)
class TrainResult:
    runs: list[_runs.Run]
    best_run_id: str
    primary_metric: str
    warnings: list[str]

    def to_dict(self) -> dict:
        return {"runs": [{"run_id": r.run_id, "algorithm": r.algorithm, "metrics": r.metrics} for r in self.runs],
                "best_run_id": self.best_run_id, "primary_metric": self.primary_metric, "warnings": self.warnings}


def resolve_input(lake: Lake, *, dataset: Optional[str] = None, feature_set: Optional[str] = None):
    """A dataset or feature-set version, and its kind; exactly one must be given."""
    if bool(dataset) == bool(feature_set):
        raise InputError("Give the training input: a dataset (--dataset NAME[@V]) or a feature set "
                         "(--feature-set NAME[@V]), not both.")
    if dataset:
        return datasets.get(lake, parse_dataset_ref(dataset)), "dataset"
    return features.get(lake, feature_set), "feature_set"


def best_of(runs: Sequence[_runs.Run], metric: Optional[str] = None) -> _runs.Run:
    task = runs[0].task
    metric = metric or PRIMARY[task][0]
    higher = PRIMARY[task][1] if metric == PRIMARY[task][0] else metric not in ("rmse", "mae", "mape", "log_loss", "brier")
    scored = [r for r in runs if isinstance(r.metrics.get(metric), (int, float))]
    if not scored:
        raise InputError(f"No run has the metric {metric!r}.")
    return (max if higher else min)(scored, key=lambda r: r.metrics[metric])


@dataclass(frozen=True)
class TrainRequest:
    """What to train: the input (a dataset or a feature set), the target and task, the split, the algorithms
    and their options. `train(lake, target=..., ...)` builds one from its keywords."""
    target: str
    dataset: Optional[str] = None
    feature_set: Optional[str] = None
    task: Optional[Task] = None
    algorithms: Sequence[str] = ("logistic", "lightgbm")
    test_size: float = 0.3
    split_method: str = "random"
    time_column: Optional[str] = None
    sensitive: Sequence[str] = ()
    exclude: Sequence[str] = ()
    positive: Any = None
    seed: int = 42
    params: Optional[dict] = None
    threshold: float = 0.5
    usecase: Optional[str] = None
    search_seconds: float = 0.0

    def checked(self) -> "TrainRequest":
        """The request with its threshold checked, or an InputError saying which option is wrong."""
        unknown = [a for a in self.algorithms if a not in ALGORITHMS]
        if unknown or not self.algorithms:
            raise InputError(f"Unknown algorithm(s) {unknown}; choose from {', '.join(ALGORITHMS)}.")
        threshold = check_threshold(self.threshold)
        if not 0 <= self.search_seconds <= 24 * 3600:
            raise InputError(f"The search budget must be between 0 and 86400 seconds, not {self.search_seconds}.")
        if self.split_method not in ("random", "time"):
            raise InputError(f"Split {self.split_method!r} is not supported: use random or time:COLUMN.")
        if self.split_method == "time" and not self.time_column:
            raise InputError("A time-ordered split needs its column: --split time:COLUMN.")
        if self.task == "timeseries" and self.split_method != "time":
            raise InputError("A time-series task needs a time-ordered split: --split time:COLUMN.")
        return replace(self, threshold=threshold)


@dataclass(frozen=True, eq=False)
class _Prepared:
    """The input read once, its problem defined and its rows split: shared by every algorithm of a batch."""
    version: Any
    kind: str
    usecase: str
    problem: Problem
    frame: pd.DataFrame
    X: pd.DataFrame
    y: pd.Series
    row_ids: np.ndarray
    train_idx: np.ndarray
    valid_idx: np.ndarray
    test_idx: np.ndarray
    split_spec: dict
    batch_id: str
    signature: list
    code_version: str

    def part(self, which: np.ndarray, labels: bool = True) -> tuple[pd.DataFrame, pd.Series]:
        y = self.y.iloc[which]
        return self.X.iloc[which], (_labels(y, self.problem) if labels else y)


def train(lake: Lake, request: Optional[TrainRequest] = None, *, actor: str, progress: Optional[Progress] = None,
          on_run: Optional[Callable[[_runs.Run], None]] = None, **options) -> TrainResult:
    """Train each algorithm; every finished run is recorded (and passed to `on_run`) before the next starts.
    The options are a TrainRequest, or its fields as keywords (`train(lake, target=..., dataset=..., actor=...)`).

    With `search_seconds`, each algorithm first spends its share of that budget on a hyperparameter
    search scored on the validation fold."""
    if request is not None and options:
        raise TypeError("Give train() a TrainRequest or its fields as keywords, not both.")
    permissions.require(lake, actor, "train")
    request = (request or TrainRequest(**options)).checked()
    prepared = _prepare(lake, request, progress)
    problem, algorithms = prepared.problem, request.algorithms
    runs: list[_runs.Run] = []
    for index, algorithm in enumerate(algorithms):
        share = (index / len(algorithms), (index + 1) / len(algorithms))
        report(progress, 0.05 + 0.9 * share[0], f"Training {ALGORITHMS[algorithm]} on {len(prepared.train_idx):,} rows")
        run = _train_one(lake, request, prepared, algorithm, actor=actor, progress=lambda m: report(
            progress, 0.05 + 0.9 * share[0], m))
        runs.append(run)
        if on_run:
            on_run(run)
        report(progress, 0.05 + 0.9 * share[1], f"{ALGORITHMS[algorithm]}: {PRIMARY[problem.task][0]} "
               f"{run.metrics.get(PRIMARY[problem.task][0], float('nan')):.4f}")
    best = best_of(runs)
    report(progress, 1.0, f"Best: {best.algorithm} ({best.run_id})")
    return TrainResult(runs=runs, best_run_id=best.run_id, primary_metric=PRIMARY[problem.task][0],
                       warnings=problem.warnings)


def _prepare(lake: Lake, request: TrainRequest, progress: Optional[Progress]) -> _Prepared:
    version, kind = resolve_input(lake, dataset=request.dataset, feature_set=request.feature_set)
    owner = request.usecase or version.usecase
    usecases.get(lake, owner)
    report(progress, 0.02, f"Reading {version.ref} ({version.rows:,} rows)")
    frame = datasets.read_frame(lake, version, with_row_ids=True)
    row_ids = frame.pop("__row_id").to_numpy()
    keep = [version.entity] if kind == "feature_set" else []
    frame["__row_id"] = row_ids
    problem, frame = define_problem(frame, target=request.target, task=request.task, sensitive=request.sensitive,
                                    exclude=request.exclude, positive=request.positive,
                                    time_column=request.time_column, keep=keep + ["__row_id"])
    row_ids = frame.pop("__row_id").to_numpy()  # rows without a target are gone now
    if kind == "feature_set" and version.entity not in problem.excluded:
        problem.excluded.append(version.entity)
    method, seed = request.split_method, request.seed
    train_idx, valid_idx, test_idx = split(frame, problem, test_size=request.test_size, method=method, seed=seed)
    split_spec = {"method": method, "test_size": request.test_size, "seed": seed, "time_column": request.time_column,
                  "validation_size": 0.1, "stratified": problem.is_classification and method == "random"}
    signature = [{"name": c, "type": str(frame[c].dtype), "kind": "numeric" if c in problem.numeric else "categorical"}
                 for c in problem.features]
    return _Prepared(version=version, kind=kind, usecase=owner, problem=problem, frame=frame, X=frame[problem.features],
                     y=frame[problem.target], row_ids=row_ids,
                     train_idx=train_idx, valid_idx=valid_idx, test_idx=test_idx, split_spec=split_spec,
                     batch_id=uuid.uuid4().hex[:12], signature=signature, code_version=_runs.code_version())


def _train_one(lake: Lake, request: TrainRequest, prepared: _Prepared, algorithm: str, *, actor: str,
               progress: Callable[[str], None]) -> _runs.Run:
    """One algorithm: (search,) fit, evaluate on the held-out rows, and record the run with its artifact."""
    problem, seed, budget = prepared.problem, request.seed, request.search_seconds / len(request.algorithms)
    started = time.perf_counter()
    chosen, searched = dict((request.params or {}).get(algorithm) or {}), None
    if request.search_seconds > 0:
        progress(f"Searching {ALGORITHMS[algorithm]} parameters ({budget:.0f} s)")
        found, searched = search(algorithm, problem.task, problem.numeric, problem.categorical,
                                 prepared.part(prepared.train_idx), prepared.part(prepared.valid_idx),
                                 seconds=budget, seed=seed)
        chosen.update(found)
    pipeline = build_pipeline(algorithm, problem.task, problem.numeric, problem.categorical, seed=seed, params=chosen)
    fitted = fit_pipeline(pipeline, *prepared.part(prepared.train_idx), validation=prepared.part(prepared.valid_idx))
    metrics, curves = _evaluate(pipeline, *prepared.part(prepared.test_idx, labels=False), problem, seed,
                                request.threshold)
    if problem.task == "timeseries":
        kept = {"n_estimators": fitted["best_iteration"]} if "best_iteration" in fitted else {}
        metrics["backtest"] = _backtest(prepared.frame, problem, algorithm, seed, request.test_size, {**chosen, **kept})
    duration = time.perf_counter() - started
    run_id = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:10]}"
    version = prepared.version
    record = {"run_id": run_id, "batch_id": prepared.batch_id, "usecase": prepared.usecase, "input_kind": prepared.kind,
              "input_name": version.name, "input_version": version.version, "input_snapshot": version.snapshot,
              "target": problem.target, "task": problem.task, "positive": _plain_label(problem.positive),
              "classes": [_plain_label(c) for c in problem.classes] if problem.classes else None,
              "split": prepared.split_spec, "algorithm": algorithm,
              "params": {**_params_of(pipeline), **fitted, **({"search": searched} if searched else {})},
              "features": prepared.signature, "sensitive": problem.sensitive,
              "excluded": problem.excluded, "warnings": problem.warnings, "metrics": _metrics.json_ready(metrics),
              "train_rows": int(len(prepared.train_idx) + len(prepared.valid_idx)),
              "test_rows": int(len(prepared.test_idx)), "duration_seconds": round(duration, 3),
              "code_version": prepared.code_version, "created_by": actor}
    return _runs.save_run(lake, record, pipeline, curves, prepared.row_ids[prepared.test_idx], actor=actor,
                          action="train", message=f"train {algorithm}")


def _labels(y: pd.Series, problem: Problem) -> pd.Series:
    if problem.is_classification:
        return y.map(lambda v: problem.classes.index(v)).astype(int)  # class positions: one label type for every model
    return y.astype(float)


def _evaluate(pipeline, X: pd.DataFrame, y: pd.Series, problem: Problem, seed: int,
              threshold: float) -> tuple[dict, pd.DataFrame]:
    if problem.is_classification:
        proba = pipeline.predict_proba(X)
        truth = y.to_numpy(dtype=object)
        metrics = _metrics.classification_metrics(truth, proba, problem.classes, positive=problem.positive,
                                                  threshold=threshold)
        return metrics, _metrics.classification_curves(truth, proba, problem.classes, positive=problem.positive)
    predicted = pipeline.predict(X)
    return _metrics.regression_metrics(y.to_numpy(), predicted), _metrics.regression_curves(y.to_numpy(), predicted, seed=seed)


def _backtest(frame: pd.DataFrame, problem: Problem, algorithm: str, seed: int, test_size: float,
              params: dict) -> list[dict]:
    """Rolling origin: the last `test_size` of time in BACKTEST_FOLDS windows, each predicted by a model
    trained on everything before it, with the run's own parameters (searched ones included) and, for
    LightGBM, the boosting rounds its early stopping kept: the backtest measures the model that was recorded,
    not 2,000 rounds of another."""
    order = np.argsort(frame[problem.time_column].to_numpy(), kind="stable")
    start = int(round(len(order) * (1 - test_size)))
    edges = np.linspace(start, len(order), BACKTEST_FOLDS + 1).round().astype(int)
    folds = []
    for fold, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]), start=1):
        train, test = order[:lo], order[lo:hi]
        model = build_pipeline(algorithm, problem.task, problem.numeric, problem.categorical, seed=seed, params=params)
        X, y = frame[problem.features], frame[problem.target].astype(float)
        fit_pipeline(model, X.iloc[train], y.iloc[train])
        times = frame[problem.time_column].iloc[test]
        folds.append({"fold": fold, "train_rows": int(len(train)), "test_rows": int(len(test)),
                      "start": str(times.min()), "end": str(times.max()),
                      **_metrics.regression_metrics(y.iloc[test].to_numpy(), model.predict(X.iloc[test]))})
    return folds


def _params_of(pipeline) -> dict:
    model = pipeline.named_steps["model"]
    keep = ("C", "alpha", "n_estimators", "learning_rate", "num_leaves", "max_leaf_nodes", "max_iter", "min_samples_leaf",
            "max_depth",
            "min_child_samples", "max_features", "subsample", "colsample_bytree")
    values = model.get_params()
    return {"estimator": type(model).__name__, **{k: values[k] for k in keep if k in values}}


def _plain_label(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
