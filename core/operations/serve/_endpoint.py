"""The model behind the alias and what the endpoint knows of the lake, all refreshed off the request path:
the alias is resolved again every few seconds (promoting a champion or changing the version's threshold
switches the endpoint without a restart) and the accepted tokens are reloaded; a busy catalog only delays
the refresh, never a request. Prediction of a whole batch of requests is one call of the model."""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.errors import InputError
from core.governance import registry, tokens
from core.lake import Lake
from core.operations.scoring import score_frame
from core.operations.serve._fast import compile_model
from core.operations.serve._stats import Stats, summarize

MAX_ROWS = 10_000


@dataclass(frozen=True)
class Serving:
    """One model version as served: swapped whole, so a batch never mixes two versions."""
    version: object
    trained: object
    names: tuple
    casts: dict
    fast: object = None  # the same model called without per-call frames, when it proved identical (_fast)

    @classmethod
    def of(cls, version, trained) -> "Serving":
        casts = {f["name"]: ("text" if f["kind"] == "categorical" else "parse") for f in version.signature}
        return cls(version, trained, tuple(casts), casts, compile_model(trained.model, trained.run.task, casts))

    @property
    def scorer(self):
        """The TrainedRun predictions go through: its threshold and classes, with the fast call when there is one."""
        return replace(self.trained, model=self.fast) if self.fast is not None else self.trained


def check_rows(body: object) -> list:
    """The request's rows, structurally checked on the event loop (the signature is checked with the model)."""
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InputError('Send {"rows": [{feature: value, ...}, ...]} with at least one row.')
    if len(rows) > MAX_ROWS:
        raise InputError(f"At most {MAX_ROWS:,} rows per request, not {len(rows):,}.")
    return rows


class Endpoint:
    def __init__(self, lake: Lake, model_ref: str, actor: str, *, resolve_seconds: float | None = None):
        from core.operations import serve  # the package's setting, read when the endpoint is made (tests lower it)

        self.lake, self.ref, self.actor = lake, model_ref, actor
        self.resolve_seconds = serve.RESOLVE_SECONDS if resolve_seconds is None else resolve_seconds
        self.stats = Stats()
        version = registry.get(lake, model_ref)
        self.serving = Serving.of(*registry.open_version(lake, version))  # hash checked
        self.usecases = {version.ref: self.serving.trained.run.usecase}
        self.credentials = tokens.scoring_credentials(lake)
        self.refreshed_at, self.refresh_error = time.monotonic(), None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # What the old endpoint exposed, still read by callers -----------------------------------------------------
    @property
    def version(self):
        return self.serving.version

    @property
    def trained(self):
        return self.serving.trained

    @property
    def run(self):
        return self.serving.trained.run

    # Refreshing, in a background thread ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Resolve the alias again and reload the accepted tokens (reads the catalog; never on a request)."""
        version = registry.get(self.lake, self.ref)
        current = self.serving
        if version.ref != current.version.ref:
            self.serving = Serving.of(*registry.open_version(self.lake, version))
            self.usecases[version.ref] = self.serving.trained.run.usecase
        elif version.threshold != current.trained.threshold:  # set_threshold: same model, another decision
            self.serving = replace(current, version=version, trained=replace(current.trained, threshold=version.threshold))
        self.credentials = tokens.scoring_credentials(self.lake)
        self.refreshed_at, self.refresh_error = time.monotonic(), None

    def start_refreshing(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._refresh_loop, name="serve-refresh", daemon=True)
        self._thread.start()

    def stop_refreshing(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _refresh_loop(self) -> None:
        while not self._stop.wait(max(self.resolve_seconds, 0.05)):
            try:
                self.refresh()
            except Exception as error:  # noqa: BLE001 - a busy or unreachable catalog: keep serving what we have
                if self.refresh_error is None:
                    print(f"serve: could not refresh the model ({type(error).__name__}: {str(error)[:200]}); "
                          "still serving the last one", file=sys.stderr)
                self.refresh_error = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"

    def usecase_of(self, ref: str) -> str:
        return self.usecases[ref]

    # Prediction, in a worker thread ----------------------------------------------------------------------------
    def predict_batch(self, requests: list) -> list:
        """Answers for a batch of requests (each a list of rows), from one call of the model: per request, its
        answer dict or the InputError that refuses it. A refused request does not hold back the others."""
        serving = self.serving
        version, trained, names = serving.version, serving.trained, serving.names
        results: list = [None] * len(requests)
        taken, spans = [], []
        for k, rows in enumerate(requests):
            problem = _signature_problem(rows, names, version.ref)
            if problem:
                results[k] = InputError(problem)
                continue
            spans.append((k, len(taken), len(taken) + len(rows)))
            taken.extend(rows)
        if not taken:
            return results
        labels, scores, bad, reasons, numbers = _score(serving, taken)
        answered = np.zeros(len(taken), dtype=bool)
        for k, start, end in spans:
            if bad[start:end].any():
                first = int(np.flatnonzero(bad[start:end])[0])
                results[k] = InputError(f"Row {first}: {reasons[start + first]}.")
                continue
            answered[start:end] = True
            results[k] = {"model": version.ref, "threshold": trained.threshold, "predictions": [
                {"prediction": p, "probability": None if np.isnan(q) else float(q)}
                for p, q in zip(labels[start:end], scores[start:end])]}
        if answered.any():
            numeric = {n: values[answered] for n, values in numbers.items()}
            kept = [row for row, keep in zip(taken, answered) if keep]
            categorical = {n: [row[n] for row in kept] for n, how in serving.casts.items() if how == "text"}
            decided = Counter(str(p) for p in labels[answered]) if trained.run.task != "regression" else Counter()
            self.stats.predicted(version.ref, int(answered.sum()), decided,
                                 summarize(numeric, categorical))
        return results


def _score(serving: Serving, rows: list) -> tuple:
    """Labels, scores, which rows were refused and why, and the numeric inputs as numbers. Plain JSON rows
    (numbers and strings) go straight to the verified fast model; anything else through score_frame, which
    casts and rejects as batch scoring does."""
    fast, trained = serving.fast, serving.trained
    matrix = fast.plain_matrix(rows) if fast is not None else None
    if matrix is None:
        frame = pd.DataFrame({n: pd.Series([r[n] for r in rows], dtype=object) for n in serving.names})  # as sent
        predictions, reasons = score_frame(serving.scorer, serving.casts, frame)
        numbers = {n: pd.to_numeric(frame[n], errors="coerce").to_numpy(dtype=float)
                   for n, how in serving.casts.items() if how == "parse"}
        return (predictions["prediction"].to_numpy(), predictions["probability"].to_numpy(),
                reasons.notna().to_numpy(), reasons.to_numpy(), numbers)
    numbers = {column: matrix[:, j] for j, (column, kind) in enumerate(fast.plan) if kind == "number"}
    raw = fast.raw(matrix)
    if fast.classify:  # as score_frame decides: through the TrainedRun, at its threshold
        scores = trained.positive_score(raw) if trained.run.task == "binary" else raw.max(axis=1)
        labels = np.asarray([str(c) for c in trained.predicted_labels(raw)], dtype=object)
    else:
        labels, scores = np.asarray(raw, dtype=float).astype(str).astype(object), np.full(len(rows), np.nan)
    return labels, scores, np.zeros(len(rows), dtype=bool), [None] * len(rows), numbers


def _signature_problem(rows: list, names: tuple, ref: str) -> str | None:
    for i, row in enumerate(rows):
        missing = [n for n in names if n not in row]
        if missing:
            return f"Row {i} lacks {missing}; {ref} needs {', '.join(names)}."
        for name in names:
            value = row[name]
            if value is not None and not isinstance(value, (str, int, float, bool)):
                return f"Row {i}: {name} must be a number, text or null, not {type(value).__name__}."
    return None
