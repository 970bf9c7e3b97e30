"""Two models side by side on every review dimension: metrics with intervals, fairness by group,
top features, worst error cohorts and calibration, each from the run's newest review, with the
better value of each metric marked."""
from __future__ import annotations

from typing import Optional

from core import review, review_views, training
from core.errors import InputError
from core.lake import Lake

LOWER_IS_BETTER = {"rmse", "mae", "mape", "log_loss", "brier"}


def _reviewed(lake: Lake, run_id: str) -> tuple[training.Run, Optional[tuple[str, review.ReviewResults]]]:
    """The run and its fullest review (the newest of those): its id and typed results."""
    run = training.get(lake, run_id)
    reviews = review.list_reviews(lake, run_id=run_id)  # newest first
    if not reviews:
        return run, None
    wanted = ("overview", "explain", "errors", "fairness")
    best = max(reviews, key=lambda r: sum(c in r.components for c in wanted))  # the newest of the fullest
    return run, (best.review_id, review.typed_results(lake, best.review_id))


def compare(lake: Lake, first: str, second: str) -> dict:
    if first == second:
        raise InputError("Pick two different runs to compare.")
    (run_a, res_a), (run_b, res_b) = _reviewed(lake, first), _reviewed(lake, second)
    if run_a.task != run_b.task:
        raise InputError(f"A {run_a.task} and a {run_b.task} model cannot be compared metric by metric.")
    missing = [r.run_id for r, res in ((run_a, res_a), (run_b, res_b)) if res is None]
    if missing:
        raise InputError(f"Review {', '.join(missing)} first (Reviews page or `python -m core review --run RUN_ID`).")
    (id_a, res_a), (id_b, res_b) = res_a, res_b
    metrics = []
    for name in sorted(set(run_a.metrics) & set(run_b.metrics)):
        a, b = run_a.metrics[name], run_b.metrics[name]
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or name == "threshold":
            continue
        better = None if a == b else (("a" if a < b else "b") if name in LOWER_IS_BETTER else ("a" if a > b else "b"))
        metrics.append({"metric": name, "a": a, "b": b, "difference": b - a, "better": better,
                        "a_ci": _interval(res_a, name), "b_ci": _interval(res_b, name)})
    out = {"a": {"run_id": run_a.run_id, "algorithm": run_a.algorithm, "review_id": id_a},
           "b": {"run_id": run_b.run_id, "algorithm": run_b.algorithm, "review_id": id_b},
           "metrics": metrics, "fairness": _fairness(res_a, res_b),
           "fairness_verdicts": _fairness_verdicts(res_a, res_b), "top_features": _features(res_a, res_b),
           "error_cohorts": {"a": _cohorts(res_a), "b": _cohorts(res_b)},
           "calibration": {"a": _calibration(lake, run_a), "b": _calibration(lake, run_b)}}
    return out


def _interval(res: review.ReviewResults, metric: str) -> Optional[list]:
    """The stored 95% interval of an overall metric, as stored ([low, high], [None, None] or None)."""
    if res.overview is None or metric not in res.overview.overall.intervals:
        return None
    found = res.overview.overall.intervals[metric]
    return list(found) if found is not None else None


def _fairness(res_a: review.ReviewResults, res_b: review.ReviewResults) -> list[dict]:
    """Every sensitive column and intersection either review computed, group by group (from the one
    renderer's typed results); a set only one side computed is listed with the other side empty."""
    sides = [{r.sensitive: r for r in review_views.fairness_results(res)} for res in (res_a, res_b)]
    order = list(dict.fromkeys([*sides[0], *sides[1]]))
    rows = []
    for sensitive in order:
        a, b = sides[0].get(sensitive), sides[1].get(sensitive)
        groups = {g.group: [None, None] for r in (a, b) if r for g in r.groups}
        for i, result in enumerate((a, b)):
            for g in (result.groups if result else ()):
                groups[g.group][i] = g
        for group, (ga, gb) in groups.items():
            for metric in ("selection_rate", "tpr", "fpr"):
                va = ga.metrics.get(metric) if ga else None
                vb = gb.metrics.get(metric) if gb else None
                if va is None and vb is None:
                    continue
                rows.append({"sensitive": " × ".join(sensitive), "group": group, "metric": metric, "a": va, "b": vb,
                             "difference": None if va is None or vb is None else vb - va})
    return rows


def _fairness_verdicts(res_a: review.ReviewResults, res_b: review.ReviewResults) -> list[dict]:
    """The four-fifths verdict of each sensitive column and intersection, for A and B."""
    sides = [{r.sensitive: r for r in review_views.fairness_results(res)} for res in (res_a, res_b)]
    out = []
    for sensitive in dict.fromkeys([*sides[0], *sides[1]]):
        a, b = sides[0].get(sensitive), sides[1].get(sensitive)
        out.append({"sensitive": " × ".join(sensitive),
                    "a_passed": a.passed if a else None, "b_passed": b.passed if b else None,
                    "a_worst": f"{a.rule[0].metric} {a.rule[0].worst_ratio:.4f}" if a and a.rule else None,
                    "b_worst": f"{b.rule[0].metric} {b.rule[0].worst_ratio:.4f}" if b and b.rule else None})
    return out


def _features(res_a: review.ReviewResults, res_b: review.ReviewResults, top: int = 10) -> list[dict]:
    ranks = []
    for res in (res_a, res_b):
        ranks.append({f.feature: (i + 1, f.mean_abs_shap) for i, f in enumerate(res.explain.top_features if res.explain else ())})
    names = sorted(set(ranks[0]) | set(ranks[1]), key=lambda f: min(ranks[0].get(f, (99,))[0], ranks[1].get(f, (99,))[0]))
    return [{"feature": f, "a_rank": ranks[0].get(f, (None,))[0], "b_rank": ranks[1].get(f, (None,))[0],
             "a_mean_abs_shap": ranks[0].get(f, (None, None))[1], "b_mean_abs_shap": ranks[1].get(f, (None, None))[1]}
            for f in names[:top]]


def _cohorts(res: review.ReviewResults) -> list[dict]:
    return [{"filter": c.filter, "error_rate": c.error_rate, "rows": c.rows} for c in (res.errors.cohorts if res.errors else ())[:3]]


def _calibration(lake: Lake, run: training.Run) -> list[dict]:
    curves = training.curves(lake, [run.run_id])
    part = curves[curves["curve"] == "calibration"]
    return part[["x", "y"]].to_dict("records")
