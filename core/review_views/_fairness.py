"""Fairness of a review: the stored reports (core.review.results.SensitiveReport, one per sensitive column
and per intersection) as the view reads them, with the four-fifths verdicts failing first; and its view.
Sentences are made here from the numbers, in the model's words ("predicted to have defaulted")."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

from core.review.results import FairnessResults, SensitiveReport
from core.review_views import charts as _charts
from core.review_views._view import Figure, Section, Table, View, ViewSettingsError, verdict
from core.review_views._words import Words, group_label, num

GROUP_METRICS = ("selection_rate", "accuracy", "tpr", "fpr", "fnr", "precision")
REGRESSION_METRICS = ("mae", "rmse", "mean_prediction", "mean_truth")


label = group_label


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
    """One stored fairness report as the view reads it: a sensitive column, or the intersection of several."""
    sensitive: tuple
    threshold: Optional[float]
    passed: Optional[bool]  # the four-fifths rule; None for a regression
    reference: str
    rule: tuple  # RuleVerdict, failing first, then by ratio
    groups: tuple  # GroupRow, as stored
    summary: tuple  # sentences made from the numbers, in the model's words
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


def parse(report: SensitiveReport, threshold: Optional[float] = None, words: Optional[Words] = None) -> FairnessResult:
    rule = report.four_fifths
    verdicts = ()
    if rule:
        verdicts = tuple(sorted((RuleVerdict(m, r.worst_ratio, label(r.worst_group), r.passed)
                                 for m, r in rule.metrics.items()), key=lambda v: (bool(v.passed), 1.0 if v.worst_ratio is None else v.worst_ratio)))
    names = GROUP_METRICS if rule else REGRESSION_METRICS
    groups = tuple(GroupRow(label(g.group), g.count, {m: g.metrics.get(m) for m in names if m in g.metrics.values},
                            bool(g.small)) for g in report.groups)
    return FairnessResult(sensitive=tuple(report.sensitive), threshold=threshold if rule else None,
                          passed=rule.passed if rule else None, reference=label(rule.reference) if rule else "",
                          rule=verdicts, groups=groups, summary=tuple(_sentences(groups, bool(rule), words or Words())),
                          warnings=tuple(f"Group {g.group} has only {g.count:,} rows: too few to judge its metrics."
                                         for g in groups if g.small))


def _sentences(groups: tuple, binary: bool, words: Words) -> list[str]:
    """What a stakeholder reads aloud, from the group numbers (groups too small to judge left out)."""
    judged = [g for g in groups if not g.small and g.count]
    if len(judged) < 2:
        return ["There are not enough groups with enough rows to compare."]
    if not binary:
        judged = [g for g in judged if g.metrics.get("mae") is not None]
        if len(judged) < 2:
            return []
        worst, best = (f(judged, key=lambda g: g.metrics.get("mae") or 0) for f in (max, min))
        return [f"The model's typical error (MAE) is {worst.metrics['mae']:.3g} for {worst.group} and "
                f"{best.metrics['mae']:.3g} for {best.group}."]
    lines = []
    for metric, who, verb in (("fpr", words.truly_not, f"were {words.predicted}"),
                              ("fnr", words.truly, f"were missed (not {words.predicted})")):
        rated = [g for g in judged if g.metrics.get(metric)]
        if len(rated) >= 2:
            high, low = max(rated, key=lambda g: g.metrics[metric]), min(rated, key=lambda g: g.metrics[metric])
            times = high.metrics[metric] / low.metrics[metric]
            often = "about as often as" if times < 1.05 else f"{times:.1f} times as often as"
            lines.append(f"Among people {who}, {high.group} {verb} {often} {low.group} "
                         f"({high.metrics[metric]:.1%} against {low.metrics[metric]:.1%}).")
    high = max(judged, key=lambda g: g.metrics.get("selection_rate") or 0)
    low = min(judged, key=lambda g: g.metrics.get("selection_rate") or 0)
    lines.append(f"{high.group} were {words.predicted} in {high.metrics.get('selection_rate') or 0:.1%} of cases, "
                 f"{low.group} in {low.metrics.get('selection_rate') or 0:.1%}.")
    return lines


def results(stored: Optional[FairnessResults], words: Optional[Words] = None) -> list[FairnessResult]:
    """Every report the review computed, failing the four-fifths rule first (then in stored order)."""
    if stored is None:
        return []
    parsed = [parse(r, stored.threshold, words) for r in stored.reports]
    return sorted(parsed, key=lambda r: r.passed is not False)


def chosen(stored: FairnessResults, settings: dict, words: Optional[Words] = None) -> list[FairnessResult]:
    """The reports a view's settings name: {"sensitive": "race_ethnicity"} or a list (an intersection),
    {"threshold": T} only when T is the one the review used. No settings: all of them."""
    available = results(stored, words)
    wanted = settings.get("sensitive")
    if "threshold" in settings:
        stored_at = stored.threshold
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
        headline.append(Figure("worst ratio", worst.worst_ratio, f"{num(worst.worst_ratio)} ({worst.metric}, {worst.worst_group})"))
    verdicts = [f"Four-fifths rule by {result.name}: FAILED for {v.metric}, ratio {num(v.worst_ratio)} "
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
    charts = (_charts.group_rates(frame, over=result.name, threshold=result.threshold),) if result.groups else ()
    return Section(title=title, passed=result.passed, headline=tuple(headline),
                   sentences=tuple(verdicts) + result.summary + result.warnings, tables=(rule, groups), charts=charts)


def view(stored: FairnessResults, settings: dict, words: Optional[Words] = None) -> View:
    picked = chosen(stored, settings, words)
    if not picked:
        return View("fairness", "Fairness by group", True, settings, note=stored.note or "No fairness result.")
    at = stored.threshold
    note = f"At decision threshold {at:g}." if isinstance(at, (int, float)) else ""
    return View("fairness", "Fairness by group", True, settings, tuple(section(r) for r in picked), note)


def live_view(report: dict, *, threshold: Optional[float] = None, words: Optional[Words] = None) -> View:
    """A fairness report computed now (the Fairness page on a model, an audit), drawn the same way."""
    typed = SensitiveReport.from_stored(report)
    return View("fairness", "Fairness by group", True, {}, (section(parse(typed, threshold, words)),))
