"""Model checks: against simple baselines, training against held-out performance, the same answer twice,
decisions under small nudges, features the model never uses, and how long it takes to answer."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from core import training
from core.validation._inputs import Inputs, encode_labels
from core.validation._result import STATUSES, Outcome, grade, worst

_EXAMPLES = 20


def _primary(inp: Inputs, truth: np.ndarray, output: np.ndarray) -> float:
    """The run's primary metric (ROC AUC, balanced accuracy, or RMSE) of outputs against the labels."""
    if inp.task == "binary":
        return float(skm.roc_auc_score(truth, output[:, inp.trained.positive_index]))
    if inp.task == "multiclass":
        return float(skm.balanced_accuracy_score(truth, output.argmax(axis=1)))
    return float(np.sqrt(np.mean((truth - output.ravel()) ** 2)))


def _metric_name(inp: Inputs) -> tuple[str, bool]:
    return training.PRIMARY[inp.task]


def _sample(frame: pd.DataFrame, rows: int, inp: Inputs) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame
    return frame.iloc[np.sort(inp.rng().choice(len(frame), int(rows), replace=False))]


def _known(inp: Inputs, rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    y = encode_labels(inp.run, rows[inp.run.target])
    keep = y >= 0 if inp.task == "multiclass" else np.ones(len(y), bool)
    return rows[keep], y[keep]


def baseline(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    inp.need_train()
    name, higher = _metric_name(inp)
    truth, model_out = inp.truth(), (inp.proba() if inp.classification else inp.scored["score"].to_numpy(float)[
        inp.labelled()].reshape(-1, 1))
    keep = truth >= 0 if inp.task == "multiclass" else np.ones(len(truth), bool)
    truth, model_out = truth[keep], model_out[keep]
    model = _primary(inp, truth, model_out)
    train, y_train = _known(inp, _sample(inp.train, cond["linear_rows"], inp))
    if inp.classification:
        prior = np.bincount(y_train.astype(int), minlength=len(inp.run.classes)) / len(y_train)
        naive = _primary(inp, truth, np.tile(prior, (len(truth), 1)) + inp.rng().random((len(truth), len(prior))) * 1e-9)
    else:
        naive = _primary(inp, truth, np.full((len(truth), 1), float(np.mean(y_train))))
    numeric = [f["name"] for f in inp.run.features if f["kind"] == "numeric"]
    categorical = [f["name"] for f in inp.run.features if f["kind"] != "numeric"]
    linear = training.build_pipeline("logistic", inp.task, numeric, categorical, seed=inp.seed)
    linear.fit(train[inp.features], y_train)
    X = inp.frame[inp.features].iloc[inp.labelled()][keep]
    linear_out = linear.predict_proba(X) if inp.classification else np.asarray(linear.predict(X)).reshape(-1, 1)
    simple = _primary(inp, truth, linear_out)
    sign = 1 if higher else -1
    over_naive, over_linear = sign * (model - naive), sign * (model - simple)
    margin = cond["min_gain_over_baseline"] * (1 if higher else abs(naive))
    status = "fail" if over_naive < margin else ("warn" if over_linear < -cond["linear_tolerance"] * (1 if higher else abs(simple)) else "pass")
    kind = "majority-class" if inp.classification else "mean"
    summary = (f"The model ({name} {model:.3f}) barely beats a {kind} guess ({naive:.3f})." if status == "fail" else
               f"A simple linear model ({name} {simple:.3f}) does better than this model ({model:.3f})." if status == "warn"
               else f"The model ({name} {model:.3f}) beats a {kind} guess ({naive:.3f}) and a linear model ({simple:.3f}).")
    return Outcome(status, summary, {"metric": name, "model": model, "baseline": naive, "linear": simple,
                                     "gain_over_baseline": over_naive, "gain_over_linear": over_linear,
                                     "linear_trained_on": int(len(train))})


def overfit(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    inp.need_train()
    name, higher = _metric_name(inp)
    held_truth = inp.truth()
    held_out = inp.proba() if inp.classification else inp.scored["score"].to_numpy(float)[inp.labelled()].reshape(-1, 1)
    keep = held_truth >= 0 if inp.task == "multiclass" else np.ones(len(held_truth), bool)
    held = _primary(inp, held_truth[keep], held_out[keep])
    train, y_train = _known(inp, _sample(inp.train, cond["train_rows"], inp))
    trained = _primary(inp, y_train, inp.outputs(train[inp.features]))
    gap = (trained - held) if higher else (held - trained) / max(abs(trained), 1e-12)
    status = grade(gap, cond["warn_gap"], cond["fail_gap"])
    what = "difference" if higher else "relative difference"
    summary = (f"{name} is {trained:.3f} on training rows and {held:.3f} on held-out rows: a {what} of {gap:.3f}"
               + (", the model learnt its training rows by heart." if status == "fail" else "."))
    return Outcome(status, summary, {"metric": name, "training": trained, "held_out": held, "gap": gap,
                                     "training_rows_scored": int(len(train)),
                                     "sampled": f"{len(train):,} seeded training rows (a metric's mean)"})


def stochasticity(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    first = inp.first_outputs()
    second, _ = inp.timed_outputs()
    gap = np.abs(first - second).max(axis=1)
    differ = gap > cond["tolerance"]
    ids = inp.frame["__row_id"].to_numpy()[differ][:_EXAMPLES].tolist()
    summary = (f"{int(differ.sum()):,} of {len(gap):,} rows get a different output when scored again (largest "
               f"difference {gap.max():.4g}): the model is not repeatable." if differ.any()
               else f"Scored twice, all {len(gap):,} rows get the same output.")
    return Outcome("fail" if differ.any() else "pass", summary, {"rows": int(len(gap)), "rows_differing": int(differ.sum()),
                                                                 "max_difference": float(gap.max()), "row_ids": ids})


def _neighbour(values: pd.Series) -> pd.Series:
    """Each category swapped for the next most frequent one (the last for the first)."""
    order = values.dropna().value_counts().index.tolist()
    if len(order) < 2:
        return values
    swap = {a: b for a, b in zip(order, order[1:] + order[:1])}
    return values.map(lambda v: swap.get(v, v))


def _nudges(x: pd.Series, cond: dict, rng: np.random.Generator) -> dict:
    """+1%, -1% and small noise; a whole-number column stays whole (a count nudged is still a count)."""
    values = x.astype(float)
    noise = rng.normal(0, cond["noise_std_share"] * float(np.nanstd(values) or 1.0), len(values))
    out = {"+1%": values * (1 + cond["relative_nudge"]), "-1%": values * (1 - cond["relative_nudge"]), "noise": values + noise}
    finite = values.dropna()
    if len(finite) and np.array_equal(finite, np.round(finite)):
        out = {k: v.round() for k, v in out.items()}
    return out


def _batched(inp: Inputs, frames: list, *, outputs: bool = False) -> list[np.ndarray]:
    """The model's decisions (or outputs) for several frames of equal length, scored as one batch."""
    joined = pd.concat(frames, ignore_index=True)
    scored = inp.outputs(joined) if outputs else inp.decisions(joined)
    return np.split(scored, len(frames))


def robustness(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    X = _sample(inp.frame[inp.features], cond["rows"], inp)
    base = inp.decisions(X)
    regression = not inp.classification
    spread = float(np.std(base)) if regression else 0.0
    rng = inp.rng()
    trials = []  # (feature, nudge, changed values, limits)
    for f in inp.run.features:
        column = f["name"]
        if f["kind"] == "numeric" and pd.api.types.is_numeric_dtype(X[column]):
            limits = (cond["warn_flip_share"], cond["fail_flip_share"])
            trials += [(column, nudge, changed, limits) for nudge, changed in _nudges(X[column], cond, rng).items()]
        else:
            trials.append((column, "neighbour category", _neighbour(X[column]), (cond["category_warn_flip_share"], np.inf)))
    # every nudged copy scored in one call: the model's per-call overhead is paid once
    outs = _batched(inp, [X.assign(**{column: changed}) for column, _, changed, _ in trials]) if trials else []
    rows = []
    for (column, nudge, _, limits), out in zip(trials, outs):
        flipped = np.abs(out - base) > 0.1 * spread if regression else out != base
        share = float(flipped.mean())
        rows.append({"feature": column, "nudge": nudge, "flip_share": share, "flipped_rows": int(flipped.sum()),
                     "status": grade(share, *limits)})
    rows.sort(key=lambda r: (-STATUSES.index(r["status"]), -r["flip_share"]))
    status = worst(r["status"] for r in rows)
    top = rows[0] if rows else None
    what = "predictions move by over a tenth of their spread" if regression else "decisions flip"
    summary = (f"Nudging {top['feature']} ({top['nudge']}) makes {top['flip_share']:.1%} of {what}." if top and
               status != "pass" else f"Small nudges change few outcomes (at most {top['flip_share']:.2%} of "
               f"rows, {top['feature']} {top['nudge']})." if top else "No feature to nudge.")
    return Outcome(status, summary, {"by_feature": rows, "rows": int(len(X)), "outcome": what,
                                     "sampled": f"{len(X):,} seeded held-out rows (a share of flips: its standard error "
                                                f"is under {0.5 / np.sqrt(max(len(X), 1)):.3f})"})


def unused_features(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    X = _sample(inp.frame[inp.features], cond["rows"], inp).reset_index(drop=True)
    base = inp.outputs(X)
    rng = inp.rng()
    shuffled = [X.assign(**{column: X[column].to_numpy()[rng.permutation(len(X))]}) for column in inp.features]
    outs = _batched(inp, shuffled, outputs=True)
    changes = {column: float(np.abs(out - base).max(axis=1).mean()) for column, out in zip(inp.features, outs)}
    ranked = dict(sorted(changes.items(), key=lambda kv: kv[1]))
    unused = [c for c, v in ranked.items() if v < cond["min_mean_change"]]
    summary = (f"{len(unused)} feature(s) never change the model's output when shuffled: {', '.join(unused)}." if unused
               else f"Every one of the {len(changes)} features moves the model's output when shuffled.")
    return Outcome("warn" if unused else "pass", summary, {"unused": unused, "mean_output_change": ranked,
                                                          "sampled": f"{len(X):,} seeded rows, each feature shuffled"})


def inference_time(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    _, seconds = inp.timed_outputs()
    per_row = 1000 * seconds / max(len(inp.frame), 1)
    _, _, single = inp.single_rows()
    single_ms = 1000 * float(np.median(single))
    status = worst([grade(per_row, cond["warn_ms_per_row"], cond["fail_ms_per_row"]),
                    grade(single_ms, cond["warn_single_row_ms"], cond["fail_single_row_ms"])])
    summary = (f"Scoring takes {per_row:.3f} ms per row in a batch of {len(inp.frame):,} "
               f"({len(inp.frame) / max(seconds, 1e-9):,.0f} rows/s) and {single_ms:.1f} ms for one row alone.")
    return Outcome(status, summary, {"batch_rows": int(len(inp.frame)), "batch_seconds": seconds,
                                     "ms_per_row": per_row, "rows_per_second": len(inp.frame) / max(seconds, 1e-9),
                                     "single_row_ms_median": single_ms, "single_rows_timed": len(single)})


CHECKS = {"baseline": baseline, "overfit": overfit, "stochasticity": stochasticity, "robustness": robustness,
          "unused_features": unused_features, "inference_time": inference_time}
