"""The suite: every check (or the chosen ones) on one run's evaluation rows, each timed; checks that cannot
apply are listed with the reason. Its stored result feeds the review, draft findings, the scorecard and the
gate."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from core.errors import InputError
from core.lake import Lake
from core.progress import Progress, report
from core.validation import _conditions, _data, _leakage, _model, _uncertainty, _weakness
from core.validation._inputs import gather
from core.validation._result import STATUSES, CheckResult, NotApplicable

RUNNERS = {**_data.CHECKS, **_leakage.CHECKS, **_model.CHECKS, **_weakness.CHECKS, **_uncertainty.CHECKS}
ORDER = tuple(_conditions.CHECKS)


@dataclass(frozen=True)
class Suite:
    run_id: str
    dataset: str
    rows: int
    checks: tuple  # CheckResult, ...
    skipped: tuple  # {"check", "category", "reason"}, ...
    seconds: float

    @property
    def counts(self) -> dict:
        return {s: sum(c.status == s for c in self.checks) for s in STATUSES}

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "dataset": self.dataset, "rows": self.rows,
                "checks": [c.to_dict() for c in self.checks], "skipped": list(self.skipped), "counts": self.counts,
                "seconds": round(self.seconds, 3)}


def parse_only(only: Union[None, str, Sequence[str]]) -> list[str]:
    """The chosen checks (a comma list or names), in the suite's order; all when none are named."""
    if not only:
        return list(ORDER)
    names = [n.strip() for n in (only.split(",") if isinstance(only, str) else only) if n and n.strip()]
    unknown = [n for n in names if n not in RUNNERS]
    if unknown or not names:
        raise InputError(f"Unknown check(s) {unknown}; choose from {', '.join(ORDER)}.")
    return [n for n in ORDER if n in names]


def run_checks(lake: Lake, run, *, dataset: Optional[str] = None, sensitive: Optional[Sequence[str]] = None,
               only: Union[None, str, Sequence[str]] = None, seed: int = 0,
               progress: Optional[Progress] = None) -> Suite:
    """Run the checks on a run (id, Run or TrainedRun) and its evaluation rows: the held-out rows of its
    input, or every row of `dataset`. Conditions are the defaults with the run's use case's overrides."""
    chosen = parse_only(only)
    started = time.perf_counter()
    report(progress, 0.02, "Reading and scoring the evaluation rows")
    from core import training

    usecase = (run.run.usecase if isinstance(run, training.TrainedRun) else
               (run.usecase if isinstance(run, training.Run) else training.get(lake, run).usecase))
    conditions = _conditions.conditions(lake, usecase)
    inputs = gather(lake, run, dataset=dataset, sensitive=sensitive, conditions=conditions, seed=seed)
    results, skipped = [], []
    for index, name in enumerate(chosen):
        report(progress, 0.05 + 0.9 * index / len(chosen), f"Check {name}")
        began = time.perf_counter()
        try:
            outcome = RUNNERS[name](inputs, conditions[name])
        except NotApplicable as reason:
            skipped.append({"check": name, "category": _conditions.category(name), "reason": str(reason)})
            continue
        results.append(CheckResult(check=name, category=_conditions.category(name), status=outcome.status,
                                   severity=_conditions.severity(name), summary=outcome.summary,
                                   evidence=outcome.evidence, conditions=conditions[name],
                                   seconds=time.perf_counter() - began))
    report(progress, 1.0, f"{len(results)} check(s) done")
    return Suite(run_id=inputs.run.run_id, dataset=inputs.dataset, rows=int(len(inputs.frame)), checks=tuple(results),
                 skipped=tuple(skipped), seconds=time.perf_counter() - started)


def failed_critical(stored: Optional[dict]) -> list[str]:
    """Names of the failed checks of severity critical in a stored suite result."""
    return [c["check"] for c in (stored or {}).get("checks", []) if c["status"] == "fail" and c["severity"] == "critical"]


def gate_verdict(lake: Lake, usecase: str, stored: Optional[dict]) -> dict:
    """Whether the checks stored with a model's review let it through the gate: no failed critical check, when
    the use case requires it (the default). `passed` is None when nothing was checked."""
    required = _conditions.gate_requires_checks(lake, usecase)
    if stored is None:
        return {"required": required, "passed": None, "failed_critical": [],
                "reason": "No validation checks in the attached review (review it with the checks component)."}
    failed = failed_critical(stored)
    return {"required": required, "passed": not failed, "failed_critical": failed,
            "reason": (f"Failed critical check(s): {', '.join(failed)}." if failed else "No critical check failed.")}


def apply_gate(lake: Lake, usecase: str, gate: dict, stored: Optional[dict]) -> dict:
    """The gate with the checks' verdict added; a required rule that fails makes the gate fail."""
    verdict = gate_verdict(lake, usecase, stored)
    out = {**gate, "validation": verdict}
    if verdict["required"] and verdict["passed"] is False:
        out["status"] = "failed"
        out["reason"] = ((gate.get("reason") + " ") if gate.get("reason") else "") + verdict["reason"]
    return out


def draft_findings(stored: Optional[dict]) -> list[dict]:
    """Failed checks of severity high or critical as findings to pin (title, severity, component, settings)."""
    return [{"title": f"Validation check {c['check']} failed: {c['summary']}", "severity": c["severity"],
             "component": "checks", "settings": {"check": c["check"]}}
            for c in (stored or {}).get("checks", []) if c["status"] == "fail" and c["severity"] in ("high", "critical")]
