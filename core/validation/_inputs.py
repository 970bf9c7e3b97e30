"""What the checks read, gathered once: the run (through core.training: its model, decision threshold and
held-out rows, scored at its decision), the training rows of its input, and the labels as numbers. Every
expensive shared step (a second scoring, per-row timings) is computed once and shared between checks."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pandas as pd

from core import training
from core.data import datasets
from core.errors import InputError
from core.lake import Lake
from core.validation._result import NotApplicable


@dataclass
class Inputs:
    trained: training.TrainedRun
    dataset: str
    frame: pd.DataFrame  # evaluation rows (every column of the dataset, with __row_id)
    scored: Optional[pd.DataFrame]  # score_run's rows (truth, prediction, score), None when the model cannot score
    train: Optional[pd.DataFrame]  # the training rows of the run's input (None when it has none)
    sensitive: list[str]
    conditions: dict
    seed: int = 0
    missing_columns: list[str] = field(default_factory=list)
    _memo: dict = field(default_factory=dict, repr=False)

    run = property(lambda self: self.trained.run)
    model = property(lambda self: self.trained.model)
    task = property(lambda self: self.trained.run.task)
    features = property(lambda self: self.trained.run.feature_names)
    classification = property(lambda self: self.trained.run.task in ("binary", "multiclass"))

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # --- what a check needs, or the reason it cannot run ---
    def need_rows(self) -> None:
        if self.frame.empty:
            raise NotApplicable(f"Run {self.run.run_id} has no held-out rows recorded, so there is nothing to evaluate "
                                "the model on; check it on another dataset version (--dataset NAME@V).")

    def need_model(self) -> None:
        self.need_rows()
        if self.scored is None:
            raise NotApplicable(f"{self.dataset} lacks the column(s) {self.missing_columns} that scoring and judging "
                                "the model need.")

    def need_labels(self) -> None:
        if self.run.target not in self.frame.columns and (self.train is None or self.run.target not in self.train.columns):
            raise NotApplicable(f"{self.dataset} has no {self.run.target!r} column (the run's target).")

    def need_train(self) -> None:
        if self.train is None or self.train.empty:
            raise NotApplicable(f"Run {self.run.run_id}'s input has no training rows to compare with.")

    def need_classifier(self, what: str) -> None:
        if not self.classification:
            raise NotApplicable(f"{what} applies to classifiers; run {self.run.run_id} is a {self.task}.")

    # --- shared views of the rows ---
    def labelled(self) -> np.ndarray:
        """Positions of evaluation rows with a known label (score_run's truth)."""
        self.need_model()
        return self.memo("labelled", lambda: np.flatnonzero(self.scored["truth_label"].notna().to_numpy()))

    def truth(self) -> np.ndarray:
        """Labels of the labelled evaluation rows: binary 0/1 (1 = the positive class), multiclass the class
        position, regression the value."""
        return self.memo("truth", lambda: encode_labels(self.run, self.frame[self.run.target].iloc[self.labelled()]))

    def proba(self) -> Optional[np.ndarray]:
        """Class probabilities of the labelled rows (None for a regression)."""
        if not self.classification:
            return None
        return self.memo("proba", lambda: self.first_outputs()[self.labelled()])

    def loss(self) -> np.ndarray:
        """Per labelled row: 1 where the decision is wrong (classification), the absolute error (regression)."""
        return self.memo("loss", lambda: self.scored["error"].to_numpy(dtype=float)[self.labelled()])

    def decisions(self, X: pd.DataFrame) -> np.ndarray:
        """The model's decision per row of X (binary at the run's threshold, multiclass the most probable class,
        regression the value)."""
        if self.task == "binary":
            return self.trained.decide(self.trained.positive_score(self.model.predict_proba(X))).astype(np.int8)
        if self.task == "multiclass":
            return np.asarray(self.model.predict_proba(X)).argmax(axis=1)
        return np.asarray(self.model.predict(X), dtype=float)

    def outputs(self, X: pd.DataFrame) -> np.ndarray:
        """The model's raw output per row: the probabilities (classification) or the value (regression)."""
        if self.classification:
            return np.asarray(self.model.predict_proba(X), dtype=float)
        return np.asarray(self.model.predict(X), dtype=float).reshape(-1, 1)

    def timed_outputs(self) -> tuple[np.ndarray, float]:
        """A second scoring of every evaluation row (stochasticity compares it; inference_time times it)."""
        def compute():
            X = self.frame[self.features]
            started = time.perf_counter()
            out = self.outputs(X)
            return out, time.perf_counter() - started
        return self.memo("timed_outputs", compute)

    def first_outputs(self) -> np.ndarray:
        """The outputs of score_run's scoring, as rows x columns (classification: every class's probability; a
        binary model's two columns are its positive score and one minus it, so it is not scored again)."""
        self.need_model()
        if self.task == "binary":
            def rebuilt():
                score = self.scored["score"].to_numpy(dtype=float)
                out = np.empty((len(score), 2))
                out[:, self.trained.positive_index], out[:, 1 - self.trained.positive_index] = score, 1 - score
                return out
            return self.memo("first_outputs", rebuilt)
        if self.classification:
            return self.memo("first_outputs", lambda: np.asarray(self.model.predict_proba(self.frame[self.features]),
                                                                 dtype=float))
        return self.scored["score"].to_numpy(dtype=float).reshape(-1, 1)

    def single_rows(self) -> tuple[np.ndarray, np.ndarray, list[float]]:
        """Seeded evaluation rows scored one at a time: their positions, outputs and seconds per call (batch_vs_row
        compares them with the batch; inference_time reports the latency)."""
        def compute():
            count = min(int(self.conditions["batch_vs_row"]["rows"]), len(self.frame))
            picked = np.sort(self.rng().choice(len(self.frame), count, replace=False))
            X = self.frame[self.features]
            alone, seconds = [], []
            for position in picked:
                started = time.perf_counter()
                alone.append(self.outputs(X.iloc[[position]])[0])
                seconds.append(time.perf_counter() - started)
            return picked, np.asarray(alone), seconds
        self.need_model()
        return self.memo("single_rows", compute)

    def all_rows(self) -> pd.DataFrame:
        """Training and evaluation rows together (the data checks look at all the data the model met)."""
        def compute():
            parts = [p for p in (self.train, self.frame) if p is not None and not p.empty]
            if not parts:
                raise NotApplicable(f"{self.dataset} has no rows.")
            return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        return self.memo("all_rows", compute)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


def encode_labels(run: training.Run, values: pd.Series) -> np.ndarray:
    if run.task == "binary":
        return (values.astype(str).to_numpy() == str(run.positive)).astype(np.int8)
    if run.task == "multiclass":
        lookup = {str(c): i for i, c in enumerate(run.classes)}
        return values.astype(str).map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    return values.to_numpy(dtype=float)


def gather(lake: Lake, run, *, dataset: Optional[str], sensitive: Optional[Sequence[str]], conditions: dict,
           seed: int) -> Inputs:
    """Read and score the run's evaluation rows once (core.training owns which rows they are)."""
    trained = training.open_run(lake, run)
    run = trained.run
    version, kind = training.evaluation_source(lake, run, dataset)
    names = set(version.column_names)
    sensitive = list(run.sensitive if sensitive is None else sensitive)
    unknown = [c for c in sensitive if c not in names]
    if unknown:
        raise InputError(f"{version.ref} has no column(s) {unknown} to use as sensitive columns; it has "
                         f"{', '.join(sorted(names)[:30])}.")
    missing = [c for c in run.feature_names + [run.target] if c not in names]
    if missing:  # the model cannot score it: the data checks still run on what is there
        frame, scored = datasets.read_frame(lake, version, with_row_ids=True), None
    elif dataset is None and not len(trained.held_out_ids(lake)):  # a run without held-out rows: nothing to score
        where, params = trained.held_out_filter()
        frame, scored = datasets.read_frame(lake, version, where=where, params=params, with_row_ids=True), None
    else:
        result = training.score_run(lake, trained, dataset=dataset, extra_columns=sensitive)
        frame, scored = result.frame, result.rows
    source, _ = training.evaluation_source(lake, run, None)
    where, params = trained.held_out_filter(held_out=False)
    train = datasets.read_frame(lake, source, where=where, params=params, with_row_ids=True)
    if run.target in train.columns:
        train = train[train[run.target].notna()].reset_index(drop=True)
    return Inputs(trained=trained, dataset=version.ref, frame=frame.reset_index(drop=True),
                  scored=None if scored is None else scored.reset_index(drop=True), train=train, sensitive=sensitive,
                  conditions=conditions, seed=seed, missing_columns=missing)
