"""Views of the other review components: overview, explain, errors, counterfactuals, causal, privacy.
Each reads the stored result and the view's settings; a setting the stored review cannot honour raises."""
from __future__ import annotations

from typing import Optional

import pandas as pd

from core.errors import NotFoundError
from core.review_views import charts as _charts
from core.review_views._view import Figure, Section, Table, View, ViewSettingsError

OVERVIEW_METRICS = ("accuracy", "roc_auc", "selection_rate", "positive_rate", "mae", "rmse")


def _cohort(lake, current, name: str):
    from core.data import cohorts

    if lake is None or current is None:
        raise ViewSettingsError("A cohort setting is drawn from the lake; give the view the lake and the review.")
    try:
        return cohorts.get(lake, str(name), usecase=current.usecase)
    except NotFoundError:
        raise ViewSettingsError(f"There is no saved cohort {name!r} in use case {current.usecase}.") from None


def overview(stored: dict, settings: dict, lake=None, current=None) -> View:
    overall = stored.get("overall", {})
    metrics = [m for m in OVERVIEW_METRICS if isinstance(overall.get(m), (int, float))]
    figures = tuple(Figure(m.replace("_", " "), overall[m], f"{overall[m]:.4f}") for m in metrics)
    table = Table(("metric", "value", "95% interval"),
                  tuple((m, overall[m], overall.get(f"{m}_ci")) for m in metrics), title="Metrics on the evaluated rows")
    tables, charts = [table], []
    matrix = stored.get("confusion_matrix")
    if matrix:
        tables.append(Table(("", *[f"predicted {l}" for l in matrix["labels"]]),
                            tuple((f"true {l}", *row) for l, row in zip(matrix["labels"], matrix["matrix"])),
                            title="Confusion matrix"))
    if stored.get("score_distribution"):
        charts.append(_charts.score_distribution(pd.DataFrame(stored["score_distribution"])))
    sections = [Section("Overall", headline=(Figure("rows", overall.get("rows"), f"{overall.get('rows', 0):,}"), *figures),
                        sentences=tuple(f"{m.replace('_', ' ')} {overall[m]:.4f}" + (
                            f" (95% interval {overall[m + '_ci'][0]:.4f} to {overall[m + '_ci'][1]:.4f})"
                            if (overall.get(m + "_ci") or [None])[0] is not None else "") + "." for m in metrics),
                        tables=tuple(tables), charts=tuple(charts))]
    feature = settings.get("feature")
    if feature is not None:
        if feature not in stored.get("by_feature", {}):
            raise ViewSettingsError(f"The overview has no metrics by {feature!r}; it has "
                                    f"{', '.join(stored.get('by_feature', {}))}.")
        groups = pd.DataFrame(stored["by_feature"][feature])
        shown = [m for m in ("rows", *OVERVIEW_METRICS) if m in groups]
        metric = next(m for m in ("accuracy", "mae", "selection_rate") if m in groups)
        sections.append(Section(f"By {feature}", tables=(Table(("group", *shown), tuple(
            (str(r["group"]), *[r[m] for m in shown]) for r in groups.to_dict("records"))),),
                                charts=(_charts.group_metric(groups, metric, feature),)))
    if settings.get("cohort") is not None:
        from core.data import cohorts
        from core import review

        saved = _cohort(lake, current, settings["cohort"])
        compared = review.cohort_metrics(lake, current, saved.conditions)
        shown = [m for m in ("rows", *OVERVIEW_METRICS) if m in compared["all"]]
        sections.append(Section(f"Cohort {saved.name}", sentences=(cohorts.describe(saved.conditions),),
                                tables=(Table(("metric", "cohort", "all rows"),
                                              tuple((m, compared["cohort"].get(m), compared["all"][m]) for m in shown)),)))
    return View("overview", "Model overview", True, settings, tuple(sections))


def explain(stored: dict, settings: dict, lake=None, current=None) -> View:
    top = stored.get("top_features", [])
    frame = pd.DataFrame(top[:10])
    first = top[0] if top else None
    sentences = [f"SHAP values of the model ({stored.get('output', '')}) on {stored.get('explained_rows', 0):,} of "
                 f"{stored.get('of_rows', 0):,} rows; base value {stored.get('base_value', 0):.4f}."]
    if len(top) >= 3:
        sentences.insert(0, f"The model leans most on {top[0]['feature']}, then {top[1]['feature']} and {top[2]['feature']}.")
    sections = [Section("Top features (SHAP)",
                        headline=(Figure("top feature", first["feature"], f"{first['feature']} ({first['mean_abs_shap']:.4f})"),)
                        if first else (),
                        sentences=tuple(sentences), charts=(_charts.importance(frame),) if len(frame) else (),
                        tables=(Table(("feature", "mean |SHAP|"), tuple((f["feature"], f["mean_abs_shap"]) for f in top[:10])),))]
    feature = settings.get("feature")
    if feature is not None:
        ranks = {f["feature"]: (i + 1, f["mean_abs_shap"]) for i, f in enumerate(top)}
        if feature not in ranks:
            raise ViewSettingsError(f"{feature!r} was not explained in this review; its features are {', '.join(ranks)}.")
        curve = next((c for c in stored.get("partial_dependence", []) if c["feature"] == feature), None)
        rank, value = ranks[feature]
        lines = [f"{feature} ranks {rank} of {len(top)} by mean |SHAP| ({value:.4f})."]
        if curve is None:
            lines.append(f"Partial dependence was stored for the top features only; {feature} is not among them.")
        elif "error" in curve:
            lines.append(f"Partial dependence of {feature} could not be computed: {curve['error']}")
        sections.append(Section(f"Feature {feature}", headline=(Figure("rank", rank, str(rank)),), sentences=tuple(lines),
                                charts=(_charts.partial_dependence(curve),) if curve and "error" not in curve else ()))
    if settings.get("cohort") is not None:
        from core.data import cohorts
        from core import review

        saved = _cohort(lake, current, settings["cohort"])
        compared = review.cohort_importance(lake, current, saved.conditions)
        rows = int(compared["cohort_rows"].iloc[0]) if len(compared) else 0
        sections.append(Section(f"Cohort {saved.name} against all rows",
                                sentences=(f"{rows:,} explained rows in {saved.name}: {cohorts.describe(saved.conditions)}.",),
                                charts=(_charts.importance_compared(compared.drop(columns="cohort_rows")),)))
    if settings.get("row") is not None:
        from core import review

        if lake is None or current is None:
            raise ViewSettingsError("A row's explanation is read from the lake; give the view the lake and the review.")
        try:
            local = review.local_explanation(lake, current, int(settings["row"]))
        except (NotFoundError, TypeError, ValueError):
            raise ViewSettingsError(f"Row {settings['row']!r} was not explained in this review.") from None
        sections.append(Section(f"Row {int(settings['row'])}",
                                charts=(_charts.local_explanation(local, stored.get("base_value", 0.0)),),
                                tables=(Table(("feature", "value", "SHAP"),
                                              tuple(local[["feature", "value", "shap"]].itertuples(index=False, name=None))),)))
    return View("explain", "Explainability", True, settings, tuple(sections))


def errors(stored: dict, settings: dict, lake=None, current=None) -> View:
    overall, regression = stored.get("overall_error_rate"), stored.get("regression", False)
    cohorts = sorted(stored.get("cohorts", []), key=lambda c: -c["error_rate"])
    what = "mean absolute error" if regression else "error rate"
    sentences = [f"{c['filter']}: {what} {c['error_rate']:.4f} on {c['rows']:,} rows ({c['coverage']:.1%} of all errors), "
                 f"against {overall:.4f} overall." for c in cohorts[:3]]
    table = Table(("cohort", what, "share of errors", "rows"),
                  tuple((c["filter"], c["error_rate"], c["coverage"], c["rows"]) for c in cohorts[:8]),
                  title="Worst cohorts")
    best = Table(("cohort", what, "share of errors", "rows"),
                 tuple((c["filter"], c["error_rate"], c["coverage"], c["rows"]) for c in cohorts[::-1][:3]),
                 title="Best cohorts")
    chart = _charts.error_cohorts(pd.DataFrame(cohorts[:5]), overall) if cohorts and not regression else None
    sections = [Section("Error analysis", headline=(Figure(f"{what}, all rows", overall, f"{overall:.4f}"),
                                                     Figure("rows", stored.get("rows"), f"{stored.get('rows', 0):,}")),
                        sentences=tuple(sentences), tables=(table, best), charts=(chart,) if chart is not None else ())]
    picked = settings.get("top_cohort")
    if picked is not None:
        match = next((c for c in cohorts if c["filter"] == picked), None)
        if match is None:
            raise ViewSettingsError(f"The review's error tree has no cohort {picked!r}; its cohorts are "
                                    f"{'; '.join(c['filter'] for c in cohorts)}.")
        sections.insert(0, Section(f"Cohort {picked}", headline=(Figure(what, match["error_rate"], f"{match['error_rate']:.4f}"),
                                                                 Figure("rows", match["rows"], f"{match['rows']:,}")),
                                   sentences=(f"{what.capitalize()} {match['error_rate']:.4f} on {match['rows']:,} rows, "
                                              f"{match['coverage']:.1%} of all errors; {overall:.4f} overall.",)))
    return View("errors", "Error analysis", True, settings, tuple(sections))


def counterfactuals(stored: dict, settings: dict, lake=None, current=None) -> View:
    if not stored.get("rows") and stored.get("note"):
        if settings.get("row") is not None:
            raise ViewSettingsError(f"This review has no counterfactuals: {stored['note']}")
        return View("counterfactuals", "Counterfactuals", True, settings, note=stored["note"])
    changes = stored.get("feature_changes", {})
    top = ", ".join(f"{k} ({v})" for k, v in list(changes.items())[:5])
    sections = [Section("Counterfactuals", headline=(
        Figure("counterfactuals", stored.get("counterfactuals", 0), f"{stored.get('counterfactuals', 0):,}"),
        Figure("rows", len(stored["rows"]), f"{len(stored['rows']):,}"),
        Figure("rows without one", stored.get("rows_without", 0), f"{stored.get('rows_without', 0):,}")),
        sentences=(f"{stored.get('counterfactuals', 0):,} counterfactuals for {len(stored['rows']):,} held-out rows; the "
                   f"features that most often flip the decision: {top or 'none'}.",),
        charts=(_charts.feature_changes(changes),) if changes else (),
        tables=(Table(("feature", "counterfactuals that change it"), tuple(changes.items())),))]
    if settings.get("row") is not None:
        row = next((r for r in stored["rows"] if str(r["row"]) == str(settings["row"])), None)
        if row is None:
            raise ViewSettingsError(f"Row {settings['row']!r} has no stored counterfactuals; rows: "
                                    f"{', '.join(str(r['row']) for r in stored['rows'][:20])}.")
        found = row.get("counterfactuals", [])
        changed = [k for k in row["original"] if any(k in c.get("changed", []) for c in found)]
        sections.insert(0, Section(f"Row {row['row']}", sentences=(f"Predicted {row.get('prediction')}; "
                                                                   f"{len(found)} counterfactual(s) flip it.",),
                                   tables=(Table(("", *changed), (("original", *[row["original"][k] for k in changed]),
                                                                  *[(f"counterfactual {i + 1}", *[c["values"].get(k) for k in changed])
                                                                    for i, c in enumerate(found)])),)))
    return View("counterfactuals", "Counterfactuals", True, settings, tuple(sections))


def causal(stored: dict, settings: dict, lake=None, current=None) -> View:
    effects = stored.get("effects", [])
    wanted = settings.get("treatment")
    if wanted is not None:
        effects = [e for e in effects if e["treatment"] == wanted]
        if not effects:
            raise ViewSettingsError(f"This review estimated no effect of {wanted!r}; treatments: "
                                    f"{', '.join(e['treatment'] for e in stored.get('effects', []))}.")
    sections = []
    for e in sorted(effects, key=lambda e: e["placebo"]["passed"]):
        sections.append(Section(
            f"{e['treatment']} on {e['outcome']}", passed=e["placebo"]["passed"],
            headline=(Figure("average effect", e["ate"], f"{e['ate']:+.4g}"),
                      Figure("95% interval", [e["ci_low"], e["ci_high"]], f"{e['ci_low']:+.4g} to {e['ci_high']:+.4g}")),
            sentences=(*([f"The placebo check FAILED: the estimate is not to be trusted."] if not e["placebo"]["passed"] else []),
                       f"Effect of {e['treatment']} on {e['outcome']}: {e['ate']:+.4g} (95% interval {e['ci_low']:+.4g} to "
                       f"{e['ci_high']:+.4g}, p = {e['p_value']:.2g}, {e['estimator']}); naive difference "
                       f"{e['naive_difference']:+.4g}; placebo {'passed' if e['placebo']['passed'] else 'FAILED'}.",
                       *e.get("warnings", []))))
    return View("causal", "Causal analysis", True, settings, tuple(sections))


def privacy(stored: dict, settings: dict, lake=None, current=None) -> View:
    sections = []
    for key, title in (("k_anonymity", "k-anonymity"), ("k_anonymity_bucketed", "k-anonymity (bucketed)")):
        k = stored.get(key)
        if not k:
            continue
        lines = [f"Over {', '.join(k['quasi_identifiers'])}: the smallest group has {k['smallest_group']:,} row(s); "
                 f"{k['share_below_k']:.1%} of rows are in groups below k = {k['k']}."]
        diversity = k.get("l_diversity")
        if diversity:
            lines.append(f"l-diversity of {diversity['sensitive']}: l = {diversity['l']} "
                         f"({diversity['share_rows_l_below_2']:.1%} of rows with l below 2).")
        sections.append(Section(title, passed=k["passed"], headline=(Figure("smallest group", k["smallest_group"],
                                                                            f"{k['smallest_group']:,}"),),
                                sentences=tuple(lines)))
    attack = stored.get("membership_inference")
    if attack and attack.get("auc") is not None:
        sections.append(Section("Membership inference", headline=(Figure("attack AUC", attack["auc"], f"{attack['auc']:.4f}"),
                                                                  Figure("risk", attack.get("risk"), str(attack.get("risk")))),
                                sentences=(f"Membership-inference attack AUC {attack['auc']:.4f} (0.5: nothing leaks); "
                                           f"risk {attack.get('risk')}.",)))
    sections.append(Section("Personal data and recommendations", sentences=tuple(stored.get("recommendations", [])),
                            tables=(Table(("column", "kind", "evidence", "recommendation"), tuple(
                                (p["column"], p["kind"], p["evidence"], p["recommendation"])
                                for p in stored.get("personal_data", []))),)))
    sections.sort(key=lambda s: s.passed is not False)
    return View("privacy", "Privacy", True, settings, tuple(sections))

