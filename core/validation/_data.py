"""Data checks over every row the model met (its training rows and the evaluation rows): columns with one
value, mixed types, duplicates, conflicting labels, spellings of one value, outliers, class imbalance and
missingness that predicts the label."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from core.validation._inputs import Inputs, encode_labels
from core.validation._result import NotApplicable, Outcome, grade

_EXAMPLES = 20


def _columns(inp: Inputs, rows: pd.DataFrame) -> list[str]:
    """The model's features and sensitive columns present in the rows."""
    return [c for c in dict.fromkeys(inp.features + inp.sensitive) if c in rows.columns]


def _scope(rows: pd.DataFrame, inp: Inputs) -> dict:
    return {"rows_checked": int(len(rows)), "rows": "training and evaluation rows" if inp.train is not None
            and not inp.train.empty and not inp.frame.empty else "the rows available"}


def single_value(inp: Inputs, cond: dict) -> Outcome:
    rows = inp.all_rows()
    columns = _columns(inp, rows)
    distinct = {c: int(rows[c].nunique(dropna=False)) for c in columns}
    single = [c for c, n in distinct.items() if n <= cond["max_distinct_for_single"]]
    summary = (f"{len(single)} column(s) hold a single value and tell the model nothing: {', '.join(single)}." if single
               else f"Every one of the {len(columns)} columns holds more than one value.")
    return Outcome("warn" if single else "pass", summary, {"columns": single, "distinct": distinct, **_scope(rows, inp)})


def _text_columns(inp: Inputs, rows: pd.DataFrame) -> list[str]:
    """The checked columns that hold text (neither numbers nor dates)."""
    return [c for c in _columns(inp, rows) if not (pd.api.types.is_numeric_dtype(rows[c])
                                                   or pd.api.types.is_datetime64_any_dtype(rows[c]))]


def mixed_types(inp: Inputs, cond: dict) -> Outcome:
    rows = inp.all_rows()
    found = []
    for column in _text_columns(inp, rows):
        counts = rows[column].dropna().astype(str).value_counts()
        if counts.empty:
            continue
        numeric = pd.to_numeric(pd.Series(counts.index), errors="coerce").notna().to_numpy()
        share = float(counts.to_numpy()[numeric].sum() / counts.sum())
        minority = min(share, 1 - share)
        if minority >= cond["min_minority_share"]:
            found.append({"column": column, "numbers_share": round(share, 6),
                          "number_examples": list(counts.index[numeric][:5]), "text_examples": list(counts.index[~numeric][:5])})
    summary = (f"{len(found)} column(s) mix numbers and text: {', '.join(f['column'] for f in found)}." if found
               else "No column mixes numbers and text.")
    return Outcome("warn" if found else "pass", summary, {"columns": found, **_scope(rows, inp)})


def _hashes(rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(rows[columns], index=False).to_numpy()


def duplicates(inp: Inputs, cond: dict) -> Outcome:
    rows = inp.all_rows()
    columns = _columns(inp, rows) + ([inp.run.target] if inp.run.target in rows.columns else [])
    repeated = pd.Series(_hashes(rows, columns)).duplicated().to_numpy()
    share = float(repeated.mean()) if len(rows) else 0.0
    status = grade(share, cond["warn_share"], cond["fail_share"]) if repeated.any() else "pass"
    examples = rows.loc[repeated, "__row_id"].head(_EXAMPLES).tolist() if "__row_id" in rows else []
    summary = (f"{int(repeated.sum()):,} row(s) ({share:.2%}) repeat an earlier row exactly." if repeated.any()
               else "No row repeats another exactly.")
    return Outcome(status, summary, {"duplicate_rows": int(repeated.sum()), "share": share, "row_ids": examples,
                                     "columns_compared": columns, **_scope(rows, inp)})


def conflicting_labels(inp: Inputs, cond: dict) -> Outcome:
    inp.need_labels()
    rows = inp.all_rows()
    rows = rows[rows[inp.run.target].notna()]
    features = [c for c in inp.features if c in rows.columns]
    if not features:
        raise NotApplicable(f"{inp.dataset} has none of the model's features.")
    key = pd.Series(_hashes(rows, features), index=rows.index)
    labels = rows[inp.run.target].astype(str)
    per_key = labels.groupby(key).nunique()
    conflicted = key.isin(per_key.index[per_key > 1]).to_numpy()
    share = float(conflicted.mean()) if len(rows) else 0.0
    status = grade(share, cond["warn_share"], cond["fail_share"]) if conflicted.any() else "pass"
    examples = rows.loc[conflicted, "__row_id"].head(_EXAMPLES).tolist() if "__row_id" in rows else []
    summary = (f"{int(conflicted.sum()):,} row(s) ({share:.2%}) have identical features but different labels."
               if conflicted.any() else "No two rows with identical features disagree on the label.")
    return Outcome(status, summary, {"rows": int(conflicted.sum()), "share": share, "groups": int((per_key > 1).sum()),
                                     "row_ids": examples, **_scope(rows, inp)})


def _normal_form(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def string_mismatch(inp: Inputs, cond: dict) -> Outcome:
    rows = inp.all_rows()
    found = []
    for column in _text_columns(inp, rows):
        distinct = pd.Series(rows[column].dropna().astype(str).unique())
        if len(distinct) > 5_000:
            continue
        groups = distinct.groupby(distinct.map(_normal_form)).agg(list)
        for base, variants in groups.items():
            if len(variants) > 1:
                found.append({"column": column, "normal_form": base, "variants": sorted(variants)[:10]})
    status = "warn" if len(found) > cond["max_variant_groups"] else "pass"
    summary = (f"{len(found)} value(s) are spelled in several ways (case, spaces or punctuation), e.g. "
               f"{found[0]['column']}: {', '.join(map(repr, found[0]['variants'][:3]))}." if found
               else "No value is spelled in several ways.")
    return Outcome(status, summary, {"variants": found[:50], **_scope(rows, inp)})


def outliers(inp: Inputs, cond: dict) -> Outcome:
    rows = inp.all_rows()
    per_column, any_outlier = {}, np.zeros(len(rows), dtype=bool)
    for column in _columns(inp, rows):
        values = rows[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        x = values.to_numpy(dtype=float)
        if not np.isfinite(x).any():
            continue
        q1, q3 = np.nanquantile(x, [0.25, 0.75])
        spread = cond["iqr_multiple"] * (q3 - q1)
        if spread <= 0:
            continue
        low, high = q1 - spread, q3 + spread
        flagged = (x < low) | (x > high)
        any_outlier |= flagged
        per_column[column] = {"share": float(flagged.mean()), "rows": int(flagged.sum()), "low": low, "high": high}
    worst = max(per_column.items(), key=lambda kv: kv[1]["share"], default=(None, {"share": 0.0}))
    status = grade(worst[1]["share"], cond["warn_share"], cond["fail_share"])
    summary = (f"{worst[0]} has the most values far outside its middle half ({worst[1]['share']:.2%} of rows beyond "
               f"{cond['iqr_multiple']:g} IQR); {any_outlier.mean():.2%} of rows have at least one." if worst[0] and
               worst[1]["rows"] else "No numeric value lies far outside its column's middle half.")
    ranked = dict(sorted(per_column.items(), key=lambda kv: -kv[1]["share"]))
    return Outcome(status, summary, {"columns": ranked, "rows_with_any": int(any_outlier.sum()), **_scope(rows, inp)})


def class_imbalance(inp: Inputs, cond: dict) -> Outcome:
    inp.need_labels()
    inp.need_classifier("Class imbalance")
    rows = inp.all_rows()
    counts = rows[inp.run.target].dropna().astype(str).value_counts()
    shares = (counts / counts.sum()).to_dict()
    minority, share = min(shares.items(), key=lambda kv: kv[1])
    status = "fail" if share < cond["fail_minority_share"] else ("warn" if share < cond["warn_minority_share"] else "pass")
    summary = f"The rarest class, {minority}, is {share:.1%} of the labelled rows."
    return Outcome(status, summary, {"shares": shares, "counts": counts.to_dict(), "minority": minority,
                                     "minority_share": share, **_scope(rows, inp)})


def missing_pattern(inp: Inputs, cond: dict) -> Outcome:
    inp.need_labels()
    rows = inp.all_rows()
    rows = rows[rows[inp.run.target].notna()]
    y = encode_labels(inp.run, rows[inp.run.target]).astype(float)
    columns = [c for c in rows.columns if c not in ("__row_id", inp.run.target) and rows[c].isna().any()]
    found, tested = [], []
    for column in columns:
        gone = rows[column].isna().to_numpy()
        if gone.all():
            continue
        if inp.task == "multiclass":
            table = pd.crosstab(gone, y)
            p = float(stats.chi2_contingency(table)[1])
            effect = float(np.sqrt(stats.chi2_contingency(table)[0] / len(y) / (min(table.shape) - 1)))
            large = effect >= cond["min_rate_difference"]
        else:
            a, b = y[gone], y[~gone]
            p = float(stats.ttest_ind(a, b, equal_var=False).pvalue) if len(a) > 1 and len(b) > 1 else 1.0
            effect = float(a.mean() - b.mean())
            scale = 1.0 if inp.task == "binary" else float(np.std(y)) or 1.0
            large = abs(effect) / scale >= (cond["min_rate_difference"] if inp.task == "binary" else cond["min_std_difference"])
        entry = {"column": column, "missing_rows": int(gone.sum()), "label_difference": effect, "p_value": p}
        tested.append(entry)
        if p < cond["alpha"] / max(len(columns), 1) and large:  # Bonferroni over the columns tested
            found.append(entry)
    what = "label rate" if inp.task == "binary" else ("label distribution" if inp.task == "multiclass" else "mean label")
    summary = (f"Whether {found[0]['column']} is missing predicts the label ({what} differs by "
               f"{found[0]['label_difference']:+.3f} where it is missing)" + (f", and {len(found) - 1} more column(s)."
                                                                              if len(found) > 1 else ".")
               if found else f"Missing values do not predict the label in any of {len(tested)} column(s) with gaps.")
    return Outcome("warn" if found else "pass", summary, {"columns": found, "tested": tested, "measure": what,
                                                         **_scope(rows, inp)})


CHECKS = {"single_value": single_value, "mixed_types": mixed_types, "duplicates": duplicates,
          "conflicting_labels": conflicting_labels, "string_mismatch": string_mismatch, "outliers": outliers,
          "class_imbalance": class_imbalance, "missing_pattern": missing_pattern}
