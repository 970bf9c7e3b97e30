"""Where the model is weak: calibration (ECE, Brier, the reliability curve, and slices where it is over- or
under-confident) and weak slices (one- and two-feature slices whose error is significantly worse than the
rest, with Benjamini-Hochberg control of false discoveries), both over every evaluation row."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from core.validation import _slices
from core.validation._inputs import Inputs
from core.validation._result import Outcome, grade
from core.validation._stats import benjamini_hochberg, welch_z
from scipy import stats


def _slice_columns(inp: Inputs) -> list[str]:
    return [c for c in dict.fromkeys(inp.features + inp.sensitive) if c in inp.frame.columns]


def _built(inp: Inputs, min_rows: int) -> _slices.Slices:
    """The slices of the labelled evaluation rows, built once for calibration and weak_slices."""
    return inp.memo(f"slices:{min_rows}", lambda: _slices.build(inp.frame.iloc[inp.labelled()], _slice_columns(inp),
                                                                min_rows=min_rows))


def _confidence(inp: Inputs) -> tuple[np.ndarray, np.ndarray, str]:
    """Per labelled row: the predicted probability and whether it came true (binary: of the positive class;
    multiclass: of the most probable class, the top-label view)."""
    proba, truth = inp.proba(), inp.truth()
    if inp.task == "binary":
        return proba[:, inp.trained.positive_index], truth.astype(float), f"P({inp.run.target} = {inp.run.positive})"
    top = proba.argmax(axis=1)
    return proba.max(axis=1), (top == truth).astype(float), "probability of the predicted class"


def calibration(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    inp.need_classifier("Calibration")
    score, outcome, what = _confidence(inp)
    bins = int(cond["bins"])
    index = np.minimum((score * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    mean_score = np.bincount(index, weights=score, minlength=bins) / np.maximum(counts, 1)
    observed = np.bincount(index, weights=outcome, minlength=bins) / np.maximum(counts, 1)
    ece = float(np.sum(counts * np.abs(mean_score - observed)) / max(len(score), 1))
    brier = float(skm.brier_score_loss(outcome, score)) if len(score) else None
    curve = [{"bin": i, "mean_predicted": float(mean_score[i]), "observed": float(observed[i]), "rows": int(counts[i])}
             for i in range(bins) if counts[i]]
    slices = _confidence_slices(inp, score - outcome, cond)
    status = grade(ece, cond["warn_ece"], cond["fail_ece"])
    if status == "pass" and slices:
        status = "warn"
    direction = "over" if float(np.mean(score - outcome)) > 0 else "under"
    summary = (f"Predicted probabilities are off by {ece:.3f} on average (ECE; the model {direction}-predicts "
               f"{what}), Brier score {brier:.3f}" + (f"; {len(slices)} slice(s) are miscalibrated, worst "
                                                     f"{slices[0]['slice']}." if slices else "."))
    return Outcome(status, summary, {"ece": ece, "brier": brier, "predicted": what, "reliability_curve": curve,
                                     "mean_predicted": float(np.mean(score)), "observed_rate": float(np.mean(outcome)),
                                     "slices": slices, "rows": int(len(score))})


def _confidence_slices(inp: Inputs, residual: np.ndarray, cond: dict) -> list[dict]:
    """One-feature slices whose mean predicted probability is significantly above (over-confident) or below
    (under-confident) what happened, by at least `slice_gap` (BH at `fdr`)."""
    built = _built(inp, int(cond["min_rows"]))
    if not built.conditions:
        return []
    n, s, q = _slices.column_sums(built, residual)
    mean, _, z = welch_z(n, s, q, np.full_like(n, np.inf), np.zeros_like(n), np.zeros_like(n))
    p = 2 * stats.norm.sf(np.abs(z))
    keep = (benjamini_hochberg(p) <= cond["fdr"]) & (np.abs(mean) >= cond["slice_gap"])
    out = [{"slice": _slices.describe([built.conditions[i]]), "conditions": [built.conditions[i]], "rows": int(n[i]),
            "gap": float(mean[i]), "kind": "over-confident" if mean[i] > 0 else "under-confident", "p_value": float(p[i])}
           for i in np.flatnonzero(keep)]
    return sorted(out, key=lambda r: -abs(r["gap"]))[:20]


def weak_slices(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    loss = inp.loss()
    built = _built(inp, int(cond["min_rows"]))
    tested = _slices.worse_than_rest(built, loss, min_rows=int(cond["min_rows"]), fdr=cond["fdr"])
    overall = float(loss.mean()) if len(loss) else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = tested["metric"] / overall
    large = (tested["excess"] >= cond["min_difference"]) & (ratio >= cond["warn_ratio"])
    found = tested[tested["significant"] & large]
    metric = "error rate" if inp.classification else "mean absolute error"
    shown, seen = [], set()
    for row in found.itertuples():
        conditions = _slices.conditions_of(built, int(row.first), int(row.second))
        # cuts of one numeric feature give nested slices: show the region once, at its best-ranked cut
        region = tuple((c["column"], c["op"], None if c["op"] in ("<", ">=") else c["value"]) for c in conditions)
        if region in seen:
            continue
        seen.add(region)
        shown.append({"slice": _slices.describe(conditions), "conditions": conditions, "rows": int(row.rows),
                      "metric": float(row.metric), "rest": float(row.rest), "ratio": float(row.metric / overall)
                      if overall else None, "p_value": float(row.p_value), "q_value": float(row.q_value)})
        if len(shown) >= int(cond["shown"]):
            break
    ratios = [s["ratio"] or np.inf for s in shown]
    status = "fail" if any(r >= cond["fail_ratio"] for r in ratios) else ("warn" if shown else "pass")
    summary = (f"{len(shown)} slice(s) have a significantly worse {metric}; the worst is {shown[0]['slice']} "
               f"({shown[0]['metric']:.3f} on {shown[0]['rows']:,} rows against {shown[0]['rest']:.3f} elsewhere)."
               if shown else f"No slice has a significantly worse {metric} than the rest ({len(tested):,} slices tested).")
    return Outcome(status, summary, {"metric": metric, "overall": overall, "slices": shown, "significant_large":
                                     int(len(found)), "ranked_by": "lower bound of a simultaneous 95% interval of the excess over all rows",
                                     "ratio": "slice metric / overall metric", "test": "one-sided Welch z-test against the rest, BH",
                                     "slices_tested": int(len(tested)), "significant": int(tested["significant"].sum()),
                                     "rows": int(len(loss)), "features": built.features})


CHECKS = {"calibration": calibration, "weak_slices": weak_slices}
