"""A review's component results, typed: one frozen dataclass per component (overview, explain, errors,
fairness with a report per sensitive column and intersection, counterfactuals, causal, privacy) holding
the stored numbers, read by the renderers (core.review_views), the documents and the CLI alike.

`from_stored(dict)` reads what the lake holds; a key an older review did not store becomes None (or
empty), never a crash. `to_dict()` gives back exactly what was stored (same keys, same order; keys the
types do not name are kept in `extra`), so the stored JSON and the CLI's JSON do not change."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, Optional

from core import training
from core.errors import NotFoundError
from core.review._store import get, results


def _of(cls=None, *, key: Optional[str] = None, many: bool = False, by: bool = False, default: Any = None):
    """A field read from stored key `key` (default: its name): a nested result (`cls`), a list of them or
    of plain values (`many`, kept as a tuple), or a mapping of them (`by`)."""
    meta = {"cls": cls, "key": key, "many": many, "by": by}
    if by:
        return field(default_factory=dict, metadata=meta)
    if cls is Metrics:  # no metrics stored: an empty set, so that readers need no None check
        return field(default_factory=lambda: Metrics({}, {}), metadata=meta)
    return field(default=() if many else default, metadata=meta)


def _load(meta: Mapping, raw: Any) -> Any:
    cls, many, by = meta.get("cls"), meta.get("many"), meta.get("by")
    if raw is None:
        return {} if by else (() if many else None)
    if by:
        return {k: _load({"cls": cls, "many": many}, v) for k, v in dict(raw).items()}
    if many:
        return tuple(cls.from_stored(v) if cls else v for v in raw)
    return cls.from_stored(raw) if cls else raw


def _dump(value: Any) -> Any:
    if isinstance(value, (_Stored, Metrics)):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class _Stored:
    """Named fields from the stored keys; other keys kept as they were (`extra`), in the stored order (`keys`),
    so that to_dict() gives back exactly what was stored."""
    extra: dict = field(default_factory=dict, repr=False)
    keys: tuple = field(default=(), repr=False, compare=False)

    @classmethod
    def from_stored(cls, stored: Optional[Mapping]):
        stored = dict(stored or {})
        values, kept = {}, dict(stored)
        for f in fields(cls):
            if f.name in ("extra", "keys"):
                continue
            key = f.metadata.get("key") or f.name
            if key in stored:
                values[f.name] = _load(f.metadata, stored[key])
                if stored[key] is not None or not (f.metadata.get("many") or f.metadata.get("by")):
                    del kept[key]  # a null list reads as empty, and is kept as null
        return cls(**values, extra=kept, keys=tuple(stored))

    def to_dict(self) -> dict:
        by_key = {f.metadata.get("key") or f.name: getattr(self, f.name) for f in fields(self)
                  if f.name not in ("extra", "keys")}
        return {k: self.extra[k] if k in self.extra else _dump(by_key[k]) for k in self.keys}


@dataclass(frozen=True)
class Metrics:
    """A set of metrics as stored: values (rows/count included) and 95% intervals (`name_ci`)."""
    values: Mapping[str, Any]
    intervals: Mapping[str, tuple]
    keys: tuple = field(default=(), repr=False, compare=False)

    @classmethod
    def from_stored(cls, stored: Optional[Mapping]) -> "Metrics":
        stored = dict(stored or {})
        return cls({k: v for k, v in stored.items() if not k.endswith("_ci")},
                   {k[:-3]: tuple(v) if v is not None else None for k, v in stored.items() if k.endswith("_ci")},
                   tuple(stored))

    def to_dict(self) -> dict:
        return {k: (list(self.intervals[k[:-3]]) if self.intervals[k[:-3]] is not None else None)
                if k.endswith("_ci") else self.values[k] for k in self.keys}

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def interval(self, name: str) -> Optional[tuple]:
        """(low, high), or None when not stored or not computable (a one-row group)."""
        found = self.intervals.get(name)
        return found if found and None not in found else None

    @property
    def rows(self) -> Optional[int]:
        return self.values.get("rows", self.values.get("count"))


class _WithMetrics(_Stored):
    """A result whose stored keys, beyond the named ones, are all metrics (a group's rows, rates, intervals)."""

    @classmethod
    def from_stored(cls, stored):
        made = super().from_stored(stored)
        return cls(**{f.name: getattr(made, f.name) for f in fields(cls) if f.name not in ("extra", "keys", "metrics")},
                   metrics=Metrics.from_stored(made.extra), keys=made.keys)

    def to_dict(self) -> dict:
        return _Stored.to_dict(replace(self, extra=self.metrics.to_dict()))


# ---- overview -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OverviewGroup(_WithMetrics):
    group: str = None
    metrics: Metrics = field(default_factory=lambda: Metrics({}, {}))


@dataclass(frozen=True)
class ScoreBin(_Stored):
    truth: str = None
    bin_start: float = None
    bin_end: float = None
    rows: int = None


@dataclass(frozen=True)
class ConfusionMatrix(_Stored):
    labels: tuple = _of(many=True)
    matrix: tuple = _of(many=True)


@dataclass(frozen=True)
class OverviewResult(_Stored):
    overall: Metrics = _of(Metrics)
    by_feature: Mapping[str, tuple] = _of(OverviewGroup, many=True, by=True)
    score_distribution: tuple = _of(ScoreBin, many=True)
    confusion_matrix: Optional[ConfusionMatrix] = _of(ConfusionMatrix)


# ---- explain --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureImportance(_Stored):
    feature: str = None
    mean_abs_shap: float = None


@dataclass(frozen=True)
class PartialDependence(_Stored):
    feature: str = None
    categorical: Optional[bool] = None
    grid: tuple = _of(many=True)
    average: tuple = _of(many=True)
    ice: tuple = _of(many=True)
    error: Optional[str] = None  # why the curve could not be computed


@dataclass(frozen=True)
class ExplainResult(_Stored):
    top_features: tuple = _of(FeatureImportance, many=True)  # largest mean |SHAP| first
    base_value: Optional[float] = None
    explained_rows: Optional[int] = None
    of_rows: Optional[int] = None
    output: Optional[str] = None  # what a SHAP value is measured in
    partial_dependence: tuple = _of(PartialDependence, many=True)

    def curve(self, feature: str) -> Optional[PartialDependence]:
        return next((c for c in self.partial_dependence if c.feature == feature), None)


# ---- errors ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorCohort(_Stored):
    """A node of the error tree (or a top cohort): its filter in words and as cohort conditions."""
    filter: str = None
    conditions: tuple = _of(many=True)
    rows: int = None
    errors: Optional[float] = None
    error_rate: float = None
    coverage: float = None  # share of all errors
    # a tree node's id, parent, depth and leaf: in extra


@dataclass(frozen=True)
class HeatCell(_Stored):
    first: str = None
    second: Optional[str] = None
    rows: int = None
    errors: float = None
    error_rate: float = None
    conditions: tuple = _of(many=True)


@dataclass(frozen=True)
class ErrorsResult(_Stored):
    overall_error_rate: Optional[float] = None  # mean absolute error for a regression
    total_errors: Optional[float] = None
    rows: Optional[int] = None
    regression: Optional[bool] = None
    max_depth: Optional[int] = None
    max_leaf_nodes: Optional[int] = None
    min_samples_leaf: Optional[int] = None
    nodes: tuple = _of(ErrorCohort, many=True)
    cohorts: tuple = _of(ErrorCohort, many=True)
    heatmap_features: tuple = _of(many=True)
    heatmap: tuple = _of(HeatCell, many=True)

    @property
    def worst_first(self) -> list[ErrorCohort]:
        return sorted(self.cohorts, key=lambda c: -(c.error_rate or 0))


# ---- fairness -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FairnessGroup(_WithMetrics):
    group: Mapping[str, Any] = None  # column -> value
    small: Optional[bool] = None  # too few rows to judge
    metrics: Metrics = field(default_factory=lambda: Metrics({}, {}))  # count, positives, rates and their intervals

    @property
    def count(self) -> int:
        return int(self.metrics.get("count") or 0)


@dataclass(frozen=True)
class RuleMetric(_Stored):
    worst_ratio: float = None
    worst_group: Optional[Mapping[str, Any]] = None
    passed: bool = None


@dataclass(frozen=True)
class FourFifths(_Stored):
    reference: Mapping[str, Any] = None
    threshold: float = None
    metrics: Mapping[str, RuleMetric] = _of(RuleMetric, by=True)
    passed: bool = None


@dataclass(frozen=True)
class SensitiveReport(_Stored):
    """Fairness by one sensitive column, or by the intersection of several (a regression has no rule)."""
    sensitive: tuple = _of(many=True)
    positive: Any = None
    overall: Metrics = _of(Metrics)
    groups: tuple = _of(FairnessGroup, many=True)
    disparities: Mapping[str, Any] = _of(by=True)
    four_fifths: Optional[FourFifths] = _of(FourFifths)
    summary: tuple = _of(many=True)
    warnings: tuple = _of(many=True)


@dataclass(frozen=True)
class FairnessResults(_Stored):
    reports: tuple = _of(SensitiveReport, many=True)  # each column alone, then their intersection
    threshold: Optional[float] = None
    sweep_by: Optional[str] = None
    sweep: tuple = _of(many=True)
    note: Optional[str] = None  # why there is no report


# ---- counterfactuals ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Counterfactual(_Stored):
    values: Mapping[str, Any] = None
    prediction: Any = None
    changed: tuple = _of(many=True)


@dataclass(frozen=True)
class CounterfactualRow(_Stored):
    row: int = None  # lake row id
    original: Mapping[str, Any] = None
    prediction: Any = None
    counterfactuals: tuple = _of(Counterfactual, many=True)


@dataclass(frozen=True)
class CounterfactualsResult(_Stored):
    rows: tuple = _of(CounterfactualRow, many=True)
    found: Optional[int] = _of(key="counterfactuals")
    rows_without: Optional[int] = None
    feature_changes: Mapping[str, int] = _of(by=True)
    count: Optional[int] = None  # asked for per row
    method: Optional[str] = None
    vary: tuple = _of(many=True)
    threshold: Optional[float] = None
    seconds: Optional[float] = None
    rows_per_second: Optional[float] = None
    note: Optional[str] = None  # why there are none


# ---- causal ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placebo(_Stored):
    effect: float = None
    ci_low: float = None
    ci_high: float = None
    passed: bool = None
    estimator: Optional[str] = None


@dataclass(frozen=True)
class CausalEffect(_Stored):
    treatment: str = None
    outcome: str = None
    method: Optional[str] = None
    estimator: Optional[str] = None
    ate: float = None
    ci_low: float = None
    ci_high: float = None
    p_value: Optional[float] = None
    naive_difference: Optional[float] = None
    placebo: Optional[Placebo] = _of(Placebo)
    warnings: tuple = _of(many=True)
    # overlap, policy, by_feature, individual, ...: in extra, as stored

    @property
    def trusted(self) -> bool:
        """The placebo check passed (an effect stored without one is not trusted)."""
        return bool(self.placebo and self.placebo.passed)


@dataclass(frozen=True)
class CausalResult(_Stored):
    effects: tuple = _of(CausalEffect, many=True)


# ---- privacy --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PersonalData(_Stored):
    column: str = None
    kind: str = None
    evidence: str = None
    recommendation: str = None


@dataclass(frozen=True)
class LDiversity(_Stored):
    sensitive: str = None
    l: int = None  # noqa: E741 (the measure's name)
    share_rows_l_below_2: float = None


@dataclass(frozen=True)
class KAnonymity(_Stored):
    quasi_identifiers: tuple = _of(many=True)
    k: int = None
    rows: Optional[int] = None
    groups: Optional[int] = None
    smallest_group: int = None
    share_below_k: float = None
    unique_rows_share: Optional[float] = None
    passed: bool = None
    l_diversity: Optional[LDiversity] = _of(LDiversity)


@dataclass(frozen=True)
class MembershipInference(_Stored):
    auc: Optional[float] = None
    risk: Optional[str] = None
    advantage: Optional[float] = None
    rows_per_side: Optional[int] = None
    # the two attacks' AUCs, mean losses and run id: in extra


@dataclass(frozen=True)
class PrivacyResult(_Stored):
    dataset: Optional[str] = None
    rows: Optional[int] = None
    personal_data: tuple = _of(PersonalData, many=True)
    k_anonymity: Optional[KAnonymity] = _of(KAnonymity)
    k_anonymity_bucketed: Optional[KAnonymity] = _of(KAnonymity)
    membership_inference: Optional[MembershipInference] = _of(MembershipInference)
    recommendations: tuple = _of(many=True)


# ---- validation checks (core.validation) ------------------------------------------------------------------
@dataclass(frozen=True)
class CheckOutcome(_Stored):
    """One validation check: its status against its conditions, severity, sentence and evidence."""
    check: str = ""
    category: str = ""
    status: str = ""
    severity: str = ""
    summary: str = ""
    evidence: Optional[dict] = None
    conditions: Optional[dict] = None
    seconds: Optional[float] = None


@dataclass(frozen=True)
class SkippedCheck(_Stored):
    check: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ChecksResult(_Stored):
    run_id: Optional[str] = None
    dataset: Optional[str] = None
    rows: Optional[int] = None
    checks: tuple = _of(CheckOutcome, many=True)
    skipped: tuple = _of(SkippedCheck, many=True)
    counts: Optional[dict] = None
    seconds: Optional[float] = None


# ---- a review's results -------------------------------------------------------------------------------
TYPES = {"overview": OverviewResult, "explain": ExplainResult, "errors": ErrorsResult, "fairness": FairnessResults,
         "counterfactuals": CounterfactualsResult, "causal": CausalResult, "privacy": PrivacyResult,
         "checks": ChecksResult}


@dataclass(frozen=True)
class Outcome:
    """What the model predicts, for sentences: the target column, its task, classes and positive class."""
    target: str = ""
    task: str = ""
    positive: Any = None
    classes: tuple = ()


@dataclass(frozen=True)
class ReviewResults:
    """Every component a review computed (None: not computed), and the outcome it is about."""
    overview: Optional[OverviewResult] = None
    explain: Optional[ExplainResult] = None
    errors: Optional[ErrorsResult] = None
    fairness: Optional[FairnessResults] = None
    counterfactuals: Optional[CounterfactualsResult] = None
    causal: Optional[CausalResult] = None
    privacy: Optional[PrivacyResult] = None
    checks: Optional[ChecksResult] = None
    outcome: Outcome = field(default_factory=Outcome)

    @classmethod
    def from_stored(cls, results: Mapping[str, dict], *, outcome: Optional[Outcome] = None) -> "ReviewResults":
        """`results`: component -> stored dict (review.results); unknown components are left out."""
        typed = {c: TYPES[c].from_stored(v) for c, v in results.items() if c in TYPES and v is not None}
        return cls(**typed, outcome=outcome or _outcome_from(typed))

    def to_dict(self) -> dict:
        return {c: getattr(self, c).to_dict() for c in TYPES if getattr(self, c) is not None}

    @property
    def computed(self) -> tuple:
        return tuple(c for c in TYPES if getattr(self, c) is not None)

    def __contains__(self, component: str) -> bool:
        return component in TYPES and getattr(self, component) is not None

    def get(self, component: str):
        return getattr(self, component) if component in TYPES else None


def typed_results(lake, review_id: str) -> ReviewResults:
    """A stored review's results as typed objects, with the outcome its run predicts (review.results
    gives the same as plain dicts, for JSON)."""
    current = get(lake, review_id)
    return with_outcome(ReviewResults.from_stored(results(lake, review_id)), current, lake=lake)


def with_outcome(typed: ReviewResults, current, *, lake=None) -> ReviewResults:
    """The results with the outcome of review `current`: its run's target, task, classes and positive class
    (read from the lake when given and the run still exists; else what the review and its results kept)."""
    outcome = replace(typed.outcome, target=current.config.get("target", ""), task=current.config.get("task", ""))
    if lake is not None:
        try:
            run = training.get(lake, current.run_id)
            outcome = Outcome(run.target, run.task, run.positive, tuple(run.classes or ()))
        except NotFoundError:
            pass  # the run has since been deleted
    return replace(typed, outcome=outcome)


def _outcome_from(typed: dict) -> Outcome:
    """The outcome as far as the stored results tell it (the run gives it in full: typed_results)."""
    fairness, overview = typed.get("fairness"), typed.get("overview")
    positive = next((r.positive for r in fairness.reports if r.positive is not None), None) if fairness else None
    classes = tuple(overview.confusion_matrix.labels) if overview and overview.confusion_matrix else ()
    return Outcome(positive=positive, classes=classes, task="binary" if len(classes) == 2 else "")


__all__ = ["CausalEffect", "CausalResult", "CheckOutcome", "ChecksResult", "SkippedCheck", "ConfusionMatrix", "Counterfactual", "CounterfactualRow", "CounterfactualsResult",
           "ErrorCohort", "ErrorsResult", "ExplainResult", "FairnessGroup", "FairnessResults", "FeatureImportance", "FourFifths",
           "HeatCell", "KAnonymity", "LDiversity", "MembershipInference", "Metrics", "Outcome", "OverviewGroup",
           "OverviewResult", "PartialDependence", "PersonalData", "Placebo", "PrivacyResult", "ReviewResults", "RuleMetric",
           "ScoreBin", "SensitiveReport", "TYPES", "typed_results", "with_outcome"]
