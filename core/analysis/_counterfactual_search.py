"""The batched random counterfactual search behind `counterfactuals` (dice-ml's "random" method; the
semantics are in that module's docstring), written for speed:

- Rows go in fixed chunks, each with its own seed (the run's seed and the chunk's first position),
  so a chunk gives the same counterfactuals in this process or on a Dask worker.
- Assay's models are Pipelines whose encoding works column by column, so each row and each sampled
  value is encoded once and candidates are assembled in the encoded space: a search step is one
  predict call of the final estimator over every candidate of the chunk, with no DataFrame per step.
  Other models (fairness-mitigated ones) are called on raw rows, the same way.
- Candidates are tracked as codes (which sampled value, or the original, each feature holds), so
  validity, distinct answers, sparsity and distance are array operations, not Python loops.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core import compute
from core.progress import Progress, report

SAMPLE_SIZE = 1_000
CHUNK_CANDIDATES = 400_000  # candidates predicted in one call (rows per chunk = this / sample size)
GOAL_COLUMN = "__cf_goal"


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
        return self.accepts(_output(model, X, self.task))

    def accepts(self, output: np.ndarray) -> np.ndarray:
        """Validity from the model's output: probabilities (classification) or predictions (regression)."""
        if self.task == "regression":
            return (output >= self.low) & (output <= self.high)
        if self.threshold is not None:
            positive = output[:, self.positive_index] >= self.threshold
            decided = np.where(positive, self.positive_index, 1 - self.positive_index)
            return decided == self.target_index
        return output.argmax(axis=1) == self.target_index


def _output(model, X, task: str) -> np.ndarray:
    kwargs = compute.lightgbm_kwargs(model)
    if task == "regression":
        return np.asarray(model.predict(X, **kwargs), dtype=float)
    return model.predict_proba(X, **kwargs)


class Scorer:
    """The model's output on raw rows or on rows already encoded by its own Pipeline steps."""

    def __init__(self, model, task: str, cuts: Optional[list] = None):
        self.model, self.task = model, task
        named = getattr(model, "named_steps", {})
        self.encoded = "encode" in named and "clean" in named  # Assay's Pipeline: column-by-column encoding
        if self.encoded:
            from core.analysis.explain import encoded_groups

            self.prepare, self.final = Pipeline(model.steps[:-1]), model.steps[-1][1]
            groups = np.asarray(encoded_groups(model), dtype=object)
            self.columns_of = {f: np.flatnonzero(groups == f) for f in dict.fromkeys(groups)}
            self.cuts = cuts

    def encode(self, frame: pd.DataFrame):
        return np.asarray(self.prepare.transform(frame), dtype=float) if self.encoded else frame

    def output(self, X) -> np.ndarray:
        if not self.encoded:
            return _output(self.model, X, self.task)
        if self.cuts is None or len(X) < 2:
            return _output(self.final, X, self.task)
        # Candidates between the same split points of every tree get the same output: predict each once.
        keys = np.column_stack([_bins(X[:, j], cut) for j, cut in enumerate(self.cuts)])
        keys = np.ascontiguousarray(keys)
        _, first, back = np.unique(keys.view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1]))).ravel(),
                                   return_index=True, return_inverse=True)
        return _output(self.final, X[first], self.task)[back.ravel()]

    def valid(self, frame: pd.DataFrame, goal_index: np.ndarray, goals: list[Goal]) -> np.ndarray:
        return accepted(self.output(self.encode(frame)), goal_index, goals)


def split_points(model) -> Optional[list]:
    """Per encoded column, the thresholds a LightGBM model (the final step of a Pipeline) splits it at, or
    None when it is not LightGBM or splits by category or treats zero as missing (keys would not be exact)."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if not type(final).__name__.startswith("LGBM"):
        return None
    dumped = final.booster_.dump_model()
    found: list[list[float]] = [[] for _ in dumped["feature_names"]]
    stack = [tree["tree_structure"] for tree in dumped["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" not in node:
            continue
        if node["decision_type"] != "<=" or node["missing_type"] == "Zero":
            return None
        found[node["split_feature"]].append(float(node["threshold"]))
        stack += [node["left_child"], node["right_child"]]
    return [np.unique(np.asarray(values, dtype=float)) for values in found]


def _bins(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Which interval between split points each value falls in (a split sends v <= t left); NaN apart."""
    return np.where(np.isnan(values), -1, np.searchsorted(cuts, values, side="left")).astype(np.int32)


def accepted(output: np.ndarray, goal_index: np.ndarray, goals: list[Goal]) -> np.ndarray:
    ok = np.zeros(len(goal_index), dtype=bool)
    for g, goal in enumerate(goals):
        mask = goal_index == g
        if mask.any():
            ok[mask] = goal.accepts(output[mask])
    return ok


def generate(model, rows: pd.DataFrame, space: Space, goals: list[Goal], goal_index: np.ndarray, *, count: int,
             sample_size: int = SAMPLE_SIZE, seed: int = 0, sparsity: bool = True, scheduler: Optional[str] = None,
             progress: Optional[Progress] = None) -> list[list[dict]]:
    """Counterfactuals for each row (model features only); row i seeks goals[goal_index[i]]."""
    if not len(rows):
        return []
    frame = rows[space.features].reset_index(drop=True).assign(**{GOAL_COLUMN: np.asarray(goal_index, dtype=int)})
    per_chunk = max(1, CHUNK_CANDIDATES // sample_size)
    cuts = split_points(model)
    parts = compute.map_row_chunks(_chunk, frame, args=(model, cuts, space, goals, count, sample_size, seed, sparsity),
                                   chunk_rows=per_chunk, scheduler=scheduler, label="rows searched",
                                   progress=lambda f, m: report(progress, 0.95 * f, f"Counterfactuals: {m}"))
    return [found for part in parts for found in part]


def _chunk(frame: pd.DataFrame, start: int, model, cuts: Optional[list], space: Space, goals: list[Goal], count: int, size: int,
           seed: int, sparsity: bool) -> list[list[dict]]:
    rng = np.random.default_rng([abs(int(seed)), int(start)])  # the chunk's own stream: same anywhere it runs
    rows = frame[space.features].reset_index(drop=True)
    goal_index = frame[GOAL_COLUMN].to_numpy()
    scorer = Scorer(model, goals[0].task if goals else "classification", cuts)
    found = _search(scorer, rows, space, goals, goal_index, count, size, rng)
    if sparsity:
        found = _sparser(scorer, rows, space, goals, goal_index, found)
    return _as_dicts(found, space)


def _sample(space: Space, column: str, size: int, rng: np.random.Generator) -> np.ndarray:
    if column in space.ranges:
        low, high = space.ranges[column]
        decimals = space.precision[column]
        if decimals == 0:
            return rng.integers(int(np.floor(low)), int(np.floor(high)) + 1, size).astype(float)
        return np.round(rng.uniform(low, high + 10 ** -decimals, size), decimals).clip(low, high)
    return rng.choice(np.asarray(space.categories[column], dtype=object), size)


@dataclass
class _Codes:
    """Each vary feature's distinct sampled values, and which of them each original row holds (-1: none)."""
    values: list[np.ndarray]   # j -> distinct sampled values
    sample: np.ndarray         # (size, V): code of each sampled value
    original: np.ndarray       # (n, V): code of each row's own value, -1 if not among the samples


def _codes(rows: pd.DataFrame, space: Space, samples: dict) -> _Codes:
    values, sample, original = [], [], []
    for column in space.vary:
        numeric = column in space.ranges
        drawn = samples[column].astype(float) if numeric else samples[column].astype(str)
        distinct, inverse = np.unique(drawn, return_inverse=True)
        own = rows[column].to_numpy(dtype=float) if numeric else \
            rows[column].astype(object).where(rows[column].notna(), None).to_numpy()
        lookup = pd.Index(distinct)
        mine = lookup.get_indexer(own if numeric else np.array([None if v is None else str(v) for v in own],
                                                                  dtype=object))
        values.append(distinct)
        sample.append(inverse)
        original.append(mine)
    return _Codes(values, np.stack(sample, axis=1), np.stack(original, axis=1))


def _search(scorer: Scorer, rows: pd.DataFrame, space: Space, goals: list[Goal], goal_index: np.ndarray, count: int,
            size: int, rng: np.random.Generator) -> "_Found":
    n, V = len(rows), len(space.vary)
    samples = {c: _sample(space, c, size, rng) for c in space.vary}  # dice-ml: one sample set per query
    codes = _codes(rows, space, samples)
    assemble = _assembler(scorer, rows, space, samples)
    owner, position = np.repeat(np.arange(n), size), np.tile(np.arange(size), n)
    replaced = np.zeros((n * size, V), dtype=bool)
    cap = max(20, 4 * count)  # valid candidates kept per row and step: enough to choose the closest
    active = np.ones(n, dtype=bool)
    kept_owner, kept_codes = [], []
    for step in range(1, V + 1):
        replaced[np.arange(n * size), rng.integers(0, V, n * size)] = True
        live = np.flatnonzero(active[owner])
        ok = accepted(scorer.output(assemble(owner[live], position[live], replaced[live])), goal_index[owner[live]],
                      goals)
        hits = live[ok]
        first = np.searchsorted(owner[hits], owner[hits], side="left")  # hits are in row order
        hits = hits[np.arange(len(hits)) - first < cap]
        kept_owner.append(owner[hits])
        kept_codes.append(np.where(replaced[hits], codes.sample[position[hits]], codes.original[owner[hits]]))
        distinct = _distinct(np.concatenate(kept_owner), np.concatenate(kept_codes))
        if step >= 2:
            active &= np.bincount(np.concatenate(kept_owner)[distinct], minlength=n) < count
        if not active.any():
            break
    every_owner, every_code = np.concatenate(kept_owner), np.concatenate(kept_codes)
    distinct = np.sort(_distinct(every_owner, every_code))
    return _choose(rows, space, codes, every_owner[distinct], every_code[distinct], count)


def _distinct(owner: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct (row, candidate)."""
    if not len(owner):
        return np.zeros(0, dtype=int)
    keyed = np.ascontiguousarray(np.column_stack([owner, code]).astype(np.int64))
    _, first = np.unique(keyed.view(np.dtype((np.void, keyed.dtype.itemsize * keyed.shape[1]))).ravel(),
                         return_index=True)
    return first


def _assembler(scorer: Scorer, rows: pd.DataFrame, space: Space, samples: dict):
    """A function (owner, position, replaced) -> the model's input for those candidates."""
    stand_in = rows.iloc[np.zeros(len(next(iter(samples.values()))), dtype=int)].reset_index(drop=True)
    sampled = stand_in.assign(**{c: samples[c] for c in space.vary})
    if scorer.encoded:
        base, drawn = scorer.encode(rows), scorer.encode(sampled)
        blocks = [scorer.columns_of[c] for c in space.vary]

        def encoded(owner, position, replaced):
            out = base[owner]
            for j, columns in enumerate(blocks):
                swap = replaced[:, j]
                out[np.ix_(swap, columns)] = drawn[np.ix_(position[swap], columns)]
            return out
        return encoded

    def raw(owner, position, replaced):
        out = {c: rows[c].to_numpy()[owner] for c in space.features}
        for j, column in enumerate(space.vary):
            out[column] = np.where(replaced[:, j], sampled[column].to_numpy()[position], out[column])
        return pd.DataFrame(out)
    return raw


@dataclass
class _Found:
    """The chosen counterfactuals of a chunk as one frame (raw values), with the row each belongs to."""
    frame: pd.DataFrame
    owner: np.ndarray
    rows: int


def _choose(rows: pd.DataFrame, space: Space, codes: _Codes, owner: np.ndarray, code: np.ndarray,
            count: int) -> _Found:
    """Fewest changed features, then smallest range-normalized distance; one per set of changed features
    first (diverse answers), then the closest others; `count` per row."""
    changed = code != codes.original[owner]
    distance = np.zeros(len(owner))
    for j, column in enumerate(space.vary):
        if column in space.ranges:
            low, high = space.ranges[column]
            own = rows[column].to_numpy(dtype=float)[owner]
            moved = codes.values[j][np.maximum(code[:, j], 0)]
            step = np.where(np.isnan(own), 1.0, np.abs(moved - own) / max(high - low, 1e-12))
        else:
            step = np.ones(len(owner))
        distance += np.where(changed[:, j], step, 0.0)
    n_changed = changed.sum(axis=1)
    keep = n_changed > 0
    order = np.flatnonzero(keep)[np.lexsort((distance[keep], n_changed[keep], owner[keep]))]
    packed = np.packbits(changed[order], axis=1)
    sets = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_inverse=True)[1].ravel()
    keyed = owner[order].astype(np.int64) * (sets.max() + 1 if len(sets) else 1) + sets
    first_of_set = np.zeros(len(order), dtype=bool)
    first_of_set[np.unique(keyed, return_index=True)[1]] = True
    ranked = order[np.lexsort((np.arange(len(order)), ~first_of_set, owner[order]))]
    starts = np.searchsorted(owner[ranked], owner[ranked], side="left")
    chosen = ranked[np.arange(len(ranked)) - starts < count]
    frame = rows.iloc[owner[chosen]].reset_index(drop=True).copy()
    for j, column in enumerate(space.vary):
        swap = changed[chosen, j]
        values = codes.values[j][np.maximum(code[chosen, j], 0)]
        if column in space.ranges:
            frame[column] = np.where(swap, values, frame[column].to_numpy(dtype=float))
        else:
            frame[column] = np.where(swap, values, frame[column].astype(object).to_numpy())
    return _Found(frame=frame, owner=owner[chosen], rows=len(rows))


def _sparser(scorer: Scorer, rows: pd.DataFrame, space: Space, goals: list[Goal], goal_index: np.ndarray,
             found: _Found, steps: int = 7) -> _Found:
    """dice-ml's post-hoc sparsity, batched: for each feature in turn, every counterfactual that changed
    it tries the original value (kept if still valid), and numbers binary-search the closest valid value.
    With an encoded model the trials edit the encoded rows (no re-encoding per trial)."""
    cfs, originals = found.frame, rows.iloc[found.owner].reset_index(drop=True)
    wanted = goal_index[found.owner]
    trials = _Trials(scorer, cfs, originals, rows)
    for column in space.vary:
        numeric = column in space.ranges
        mine, theirs = originals[column], cfs[column]
        if numeric:
            a, b = mine.to_numpy(dtype=float), theirs.to_numpy(dtype=float)
            todo = np.flatnonzero(~((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) < 1e-9)))
        else:
            todo = np.flatnonzero(mine.astype(str).to_numpy() != theirs.astype(str).to_numpy())
        if not len(todo):
            continue
        good = trials.valid(column, todo, None, wanted[todo], goals)
        trials.keep(column, todo[good], None)
        if not numeric:
            continue
        todo = todo[~good & ~np.isnan(a[todo])]
        if not len(todo):
            continue
        start, end = a[todo], b[todo]
        low, high = np.zeros(len(todo)), np.ones(len(todo))  # fraction of the way from original to counterfactual
        for _ in range(steps):
            middle = (low + high) / 2
            good = trials.valid(column, todo, np.round(start + middle * (end - start), space.precision[column]),
                                wanted[todo], goals)
            high, low = np.where(good, middle, high), np.where(good, low, middle)
        trials.keep(column, todo, np.round(start + high * (end - start), space.precision[column]))
    return found


class _Trials:
    """Counterfactuals with one feature set to other values (None: each row's original), checked by the model."""

    def __init__(self, scorer: Scorer, cfs: pd.DataFrame, originals: pd.DataFrame, rows: pd.DataFrame):
        self.scorer, self.cfs, self.originals = scorer, cfs, originals
        if scorer.encoded:
            self.encoded, self.encoded_originals = scorer.encode(cfs), scorer.encode(originals)
            self.affine = {c: _affine(scorer, rows, c) for c in cfs.columns}

    def _block(self, column: str, todo: np.ndarray, values: Optional[np.ndarray]) -> Optional[np.ndarray]:
        columns = self.scorer.columns_of[column]
        if values is None:
            return self.encoded_originals[np.ix_(todo, columns)]
        line = self.affine.get(column)
        if line is None:
            return None
        return (line[0] * values + line[1])[:, None]

    def valid(self, column: str, todo: np.ndarray, values: Optional[np.ndarray], wanted: np.ndarray,
              goals: list[Goal]) -> np.ndarray:
        block = self._block(column, todo, values) if self.scorer.encoded else None
        if block is None:
            trial = self.cfs.iloc[todo].assign(**{column: self._raw(column, todo, values)})
            return self.scorer.valid(trial, wanted, goals)
        trial = self.encoded[todo]
        trial[:, self.scorer.columns_of[column]] = block
        return accepted(self.scorer.output(trial), wanted, goals)

    def keep(self, column: str, todo: np.ndarray, values: Optional[np.ndarray]) -> None:
        if not len(todo):
            return
        if self.scorer.encoded:
            block = self._block(column, todo, values)
            if block is None:
                block = self.scorer.encode(self.cfs.iloc[todo].assign(**{column: self._raw(column, todo, values)}))[
                    :, self.scorer.columns_of[column]]
            self.encoded[np.ix_(todo, self.scorer.columns_of[column])] = block
        self.cfs.loc[todo, column] = self._raw(column, todo, values)

    def _raw(self, column: str, todo: np.ndarray, values: Optional[np.ndarray]) -> np.ndarray:
        return self.originals[column].iloc[todo].to_numpy() if values is None else values


def _affine(scorer: Scorer, rows: pd.DataFrame, column: str) -> Optional[tuple[float, float]]:
    """(a, b) when the model encodes every known value v of a numeric column as a * v + b in one column
    (passthrough, imputation, scaling); None otherwise (then trials are encoded in full)."""
    if len(scorer.columns_of.get(column, ())) != 1 or not pd.api.types.is_numeric_dtype(rows[column]):
        return None
    probe = rows.iloc[[0, 0, 0]].assign(**{column: [0.0, 1.0, 3.75]})
    zero, one, check = scorer.encode(probe)[:, scorer.columns_of[column][0]]
    a, b = one - zero, zero
    return (a, b) if np.isclose(check, a * 3.75 + b) else None


def _as_dicts(found: _Found, space: Space) -> list[list[dict]]:
    out: list[list[dict]] = [[] for _ in range(found.rows)]
    for i, record in zip(found.owner, found.frame[space.features].to_dict("records")):
        out[i].append(record)
    return out
