"""Views of the other review components: overview, explain, errors, counterfactuals, causal, privacy.
Each reads the typed stored result (core.review.results) and the view's settings; a setting the stored
review cannot honour raises. Classes are named in the model's words, data values at their precision."""
from __future__ import annotations

from typing import Optional

import pandas as pd

from core import review
from core.data import cohorts
from core.errors import NotFoundError
from core.review.results import (CausalResult, CounterfactualRow, CounterfactualsResult, ErrorsResult, ExplainResult,
                                 OverviewResult, PrivacyResult)
from core.review_views import charts as _charts
from core.review_views._view import Figure, Section, Table, View, ViewSettingsError
from core.review_views._words import Words, decimals, num, value_text

OVERVIEW_METRICS = ("accuracy", "roc_auc", "selection_rate", "positive_rate", "mae", "rmse")


def _cohort(lake, current, name: str):
    if lake is None or current is None:
        raise ViewSettingsError("A cohort setting is drawn from the lake; give the view the lake and the review.")
    try:
        return cohorts.get(lake, str(name), usecase=current.usecase)
    except NotFoundError:
        raise ViewSettingsError(f"There is no saved cohort {name!r} in use case {current.usecase}.") from None


def _metric_line(name: str, overall, words: Words) -> str:
    meaning = {"selection_rate": f" (share {words.predicted})", "positive_rate": f" (share {words.truly})"}.get(name, "")
    ci = overall.interval(name)
    return (f"{name.replace('_', ' ')}{meaning} {overall.get(name):.4f}"
            + (f" (95% interval {ci[0]:.4f} to {ci[1]:.4f})" if ci else "") + ".")


def overview(stored: OverviewResult, settings: dict, lake=None, current=None, words: Optional[Words] = None) -> View:
    words = words or Words()
    overall = stored.overall
    metrics = [m for m in OVERVIEW_METRICS if isinstance(overall.get(m), (int, float))]
    figures = tuple(Figure(m.replace("_", " "), overall.get(m), f"{overall.get(m):.4f}") for m in metrics)
    table = Table(("metric", "value", "95% interval"),
                  tuple((m, overall.get(m), overall.interval(m)) for m in metrics), title="Metrics on the evaluated rows")
    tables, charts = [table], []
    matrix, bins = confusion_matrix(stored, words), score_bins(stored, words)
    if matrix is not None:
        tables.append(Table(("", *matrix.columns), tuple((i, *row) for i, row in zip(matrix.index, matrix.values.tolist())),
                            title="Confusion matrix"))
    if bins is not None:
        charts.append(_charts.score_distribution(bins))
    rows = overall.rows
    sections = [Section("Overall", headline=(Figure("rows", rows, f"{rows or 0:,}"), *figures),
                        sentences=tuple(_metric_line(m, overall, words) for m in metrics),
                        tables=tuple(tables), charts=tuple(charts))]
    feature = settings.get("feature")
    if feature is not None:
        if feature not in stored.by_feature:
            raise ViewSettingsError(f"The overview has no metrics by {feature!r}; it has {', '.join(stored.by_feature)}.")
        groups = pd.DataFrame([g.to_dict() for g in stored.by_feature[feature]])
        shown = [m for m in ("rows", *OVERVIEW_METRICS) if m in groups]
        metric = next(m for m in ("accuracy", "mae", "selection_rate") if m in groups)
        sections.append(Section(f"By {feature}", tables=(Table(("group", *shown), tuple(
            (f"{feature} = {r['group']}", *[r[m] for m in shown]) for r in groups.to_dict("records"))),),
                                charts=(_charts.group_metric(groups, metric, feature),)))
    if settings.get("cohort") is not None:
        saved = _cohort(lake, current, settings["cohort"])
        compared = review.cohort_metrics(lake, current, saved.conditions)
        shown = [m for m in ("rows", *OVERVIEW_METRICS) if m in compared["all"]]
        sections.append(Section(f"Cohort {saved.name}", sentences=(cohorts.describe(saved.conditions),),
                                tables=(Table(("metric", "cohort", "all rows"),
                                              tuple((m, compared["cohort"].get(m), compared["all"][m]) for m in shown)),)))
    return View("overview", "Model overview", True, settings, tuple(sections))


def confusion_matrix(stored: OverviewResult, words: Words) -> Optional[pd.DataFrame]:
    """The stored confusion matrix with its classes by name (actually defaulted / predicted not defaulted)."""
    matrix = stored.confusion_matrix
    if not matrix or not matrix.labels:
        return None
    names = [words.class_name(label) for label in matrix.labels]
    return pd.DataFrame([list(row) for row in matrix.matrix], index=[f"actually {n}" for n in names],
                        columns=[f"predicted {n}" for n in names])


def score_bins(stored: OverviewResult, words: Words) -> Optional[pd.DataFrame]:
    """The stored histogram of predicted scores, the true class by name (None when not stored)."""
    if not stored.score_distribution or any(b.truth is None for b in stored.score_distribution):
        return None
    bins = pd.DataFrame([b.to_dict() for b in stored.score_distribution])
    return bins.assign(truth=bins["truth"].map(words.class_name))


def explain(stored: ExplainResult, settings: dict, lake=None, current=None, words: Optional[Words] = None) -> View:
    top = stored.top_features
    frame = pd.DataFrame([f.to_dict() for f in top[:10]])
    first = top[0] if top else None
    sentences = [f"SHAP values of the model ({stored.output or ''}) on {stored.explained_rows or 0:,} of "
                 f"{stored.of_rows or 0:,} rows; base value {stored.base_value or 0:.4f}."]
    if len(top) >= 3:
        sentences.insert(0, f"The model leans most on {top[0].feature}, then {top[1].feature} and {top[2].feature}.")
    sections = [Section("Top features (SHAP)",
                        headline=(Figure("top feature", first.feature, f"{first.feature} ({num(first.mean_abs_shap)})"),)
                        if first else (),
                        sentences=tuple(sentences), charts=(_charts.importance(frame),) if len(frame) else (),
                        tables=(Table(("feature", "mean |SHAP|"), tuple((f.feature, f.mean_abs_shap) for f in top[:10])),))]
    feature = settings.get("feature")
    if feature is not None:
        ranks = {f.feature: (i + 1, f.mean_abs_shap) for i, f in enumerate(top)}
        if feature not in ranks:
            raise ViewSettingsError(f"{feature!r} was not explained in this review; its features are {', '.join(ranks)}.")
        curve = stored.curve(feature)
        rank, value = ranks[feature]
        lines = [f"{feature} ranks {rank} of {len(top)} by mean |SHAP| ({value:.4f})."]
        if curve is None:
            lines.append(f"Partial dependence was stored for the top features only; {feature} is not among them.")
        elif curve.error:
            lines.append(f"Partial dependence of {feature} could not be computed when this review was made; "
                         "recompute the review to draw it.")
        drawn = curve is not None and not curve.error
        sections.append(Section(f"Feature {feature}", headline=(Figure("rank", rank, str(rank)),), sentences=tuple(lines),
                                charts=(_charts.partial_dependence(curve.to_dict()),) if drawn else ()))
    if settings.get("cohort") is not None:
        saved = _cohort(lake, current, settings["cohort"])
        compared = review.cohort_importance(lake, current, saved.conditions)
        rows = int(compared["cohort_rows"].iloc[0]) if len(compared) else 0
        sections.append(Section(f"Cohort {saved.name} against all rows",
                                sentences=(f"{rows:,} explained rows in {saved.name}: {cohorts.describe(saved.conditions)}.",),
                                charts=(_charts.importance_compared(compared.drop(columns="cohort_rows")),)))
    if settings.get("row") is not None:
        sections.append(_explained_row(stored, settings["row"], lake, current))
    return View("explain", "Explainability", True, settings, tuple(sections))


def _explained_row(stored: ExplainResult, row, lake, current) -> Section:
    if lake is None or current is None:
        raise ViewSettingsError("A row's explanation is read from the lake; give the view the lake and the review.")
    try:
        local = review.local_explanation(lake, current, int(row))
    except (NotFoundError, TypeError, ValueError):
        raise ViewSettingsError(f"Row {row!r} was not explained in this review.") from None
    return Section(f"Row {int(row)}", charts=(_charts.local_explanation(local, stored.base_value or 0.0),),
                   tables=(Table(("feature", "value", "SHAP"),
                                 tuple(local[["feature", "value", "shap"]].itertuples(index=False, name=None))),))


def errors(stored: ErrorsResult, settings: dict, lake=None, current=None, words: Optional[Words] = None) -> View:
    overall = stored.overall_error_rate or 0.0
    worst = stored.worst_first
    what = "mean absolute error" if stored.regression else "error rate"
    sentences = [f"{c.filter}: {what} {num(c.error_rate)} on {num(c.rows, ',')} rows ({num(c.coverage, '.1%')} of all errors), "
                 f"against {overall:.4f} overall." for c in worst[:3]]
    table = Table(("cohort", what, "share of errors", "rows"),
                  tuple((c.filter, c.error_rate, c.coverage, c.rows) for c in worst[:8]), title="Worst cohorts")
    best = Table(("cohort", what, "share of errors", "rows"),
                 tuple((c.filter, c.error_rate, c.coverage, c.rows) for c in worst[::-1][:3]), title="Best cohorts")
    chart = (_charts.error_cohorts(pd.DataFrame([c.to_dict() for c in worst[:5]]), overall)
             if worst and not stored.regression else None)
    sections = [Section("Error analysis", headline=(Figure(f"{what}, all rows", overall, f"{overall:.4f}"),
                                                     Figure("rows", stored.rows, f"{stored.rows or 0:,}")),
                        sentences=tuple(sentences), tables=(table, best), charts=(chart,) if chart is not None else ())]
    picked = settings.get("top_cohort")
    if picked is not None:
        match = next((c for c in worst if c.filter == picked and c.error_rate is not None), None)
        if match is None:
            raise ViewSettingsError(f"The review's error tree has no cohort {picked!r}; its cohorts are "
                                    f"{'; '.join(c.filter for c in worst)}.")
        sections.insert(0, Section(f"Cohort {picked}", headline=(Figure(what, match.error_rate, f"{match.error_rate:.4f}"),
                                                                 Figure("rows", match.rows, f"{match.rows:,}")),
                                   sentences=(f"{what.capitalize()} {match.error_rate:.4f} on {match.rows:,} rows, "
                                              f"{match.coverage:.1%} of all errors; {overall:.4f} overall.",)))
    return View("errors", "Error analysis", True, settings, tuple(sections))


def counterfactuals(stored: CounterfactualsResult, settings: dict, lake=None, current=None,
                    words: Optional[Words] = None) -> View:
    words = words or Words()
    if not stored.rows and stored.note:
        if settings.get("row") is not None:
            raise ViewSettingsError(f"This review has no counterfactuals: {stored.note}")
        return View("counterfactuals", "Counterfactuals", True, settings, note=stored.note)
    changes, found = stored.feature_changes, stored.found or 0
    top = ", ".join(f"{k} ({v})" for k, v in list(changes.items())[:5])
    sections = [Section("Counterfactuals", headline=(
        Figure("counterfactuals", found, f"{found:,}"), Figure("rows", len(stored.rows), f"{len(stored.rows):,}"),
        Figure("rows without one", stored.rows_without or 0, f"{stored.rows_without or 0:,}")),
        sentences=(f"{found:,} counterfactuals for {len(stored.rows):,} held-out rows; the "
                   f"features that most often flip the decision: {top or 'none'}.",),
        charts=(_charts.feature_changes(changes),) if changes else (),
        tables=(Table(("feature", "counterfactuals that change it"), tuple(changes.items())),))]
    if settings.get("row") is not None:
        sections.insert(0, _counterfactual_row(stored, settings["row"], words))
    return View("counterfactuals", "Counterfactuals", True, settings, tuple(sections))


def _counterfactual_row(stored: CounterfactualsResult, wanted, words: Words) -> Section:
    """One row's counterfactuals: the changed columns, each value at its column's precision."""
    row = next((r for r in stored.rows if str(r.row) == str(wanted)), None)
    if row is None:
        raise ViewSettingsError(f"Row {wanted!r} has no stored counterfactuals; rows: "
                                f"{', '.join(str(r.row) for r in stored.rows[:20])}.")
    found = row.counterfactuals
    changed = [k for k in row.original if any(k in c.changed for c in found)]
    said = (f"Predicted {words.class_name(row.prediction)}; {len(found)} counterfactual(s) would make it "
            f"{words.class_name(found[0].prediction)}." if found
            else f"Predicted {words.class_name(row.prediction)}; no counterfactual was found.")
    records = counterfactual_table(stored, row, words)
    return Section(f"Row {row.row}", sentences=(said,), tables=(Table(("", *changed), tuple(
        (r[""], *[r[k] for k in changed]) for r in records)),))


def counterfactual_table(stored: CounterfactualsResult, row: CounterfactualRow, words: Words) -> list[dict]:
    """A row and its counterfactuals as records (the Counterfactuals page's table, the view's): the prediction
    by its class name, each value at its column's precision among the stored rows (64,400, not 64400.000000)."""
    places = {k: decimals([r.original.get(k) for r in stored.rows]) for k in row.original}

    def record(label: str, prediction, values) -> dict:
        return {"": label, "prediction": words.class_name(prediction),
                **{k: value_text(values.get(k), places[k]) for k in row.original}}
    return [record("original", row.prediction, row.original),
            *[record(f"counterfactual {i}", c.prediction, c.values) for i, c in enumerate(row.counterfactuals, start=1)]]


def causal(stored: CausalResult, settings: dict, lake=None, current=None, words: Optional[Words] = None) -> View:
    effects = list(stored.effects)
    wanted = settings.get("treatment")
    if wanted is not None:
        effects = [e for e in effects if e.treatment == wanted]
        if not effects:
            raise ViewSettingsError(f"This review estimated no effect of {wanted!r}; treatments: "
                                    f"{', '.join(e.treatment for e in stored.effects)}.")
    sections = []
    for e in sorted(effects, key=lambda e: e.trusted):
        p_value = f", p = {e.p_value:.2g}" if e.p_value is not None else ""
        naive = f"; naive difference {e.naive_difference:+.4g}" if e.naive_difference is not None else ""
        sections.append(Section(
            f"{e.treatment} on {e.outcome}", passed=e.trusted,
            headline=(Figure("average effect", e.ate, num(e.ate, "+.4g")),
                      Figure("95% interval", [e.ci_low, e.ci_high], f"{num(e.ci_low, '+.4g')} to {num(e.ci_high, '+.4g')}")),
            sentences=(*(["The placebo check FAILED: the estimate is not to be trusted."] if not e.trusted else []),
                       f"Effect of {e.treatment} on {e.outcome}: {num(e.ate, '+.4g')} (95% interval {num(e.ci_low, '+.4g')} "
                       f"to {num(e.ci_high, '+.4g')}{p_value}, {e.estimator}){naive}; placebo {'passed' if e.trusted else 'FAILED'}.",
                       *e.warnings)))
    return View("causal", "Causal analysis", True, settings, tuple(sections))


def privacy(stored: PrivacyResult, settings: dict, lake=None, current=None, words: Optional[Words] = None) -> View:
    sections = []
    for k, title in ((stored.k_anonymity, "k-anonymity"), (stored.k_anonymity_bucketed, "k-anonymity (bucketed)")):
        if not k:
            continue
        lines = [f"Over {', '.join(k.quasi_identifiers)}: the smallest group has {num(k.smallest_group, ',')} row(s); "
                 f"{num(k.share_below_k, '.1%')} of rows are in groups below k = {k.k}."]
        if k.l_diversity:
            lines.append(f"l-diversity of {k.l_diversity.sensitive}: l = {k.l_diversity.l} "
                         f"({num(k.l_diversity.share_rows_l_below_2, '.1%')} of rows with l below 2).")
        sections.append(Section(title, passed=k.passed, headline=(Figure("smallest group", k.smallest_group,
                                                                         num(k.smallest_group, ",")),),
                                sentences=tuple(lines)))
    attack = stored.membership_inference
    if attack and attack.auc is not None:
        sections.append(Section("Membership inference", headline=(Figure("attack AUC", attack.auc, f"{attack.auc:.4f}"),
                                                                  Figure("risk", attack.risk, str(attack.risk))),
                                sentences=(f"Membership-inference attack AUC {attack.auc:.4f} (0.5: nothing leaks); "
                                           f"risk {attack.risk}.",)))
    sections.append(Section("Personal data and recommendations", sentences=tuple(stored.recommendations),
                            tables=(Table(("column", "kind", "evidence", "recommendation"), tuple(
                                (p.column, p.kind, p.evidence, p.recommendation) for p in stored.personal_data)),)))
    sections.sort(key=lambda s: s.passed is not False)
    return View("privacy", "Privacy", True, settings, tuple(sections))
