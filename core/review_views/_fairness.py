"""Fairness of a review, typed: one result per sensitive column and per intersection, as stored,
with the four-fifths verdicts failing first; and its view."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

from core.review_views import charts as _charts
from core.review_views._view import Figure, Section, Table, View, ViewSettingsError, verdict

GROUP_METRICS = ("selection_rate", "accuracy", "tpr", "fpr", "fnr", "precision")
REGRESSION_METRICS = ("mae", "rmse", "mean_prediction", "mean_truth")


def label(group: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in group.items())


@dataclass(frozen=True)
class RuleVerdict:
    metric: str
    worst_ratio: float
    worst_group: str
    passed: bool


@dataclass(frozen=True)
class GroupRow:
    group: str  # "sex = female, race_ethnicity = Group B"
    count: int
    metrics: dict  # metric -> stored value
    small: bool


@dataclass(frozen=True)
class FairnessResult:
    """One stored fairness report: a sensitive column, or the intersection of several."""
    sensitive: tuple
    threshold: Optional[float]
    passed: Optional[bool]  # the four-fifths rule; None for a regression
    reference: str
    rule: tuple  # RuleVerdict, failing first, then by ratio
    groups: tuple  # GroupRow, as stored
    summary: tuple  # sentences, the four-fifths one first
    warnings: tuple

    @property
    def name(self) -> str:
        return " × ".join(self.sensitive)

    @property
    def intersection(self) -> bool:
        return len(self.sensitive) > 1

    @property
    def metric_names(self) -> list[str]:
        names = GROUP_METRICS if self.passed is not None else REGRESSION_METRICS
        return [m for m in names if any(m in g.metrics for g in self.groups)]


def parse(report: dict, threshold: Optional[float] = None) -> FairnessResult:
    rule = report.get("four_fifths")
    verdicts = ()
    if rule:
        verdicts = tuple(sorted((RuleVerdict(m, r["worst_ratio"], label(r["worst_group"] or {}), r["passed"])
                                 for m, r in rule["metrics"].items()), key=lambda v: (v.passed, v.worst_ratio)))
    names = GROUP_METRICS if rule else REGRESSION_METRICS
    groups = tuple(GroupRow(label(g["group"]), int(g["count"]), {m: g.get(m) for m in names if m in g},
                            bool(g.get("small"))) for g in report["groups"])
    summary = sorted(report.get("summary", []), key=lambda line: "four-fifths" not in line)
    return FairnessResult(sensitive=tuple(report["sensitive"]), threshold=threshold if rule else None,
                          passed=rule["passed"] if rule else None, reference=label(rule["reference"]) if rule else "",
                          rule=verdicts, groups=groups, summary=tuple(summary), warnings=tuple(report.get("warnings", [])))


def results(stored: dict) -> list[FairnessResult]:
    """Every report the review computed, failing the four-fifths rule first (then in stored order)."""
    parsed = [parse(r, stored.get("threshold")) for r in stored.get("reports", [])]
    return sorted(parsed, key=lambda r: r.passed is not False)


def chosen(stored: dict, settings: dict) -> list[FairnessResult]:
    """The reports a view's settings name: {"sensitive": "race_ethnicity"} or a list (an intersection),
    {"threshold": T} only when T is the one the review used. No settings: all of them."""
    available = results(stored)
    wanted = settings.get("sensitive")
    if "threshold" in settings:
        stored_at = stored.get("threshold")
        try:
            asked = float(settings["threshold"])
        except (TypeError, ValueError):
            raise ViewSettingsError(f"The threshold setting must be a number, not {settings['threshold']!r}.") from None
        if stored_at is None or abs(asked - float(stored_at)) > 1e-9:
            raise ViewSettingsError(
                f"This review's fairness was computed at threshold {stored_at}; a view at {asked:g} cannot be drawn "
                "from it. Use the Fairness page on the model for other thresholds, or pin without a threshold.")
    if wanted is None:
        return available
    columns = [wanted] if isinstance(wanted, str) else list(wanted) if isinstance(wanted, (list, tuple)) else None
    if not columns or not all(isinstance(c, str) for c in columns):
        raise ViewSettingsError(f"The sensitive setting names a column or a list of columns, not {wanted!r}.")
    match = [r for r in available if sorted(r.sensitive) == sorted(columns)]
    if not match:
        raise ViewSettingsError(f"This review has no fairness result for {' × '.join(columns)}; it has "
                                f"{', '.join(r.name for r in available) or 'none'}.")
    return match


def section(result: FairnessResult) -> Section:
    title = f"By {result.name}" + (" (intersection)" if result.intersection else "")
    if result.passed is None:  # regression: errors by group
        table = Table(("group", "count", *result.metric_names),
                      tuple((g.group, g.count, *[g.metrics.get(m) for m in result.metric_names]) for g in result.groups))
        return Section(title=title, sentences=result.summary + result.warnings, tables=(table,))
    failing = [v for v in result.rule if not v.passed]
    worst = result.rule[0] if result.rule else None
    headline = [Figure("four-fifths rule", result.passed, "passed" if result.passed else "FAILED")]
    if worst:
        headline.append(Figure("worst ratio", worst.worst_ratio, f"{worst.worst_ratio:.4f} ({worst.metric}, {worst.worst_group})"))
    verdicts = [f"Four-fifths rule by {result.name}: FAILED for {v.metric}, ratio {v.worst_ratio:.4f} "
                f"({v.worst_group} against {result.reference})." for v in failing]
    if not failing:
        verdicts = [f"Four-fifths rule by {result.name}: passed for every metric against {result.reference}."]
    rule = Table(("metric", "worst ratio", "worst group", "verdict"),
                 tuple((v.metric, v.worst_ratio, v.worst_group, verdict(v.passed)) for v in result.rule),
                 title=f"Four-fifths rule by {result.name}")
    groups = Table(("group", "count", *[m.replace("_", " ") for m in result.metric_names]),
                   tuple((g.group, g.count, *[g.metrics.get(m) for m in result.metric_names]) for g in result.groups),
                   title=f"Group metrics by {result.name}")
    frame = pd.DataFrame([{"group": g.group, **g.metrics} for g in result.groups])
    chart = _charts.group_rates(frame, over=result.name, threshold=result.threshold)
    return Section(title=title, passed=result.passed, headline=tuple(headline),
                   sentences=tuple(verdicts) + tuple(s for s in result.summary if "four-fifths" not in s) + result.warnings,
                   tables=(rule, groups), charts=(chart,))


def view(stored: dict, settings: dict) -> View:
    picked = chosen(stored, settings)
    if not picked:
        return View("fairness", "Fairness by group", True, settings, note=stored.get("note") or "No fairness result.")
    at = stored.get("threshold")
    note = f"At decision threshold {at:g}." if isinstance(at, (int, float)) else ""
    return View("fairness", "Fairness by group", True, settings, tuple(section(r) for r in picked), note)


def live_view(report: dict, *, threshold: Optional[float] = None) -> View:
    """A fairness report computed now (the Fairness page on a model, an audit), drawn the same way."""
    return View("fairness", "Fairness by group", True, {}, (section(parse(report, threshold)),))
