"""The champion/challenger gate: the candidate and the champion on the candidate's held-out rows, each metric
against its threshold (settings per task), each model deciding at its own threshold."""
from __future__ import annotations

import json

import pandas as pd

from core import training
from core.data import datasets
from core.errors import InputError, NotFoundError
from core.lake import Lake, settings
from core.governance.registry._versions import get


LOWER_IS_BETTER = {"rmse", "mae", "mape", "log_loss", "brier"}


def gate_thresholds(lake: Lake, task: str) -> dict:
    """Per metric: min_absolute and min_relative improvement over the champion, and the direction.
    Default: the task's primary metric must not get worse."""
    raw = settings.get(lake, f"gate_thresholds:{task}")
    if raw:
        return json.loads(raw)
    metric, higher = training.PRIMARY[task]
    return {metric: {"min_absolute": 0.0, "min_relative": 0.0, "higher_is_better": higher}}


def set_gate_thresholds(lake: Lake, task: str, thresholds: dict, *, actor: str) -> None:
    for metric, rule in thresholds.items():
        if not isinstance(rule, dict) or not {"min_absolute", "min_relative"} <= set(rule):
            raise InputError(f"Threshold for {metric!r} needs min_absolute and min_relative (and higher_is_better).")
    settings.put(lake, f"gate_thresholds:{task}", json.dumps(thresholds), actor=actor)


def _held_out(lake: Lake, trained: training.TrainedRun) -> pd.DataFrame:

    run = trained.run
    version, _ = training.evaluation_source(lake, run, None)
    where, params = trained.held_out_filter()
    frame = datasets.read_frame(lake, version, where=where, params=params)
    return frame[frame[run.target].notna()].reset_index(drop=True)


def _gate(lake: Lake, trained: training.TrainedRun, held_out: pd.DataFrame, name: str, thresholds: dict) -> dict:
    """Candidate against the champion on the candidate's held-out rows, each metric against its threshold;
    each model decides at its own decision threshold (the candidate's run's, the champion version's)."""
    run = trained.run
    try:
        champion = get(lake, f"{name}@champion")
    except NotFoundError:
        return {"status": "skipped", "reason": "No champion yet: nothing in service to beat.", "metrics": {}}
    champion_run = training.get(lake, champion.run_id)
    if sorted(champion_run.feature_names) != sorted(run.feature_names):
        return {"status": "skipped", "champion": champion.ref, "metrics": {},
                "reason": f"The feature set changed ({len(champion_run.feature_names)} features in service, "
                          f"{len(run.feature_names)} in the candidate): the models are not compared, as the process "
                          "says; promotion then rests on the review and the sign-offs."}
    candidate_scores = trained.metrics_on(held_out)
    in_service = training.open_run(lake, champion_run, threshold=champion.threshold)
    champion_scores = training.TrainedRun(run=run, model=in_service.model,
                                          threshold=in_service.threshold).metrics_on(held_out)
    results, passed = {}, True
    for metric, rule in thresholds.items():
        if metric not in candidate_scores:
            raise InputError(f"The gate's metric {metric!r} is not measured for a {run.task} model; "
                             f"choose from {', '.join(sorted(candidate_scores))}.")
        higher = rule.get("higher_is_better", metric not in LOWER_IS_BETTER)
        new, old = candidate_scores[metric], champion_scores[metric]
        gain = (new - old) if higher else (old - new)
        relative = gain / abs(old) if old else (0.0 if gain == 0 else float("inf"))
        ok = gain >= rule["min_absolute"] and relative >= rule["min_relative"]
        results[metric] = {"candidate": new, "champion": old, "improvement": gain, "relative_improvement": relative,
                           "min_absolute": rule["min_absolute"], "min_relative": rule["min_relative"],
                           "higher_is_better": higher, "passed": bool(ok)}
        passed &= ok
    return {"status": "passed" if passed else "failed", "champion": champion.ref, "rows": int(len(held_out)),
            "metrics": results, "all_metrics": {"candidate": candidate_scores, "champion": champion_scores},
            "decision_thresholds": {"candidate": trained.threshold, "champion": in_service.threshold}}
