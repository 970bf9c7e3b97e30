"""One renderer per review component: a typed stored component result (core.review.results) and the
view's settings (which sensitive column, which cohort, which feature, ...) become a typed View (headline numbers,
sentences with failing verdicts first, tables, Altair charts). The review pages, the meeting
page and presentation mode, the exported meeting report, the scorecard and side by side all draw
from it, so they cannot disagree. A setting a view cannot honour raises ViewSettingsError."""
from __future__ import annotations

from typing import Optional, Union

from core.review.results import Outcome, ReviewResults, with_outcome
from core.review_views import charts
from core.review_views import _checks, _components, _fairness
from core.review_views._html import STYLE, blocks_html, table_html, view_html
from core.review_views._fairness import FairnessResult, GroupRow, RuleVerdict
from core.review_views._view import Figure, Section, Table, View, ViewSettingsError, blocks, chart_title, fmt, png, verdict
from core.review_views._words import Words, group_label, value_text
from core.review_views._components import confusion_matrix, counterfactual_table, score_bins

COMPONENTS = ("overview", "explain", "errors", "fairness", "counterfactuals", "causal", "privacy", "checks")
TITLES = {"overview": "Model overview", "explain": "Explainability", "errors": "Error analysis",
          "fairness": "Fairness by group", "counterfactuals": "Counterfactuals", "causal": "Causal analysis",
          "privacy": "Privacy", "checks": _checks.TITLE}
SETTINGS = {"overview": ("feature", "cohort"), "explain": ("feature", "cohort", "row"), "errors": ("top_cohort",),
            "fairness": ("sensitive", "threshold"), "counterfactuals": ("row",), "causal": ("treatment",), "privacy": (),
            "checks": ("check",)}
_RENDERERS = {"overview": _components.overview, "explain": _components.explain, "errors": _components.errors,
              "fairness": lambda stored, settings, lake, current, words: _fairness.view(stored, settings, words),
              "counterfactuals": _components.counterfactuals, "causal": _components.causal,
              "privacy": _components.privacy, "checks": _checks.view}
Results = Union[ReviewResults, dict]


def typed(results: Results, *, lake=None, review=None) -> ReviewResults:
    """A review's results as typed objects: ReviewResults as they are; stored dicts (review.results) read,
    with the outcome of the review's run when the lake and the review are given."""
    if isinstance(results, ReviewResults):
        return results
    made = ReviewResults.from_stored(results)
    return made if review is None else with_outcome(made, review, lake=lake)


def render(component: str, results: Results, settings: Optional[dict] = None, *, lake=None, review=None) -> View:
    """The view of one component of a stored review (`results`: review.typed_results, or the stored dicts).
    A component the review did not compute gives a View that says so (computed=False); settings it
    cannot honour raise ViewSettingsError."""
    if component not in COMPONENTS:
        raise ViewSettingsError(f"Unknown component {component!r}; choose from {', '.join(COMPONENTS)}.")
    settings = dict(settings or {})
    if not isinstance(settings, dict):
        raise ViewSettingsError("A view's settings are a JSON object.")
    unknown = sorted(set(settings) - set(SETTINGS[component]))
    if unknown:
        known = ", ".join(SETTINGS[component]) or "none"
        raise ViewSettingsError(f"The {component} view has no setting {', '.join(map(repr, unknown))}; "
                                f"its settings are: {known}.")
    settings = {k: v for k, v in settings.items() if v is not None}
    results = typed(results, lake=lake, review=review)
    if component not in results:
        if settings:
            raise ViewSettingsError(f"This review has no {component} component to draw with "
                                    f"{'; '.join(f'{k} = {v}' for k, v in settings.items())}.")
        return View(component, TITLES[component], False, settings,
                    note=f"Not computed: this review has no {component} component.")
    return _RENDERERS[component](results.get(component), settings, lake, review, Words(results.outcome))


def render_all(results: Results, *, lake=None, review=None) -> list[View]:
    """Every component in a fixed order, those not computed included (they say so)."""
    results = typed(results, lake=lake, review=review)
    return [render(c, results, lake=lake, review=review) for c in COMPONENTS]


def fairness_results(results: Results) -> list[FairnessResult]:
    """Every fairness result of a review (each column and intersection), failing first."""
    results = typed(results)
    return _fairness.results(results.fairness, Words(results.outcome))


def fairness_live(report: dict, *, threshold: Optional[float] = None, target: str = "") -> View:
    """A fairness report computed now (analysis.fairness), in the words of its target when given."""
    return _fairness.live_view(report, threshold=threshold,
                               words=Words(Outcome(target, "binary", report.get("positive"))))


__all__ = ["COMPONENTS", "FairnessResult", "Figure", "GroupRow", "RuleVerdict", "SETTINGS", "Section", "Table", "TITLES",
           "View", "ViewSettingsError", "Words", "blocks", "confusion_matrix", "counterfactual_table", "score_bins", "blocks_html", "chart_title", "charts", "fairness_live",
           "fairness_results", "fmt", "group_label", "png", "render", "render_all", "STYLE", "table_html", "typed", "value_text",
           "verdict", "view_html"]
