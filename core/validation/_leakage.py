"""Leakage checks: held-out rows that are training rows, an identifier or a single feature that gives the label
away, a time split whose held-out rows come before training, and a model whose answer for a row depends on
the batch it is scored in."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.validation._inputs import Inputs, encode_labels
from core.validation._result import NotApplicable, Outcome, grade
from core.validation._stats import predictive_power

_EXAMPLES = 20


def _hash(rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(rows[columns], index=False).to_numpy()


def train_test_overlap(inp: Inputs, cond: dict) -> Outcome:
    inp.need_rows()
    inp.need_train()
    columns = [c for c in inp.features + [inp.run.target] if c in inp.frame.columns and c in inp.train.columns]
    if not columns:
        raise NotApplicable(f"{inp.dataset} shares no column with the run's training rows.")
    seen = pd.Series(np.arange(len(inp.train)), index=_hash(inp.train, columns))
    seen = seen[~seen.index.duplicated()]
    held = _hash(inp.frame, columns)
    shared = np.isin(held, seen.index.to_numpy())
    share = float(shared.mean())
    status = grade(share, cond["warn_share"], cond["fail_share"]) if shared.any() else "pass"
    held_ids = inp.frame.loc[shared, "__row_id"].head(_EXAMPLES).tolist()
    train_ids = inp.train["__row_id"].to_numpy()[seen.loc[held[shared][:_EXAMPLES]].to_numpy()].tolist()
    summary = (f"{int(shared.sum()):,} held-out row(s) ({share:.2%}) are identical to training rows, e.g. held-out row "
               f"{held_ids[0]} = training row {train_ids[0]}." if shared.any()
               else f"None of the {len(held):,} held-out rows is identical to a training row.")
    return Outcome(status, summary, {"shared_rows": int(shared.sum()), "share": share, "held_out_row_ids": held_ids,
                                     "training_row_ids": train_ids, "columns_compared": columns,
                                     "held_out_rows": int(len(held)), "training_rows": int(len(inp.train))})


def _halves(inp: Inputs) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Rows to learn a single column's encoding on and rows to judge it on: training and held-out rows, or
    (without held-out rows) two seeded halves of the rows there are."""
    target = inp.run.target
    test = inp.frame[inp.frame[target].notna()] if target in inp.frame.columns else inp.frame.iloc[:0]
    if inp.train is not None and not inp.train.empty and not test.empty:
        return inp.train, test, "learnt on the training rows, judged on the held-out rows"
    rows = inp.all_rows()
    rows = rows[rows[target].notna()]
    pick = inp.rng().random(len(rows)) < 0.5
    return rows[pick], rows[~pick], "learnt on a seeded half of the rows, judged on the other half (no held-out rows)"


def _powers(inp: Inputs, columns: list[str], bins: int) -> tuple[dict, str]:
    inp.need_labels()
    learn, judge, how = _halves(inp)
    y_learn, y_judge = encode_labels(inp.run, learn[inp.run.target]), encode_labels(inp.run, judge[inp.run.target])
    if inp.task == "multiclass":
        keep_l, keep_j = y_learn >= 0, y_judge >= 0
        learn, y_learn, judge, y_judge = learn[keep_l], y_learn[keep_l], judge[keep_j], y_judge[keep_j]
    classes = len(inp.run.classes or [])
    out = {c: predictive_power(learn[c], y_learn, judge[c], y_judge, task=inp.task, bins=bins, classes=classes)
           for c in columns}
    return {c: v for c, v in out.items() if v is not None}, how


def _measure(inp: Inputs) -> str:
    return "R2" if inp.task in ("regression", "timeseries") else "ROC AUC"


def _limits(inp: Inputs, cond: dict) -> tuple[float, float]:
    if inp.task in ("regression", "timeseries"):
        return cond["warn_r2"], cond["fail_r2"]
    return cond["warn_auc"], cond["fail_auc"]


def identifier_label(inp: Inputs, cond: dict) -> Outcome:
    rows = inp.all_rows()
    candidates = []
    for column in rows.columns:
        if column in ("__row_id", inp.run.target) or pd.api.types.is_float_dtype(rows[column]) \
                or pd.api.types.is_datetime64_any_dtype(rows[column]) or pd.api.types.is_bool_dtype(rows[column]):
            continue
        named = column.lower() == "id" or column.lower().endswith("_id")
        distinct = rows[column].nunique() / max(len(rows), 1)
        if named or distinct >= cond["min_distinct_share"]:
            candidates.append(column)
    if not candidates:
        return Outcome("pass", "No column looks like an identifier.", {"columns": {}})
    powers, how = _powers(inp, candidates, bins=20)
    warn, fail = _limits(inp, cond)
    worst = max(powers.items(), key=lambda kv: kv[1], default=(None, None))
    status = grade(worst[1], warn, fail)
    measure = _measure(inp)
    summary = (f"The identifier {worst[0]} predicts the label on its own ({measure} {worst[1]:.3f}): ids were "
               "assigned in a way that encodes the outcome." if status != "pass" else
               f"No identifier-like column predicts the label ({', '.join(candidates)}; best {measure} "
               f"{worst[1]:.3f})." if worst[0] else "No identifier-like column could be judged.")
    return Outcome(status, summary, {"columns": dict(sorted(powers.items(), key=lambda kv: -kv[1])), "measure": measure,
                                     "column": worst[0] if status != "pass" else None, "how": how})


def feature_label_leakage(inp: Inputs, cond: dict) -> Outcome:
    columns = [c for c in inp.features if c in inp.frame.columns]
    if not columns:
        raise NotApplicable(f"{inp.dataset} has none of the model's features.")
    powers, how = _powers(inp, columns, bins=int(cond["bins"]))
    ranked = dict(sorted(powers.items(), key=lambda kv: -kv[1]))
    warn, fail = _limits(inp, cond)
    measure = _measure(inp)
    leaking = [c for c, v in ranked.items() if v >= warn]
    status = grade(next(iter(ranked.values()), None), warn, fail)
    model = inp.run.metrics.get("roc_auc" if measure == "ROC AUC" else "r2")
    first = next(iter(ranked.items()), (None, None))
    summary = (f"{first[0]} alone predicts the label almost as well as a model should ({measure} {first[1]:.3f} on "
               f"its own{f'; the whole model {model:.3f}' if isinstance(model, (int, float)) else ''}): check that it "
               "is known before the outcome." if status != "pass" else
               f"No single feature predicts the label suspiciously well (best: {first[0]}, {measure} {first[1]:.3f})."
               if first[0] else "No feature could be judged.")
    return Outcome(status, summary, {"features": ranked, "leaking": leaking, "measure": measure, "how": how,
                                     "model_metric": model})


def date_leakage(inp: Inputs, cond: dict) -> Outcome:
    inp.need_rows()
    inp.need_train()
    column = (inp.run.split or {}).get("time_column")
    if (inp.run.split or {}).get("method") != "time" or not column:
        raise NotApplicable(f"Run {inp.run.run_id} split its rows at random, not by time, so no held-out period can "
                            "come before training; train with --split time:COLUMN to test on later rows.")
    if column not in inp.frame.columns:
        raise NotApplicable(f"{inp.dataset} has no {column!r} column (the run's time column).")
    latest = pd.to_datetime(inp.train[column]).max()
    held = pd.to_datetime(inp.frame[column])
    early = (held < latest).to_numpy()
    share = float(early.mean())
    status = grade(share, cond["warn_share"], cond["fail_share"]) if early.any() else "pass"
    summary = (f"{int(early.sum()):,} held-out row(s) ({share:.2%}) are dated before the latest training row "
               f"({latest}): the model was tested on its own period." if early.any()
               else f"Every held-out row is dated at or after the latest training row ({latest}).")
    return Outcome(status, summary, {"time_column": column, "latest_training": str(latest),
                                     "earliest_held_out": str(held.min()), "rows_before": int(early.sum()),
                                     "share": share, "row_ids": inp.frame.loc[early, "__row_id"].head(_EXAMPLES).tolist()})


def batch_vs_row(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    batch = inp.first_outputs()
    picked, alone, _ = inp.single_rows()
    count = len(picked)
    gap = np.abs(alone - batch[picked]).max(axis=1)
    differ = gap > cond["tolerance"]
    ids = inp.frame["__row_id"].to_numpy()[picked[differ]][:_EXAMPLES].tolist()
    summary = (f"{int(differ.sum())} of {count} rows get a different output scored alone than in a batch (largest "
               f"difference {gap.max():.4g}), e.g. row {ids[0]}." if differ.any()
               else f"Each of {count} sampled rows gets the same output alone as in the batch of all "
                    f"{len(inp.frame):,} rows.")
    return Outcome("fail" if differ.any() else "pass", summary, {
        "rows_compared": count, "rows_differing": int(differ.sum()), "max_difference": float(gap.max()),
        "row_ids": ids, "sampled": f"{count} seeded rows scored one by one (each row alone is one model call)"})


CHECKS = {"train_test_overlap": train_test_overlap, "identifier_label": identifier_label,
          "feature_label_leakage": feature_label_leakage, "date_leakage": date_leakage, "batch_vs_row": batch_vs_row}
