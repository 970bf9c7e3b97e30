"""Slices of the evaluation rows over one feature or two: a category, or a numeric feature below or at/above one
of its deciles (or missing). Their counts and sums come from one membership matrix, so every one- and two-feature
slice is scored in a few matrix products over all the rows (no sampling)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scipy import stats

from core.validation._stats import benjamini_hochberg, one_sided_p, welch_z

CUTS = np.linspace(0.1, 0.9, 9)
TOP_CATEGORIES = 15
CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class Slices:
    members: np.ndarray  # rows x slices, bool
    feature: np.ndarray  # slice -> feature index
    features: list[str]
    conditions: list[dict]  # slice -> {"column", "op", "value"}


def build(frame: pd.DataFrame, columns: list[str], *, min_rows: int) -> Slices:
    blocks, owner, conditions = [], [], []
    for index, column in enumerate(columns):
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and values.nunique() > TOP_CATEGORIES:
            x = values.to_numpy(dtype=float)
            for cut in np.unique(np.nanquantile(x, CUTS)):
                for op, member in (("<", x < cut), (">=", x >= cut)):
                    blocks.append(member)
                    conditions.append({"column": column, "op": op, "value": float(cut)})
            gone = np.isnan(x)
        else:  # categories by code, not by text: a million rows are factorised once
            codes, uniques = pd.factorize(values)
            counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            for k in np.argsort(-counts, kind="stable")[:TOP_CATEGORIES]:
                blocks.append(codes == k)
                conditions.append({"column": column, "op": "==", "value": _plain(uniques[k])})
            gone = codes < 0
        if gone.any():
            blocks.append(gone)
            conditions.append({"column": column, "op": "is missing", "value": None})
        owner += [index] * (len(conditions) - len(owner))
    members = np.column_stack(blocks) if blocks else np.zeros((len(frame), 0), bool)
    keep = (members.sum(axis=0) >= min_rows) & (members.sum(axis=0) <= len(frame) - min_rows)
    return Slices(members[:, keep], np.asarray(owner)[keep], list(columns), [c for c, k in zip(conditions, keep) if k])


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def describe(conditions: list[dict]) -> str:
    parts = []
    for c in conditions:
        value = c["value"]
        shown = f"{value:g}" if isinstance(value, float) else value
        parts.append(f"{c['column']} is missing" if c["op"] == "is missing" else f"{c['column']} {c['op']} {shown}")
    return " and ".join(parts)


def sums(slices: Slices, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Counts, sums and sums of squares of `values` in each one-feature slice (vectors) and each pair
    (matrices); pairs of one feature with itself are left out (count 0)."""
    width = slices.members.shape[1]
    n2, s2, q2 = (np.zeros((width, width)) for _ in range(3))
    for start in range(0, len(values), CHUNK_ROWS):  # in chunks of rows: memory stays flat at a million rows
        M = slices.members[start:start + CHUNK_ROWS].astype(np.float32)
        v = values[start:start + CHUNK_ROWS].astype(np.float32)[:, None]
        n2 += M.T @ M
        s2 += M.T @ (M * v)
        q2 += M.T @ (M * (v * v))
    n1, s1, q1 = np.diag(n2).copy(), np.diag(s2).copy(), np.diag(q2).copy()
    same = slices.feature[:, None] == slices.feature[None, :]
    upper = np.triu(np.ones_like(same), k=1).astype(bool)
    keep = upper & ~same
    return n1, s1, q1, np.where(keep, n2, 0), np.where(keep, s2, 0), np.where(keep, q2, 0)


def column_sums(slices: Slices, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, sums and sums of squares of `values` in each one-feature slice (in chunks of rows)."""
    width = slices.members.shape[1]
    n, s, q = np.zeros(width), np.zeros(width), np.zeros(width)
    for start in range(0, len(values), CHUNK_ROWS):
        M = slices.members[start:start + CHUNK_ROWS].astype(np.float32)
        v = values[start:start + CHUNK_ROWS].astype(np.float64)
        n += M.sum(axis=0)
        s += M.T @ v
        q += M.T @ (v * v)
    return n, s, q


def worse_than_rest(slices: Slices, loss: np.ndarray, *, min_rows: int, fdr: float) -> pd.DataFrame:
    """Every one- and two-feature slice with at least `min_rows` rows (and as many outside it), its mean loss
    against the rest of the rows, a one-sided Welch z-test of 'worse than the rest', and Benjamini-Hochberg
    q-values over all slices tested; ordered by how surely the slice is worse than all rows (see below)."""
    n1, s1, q1, n2, s2, q2 = sums(slices, loss)
    total_n, total_s, total_q = float(len(loss)), float(loss.sum()), float((loss * loss).sum())
    rows, cols = np.nonzero(n2 >= min_rows)
    pair_n = n2[rows, cols]
    valid_pair = pair_n <= total_n - min_rows
    rows, cols, pair_n = rows[valid_pair], cols[valid_pair], pair_n[valid_pair]
    # a pair that holds exactly the rows of one of its two slices adds nothing to that slice
    distinct = (pair_n != n1[rows]) & (pair_n != n1[cols])
    rows, cols, pair_n = rows[distinct], cols[distinct], pair_n[distinct]
    n = np.concatenate([n1, pair_n])
    s = np.concatenate([s1, s2[rows, cols]])
    q = np.concatenate([q1, q2[rows, cols]])
    mean, rest, z = welch_z(n, s, q, total_n - n, total_s - s, total_q - q)
    p = one_sided_p(z)
    out = pd.DataFrame({"first": np.concatenate([np.arange(len(n1)), rows]),
                        "second": np.concatenate([np.full(len(n1), -1), cols]),
                        "rows": n.astype(int), "metric": mean, "rest": rest, "z": z, "p_value": p,
                        "q_value": benjamini_hochberg(p)})
    out["significant"] = out["q_value"] <= fdr
    # Ranked by how much worse than the whole the slice surely is: the lower bound of a simultaneous 95% interval
    # (Bonferroni over every slice tested) of its excess over the overall mean. A huge slice is barely worse than
    # the whole, and a tiny slice's excess is too uncertain to lead, so chance flukes among thousands of slices
    # do not come first.
    overall = total_s / total_n if total_n else 0.0
    spread = np.sqrt(np.maximum(q / np.maximum(n, 1) - mean ** 2, 0) / np.maximum(n - 1, 1))
    z_simultaneous = stats.norm.isf(0.05 / max(len(n), 1))
    out["excess"] = mean - overall
    out["lower_bound"] = out["excess"] - z_simultaneous * spread
    return out.sort_values(["lower_bound", "rows"], ascending=[False, False], kind="stable").reset_index(drop=True)


def conditions_of(slices: Slices, first: int, second: int) -> list[dict]:
    return [slices.conditions[first]] + ([slices.conditions[second]] if second >= 0 else [])
