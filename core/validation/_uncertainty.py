"""Uncertainty: split-conformal prediction sets (classification) or intervals (regression) with MAPIE, at the
chosen confidence, on half of the held-out rows after calibrating on the other half; coverage and set size
(interval width) overall and for each group of each sensitive column. Honest uncertainty for one group and
not another is a fairness finding."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from core.validation._inputs import Inputs
from core.validation._result import NotApplicable, Outcome, grade, worst
from core.validation._stats import benjamini_hochberg


def _conformal(inp: Inputs, confidence: float, calibrate: np.ndarray, judge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covered (bool) and size (set size or interval width) of each judged row."""
    X = inp.frame[inp.features].iloc[inp.labelled()]
    y = inp.truth()
    if inp.classification:
        from mapie.classification import SplitConformalClassifier

        conformal = SplitConformalClassifier(estimator=inp.model, confidence_level=confidence, prefit=True)
        conformal.conformalize(X.iloc[calibrate], y[calibrate])
        _, sets = conformal.predict_set(X.iloc[judge])
        sets = np.asarray(sets)[:, :, 0]
        return sets[np.arange(len(judge)), y[judge]], sets.sum(axis=1).astype(float)
    from mapie.regression import SplitConformalRegressor

    conformal = SplitConformalRegressor(estimator=inp.model, confidence_level=confidence, prefit=True)
    conformal.conformalize(X.iloc[calibrate], y[calibrate])
    _, bounds = conformal.predict_interval(X.iloc[judge])
    low, high = np.asarray(bounds)[:, 0, 0], np.asarray(bounds)[:, 1, 0]
    return (y[judge] >= low) & (y[judge] <= high), high - low


def conformal_coverage(inp: Inputs, cond: dict) -> Outcome:
    inp.need_model()
    y = inp.truth()
    if inp.task == "multiclass" and (y < 0).any():
        raise NotApplicable("Some held-out labels are classes the model never saw; conformal sets cannot cover them.")
    if len(y) < 40:
        raise NotApplicable(f"Only {len(y)} labelled held-out rows: too few to calibrate and judge conformal sets.")
    order = inp.rng().permutation(len(y))
    calibrate, judge = np.sort(order[: len(y) // 2]), np.sort(order[len(y) // 2:])
    confidence = float(cond["confidence"])
    covered, size = _conformal(inp, confidence, calibrate, judge)
    frame = inp.frame.iloc[inp.labelled()].iloc[judge]
    groups = []
    for column in inp.sensitive:
        values = frame[column].astype(str).where(frame[column].notna(), "(missing)").to_numpy()
        for value in pd.unique(values):
            inside = values == value
            n, hits = int(inside.sum()), int(covered[inside].sum())
            groups.append({"column": column, "group": value, "rows": n, "coverage": hits / n,
                           "mean_size": float(size[inside].mean()),
                           "p_value": float(stats.binomtest(hits, n, confidence, alternative="less").pvalue)})
    q = benjamini_hochberg(np.array([g["p_value"] for g in groups])) if groups else []
    statuses = []
    for g, q_value in zip(groups, q):
        shortfall = confidence - g["coverage"]
        judged = g["rows"] >= cond["min_group_rows"] and q_value <= cond["alpha"]
        g.update(q_value=float(q_value), shortfall=shortfall,
                 status=grade(shortfall, cond["warn_shortfall"], cond["fail_shortfall"]) if judged else "pass")
        statuses.append(g["status"])
    overall = float(covered.mean())
    overall_status = grade(confidence - overall, cond["warn_shortfall"], cond["fail_shortfall"])
    status = worst(statuses + [overall_status])
    size_word = "set size" if inp.classification else "interval width"
    short = sorted([g for g in groups if g["status"] != "pass"], key=lambda g: g["coverage"])
    summary = (f"At {confidence:.0%} confidence the conformal {'sets' if inp.classification else 'intervals'} cover "
               f"{overall:.1%} of held-out rows (mean {size_word} {size.mean():.2f})" +
               (f", but only {short[0]['coverage']:.1%} for {short[0]['column']} = {short[0]['group']}: the model's "
                "uncertainty is not honest for that group." if short else ", and every sensitive group is covered."))
    return Outcome(status, summary, {"confidence": confidence, "coverage": overall, "mean_size": float(size.mean()),
                                     "size": size_word, "groups": groups, "calibration_rows": int(len(calibrate)),
                                     "judged_rows": int(len(judge)), "library": "MAPIE split conformal (prefit)",
                                     "method": "calibrated on a seeded half of the held-out rows, judged on the other"})


CHECKS = {"conformal_coverage": conformal_coverage}
