"""The view of the validation checks component: the pass/warn/fail table with failing checks first, and (with
the setting `check`) one check's drill-down: its sentence, conditions, evidence and chart."""
from __future__ import annotations

from typing import Optional

import altair as alt
import pandas as pd

from core.review_views._view import Figure, Section, Table, View, ViewSettingsError

TITLE = "Validation checks"
_RANK = {"fail": 0, "warn": 1, "pass": 2}
_NOT = "(not stored)"
_BLANK = {"check": _NOT, "category": _NOT, "status": _NOT, "severity": _NOT, "summary": _NOT, "evidence": {}}
_COLORS = alt.Scale(domain=["pass", "warn", "fail"], range=["#1a7f37", "#d29922", "#c62828"])


def _passed(status: str) -> Optional[bool]:
    return {"pass": True, "fail": False}.get(status)


def view(stored, settings: dict, lake=None, current=None, words=None) -> View:
    """`stored`: the review's ChecksResult (core.review.results), or the stored dict it reads."""
    stored = stored.to_dict() if hasattr(stored, "to_dict") else dict(stored)
    # an older or partial record reads with "(not stored)" in place of what it lacks, never a crash
    checks = sorted(({**_BLANK, **{k: v for k, v in c.items() if v is not None}} for c in stored.get("checks") or []),
                    key=lambda c: (_RANK.get(c["status"], 3), c["check"]))
    name = settings.get("check")
    if name is not None:
        chosen = next((c for c in checks if c["check"] == name), None)
        if chosen is None:
            raise ViewSettingsError(f"This review's checks hold no {name!r}; they hold "
                                    f"{', '.join(c['check'] for c in checks) or 'none'}.")
        return View("checks", TITLE, True, dict(settings), sections=(drill_down(chosen),))
    counts = stored.get("counts", {})
    figures = tuple(Figure(s, counts.get(s, 0), str(counts.get(s, 0))) for s in ("pass", "warn", "fail"))
    table = Table(("check", "category", "status", "severity", "summary"),
                  tuple((c["check"], c["category"], c["status"], c["severity"], c["summary"]) for c in checks))
    sentences = tuple(f"{c['check']} ({c['severity']}): {c['status'].upper()}: {c['summary']}"
                      for c in checks if c["status"] != "pass")
    tables = [table]
    if stored.get("skipped"):
        tables.append(Table(("check", "why it did not apply"), tuple((s.get("check", _NOT), s.get("reason", _NOT)) for s in stored["skipped"]),
                            title="Checks that did not apply"))
    overall = Section(f"{len(checks)} checks on {stored.get('rows', 0):,} rows of {stored.get('dataset', '')}",
                      passed=not any(c["status"] == "fail" for c in checks), headline=figures, sentences=sentences,
                      tables=tuple(tables))
    return View("checks", TITLE, True, dict(settings), sections=(overall,))


def drill_down(check: dict) -> Section:
    evidence = check.get("evidence", {})
    scalars = tuple((k, shown(v)) for k, v in evidence.items() if isinstance(v, (int, float, str, bool)) or v is None)
    conditions = Table(("condition", "value"), tuple(check.get("conditions", {}).items()), title="Conditions")
    chart = chart_of(check)
    tables = [Table(("evidence", "value"), scalars, title="Evidence"), conditions]
    listed = _listed(check)
    if listed is not None:
        tables.insert(0, listed)
    title = f"{check['check']} ({check['severity']})" + (": warn" if check["status"] == "warn" else "")
    return Section(title, passed=_passed(check["status"]),
                   sentences=(check["summary"],), tables=tuple(tables), charts=(chart,) if chart is not None else ())


def _listed(check: dict) -> Optional[Table]:
    """The rows behind a check's verdict (slices, groups, features), as a table."""
    e = check.get("evidence", {})
    rows = {"weak_slices": e.get("slices"), "conformal_coverage": e.get("groups"), "robustness": e.get("by_feature"),
            "calibration": e.get("slices")}.get(check["check"])
    if not rows:
        return None
    header = tuple(k for k in rows[0] if k != "conditions")
    return Table(header, tuple(tuple(shown(r.get(k)) for k in header) for r in rows), title="Details")


def shown(value):
    """A figure as a person reads it: a float at 4 significant digits (0.9598, not 0.959791359337656); the
    stored evidence keeps every digit."""
    return float(f"{value:.4g}") if isinstance(value, float) and value == value else value


def chart_of(check: dict) -> Optional[alt.Chart]:
    name, e = check["check"], check.get("evidence", {})
    if name == "calibration" and e.get("reliability_curve"):
        curve = pd.DataFrame(e["reliability_curve"])
        line = alt.Chart(curve).mark_line(point=True).encode(
            x=alt.X("mean_predicted:Q", title="mean predicted probability", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("observed:Q", title="observed rate", scale=alt.Scale(domain=[0, 1])), tooltip=["rows"])
        diagonal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(strokeDash=[4, 4], color="grey").encode(
            x="x:Q", y="y:Q")
        return alt.layer(diagonal, line).properties(width=380, height=300, title="Reliability curve")
    if name == "weak_slices" and e.get("slices"):
        frame = pd.DataFrame(e["slices"][:10])[["slice", "metric", "rest", "rows"]]
        bars = alt.Chart(frame).mark_bar(color="#c62828").encode(
            x=alt.X("metric:Q", title=e.get("metric", "metric")), y=alt.Y("slice:N", sort=None, title=None,
                                                                          axis=alt.Axis(labelLimit=420)),
            tooltip=["slice", "rows", alt.Tooltip("metric:Q", format=".3f"), alt.Tooltip("rest:Q", format=".3f")])
        rest = alt.Chart(frame).mark_tick(color="black", thickness=2).encode(x="rest:Q", y=alt.Y("slice:N", sort=None))
        return alt.layer(bars, rest).properties(width=420, height=30 * len(frame) + 40,
                                                title="Weakest slices (tick: the rest of the rows)")
    if name == "conformal_coverage" and e.get("groups"):
        frame = pd.DataFrame(e["groups"]).assign(label=lambda f: f["column"] + " = " + f["group"].astype(str))
        bars = alt.Chart(frame).mark_bar().encode(
            x=alt.X("coverage:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("label:N", sort=None, title=None), color=alt.Color("status:N", scale=_COLORS),
            tooltip=["label", "rows", alt.Tooltip("coverage:Q", format=".1%"), alt.Tooltip("mean_size:Q", format=".2f")])
        target = alt.Chart(pd.DataFrame({"c": [e["confidence"]]})).mark_rule(strokeDash=[4, 4]).encode(x="c:Q")
        return alt.layer(bars, target).properties(width=420, height=26 * len(frame) + 40,
                                                  title=f"Conformal coverage by group (target {e['confidence']:.0%})")
    if name == "robustness" and e.get("by_feature"):
        frame = pd.DataFrame(e["by_feature"]).assign(label=lambda f: f["feature"] + " " + f["nudge"])
        return alt.Chart(frame).mark_bar().encode(
            x=alt.X("flip_share:Q", title="share of outcomes that change", axis=alt.Axis(format="%")),
            y=alt.Y("label:N", sort="-x", title=None), color=alt.Color("status:N", scale=_COLORS),
            tooltip=["label", "flipped_rows", alt.Tooltip("flip_share:Q", format=".2%")]).properties(
            width=420, height=18 * len(frame) + 40, title="Outcomes changed by small nudges")
    bars = {"feature_label_leakage": ("features", e.get("measure", "")), "identifier_label": ("columns", e.get("measure", "")),
            "unused_features": ("mean_output_change", "mean change of the output when shuffled")}.get(name)
    if bars and isinstance(e.get(bars[0]), dict) and e[bars[0]]:
        frame = pd.DataFrame({"column": list(e[bars[0]]), "value": list(e[bars[0]].values())})
        return alt.Chart(frame).mark_bar(color="#4C78A8").encode(
            x=alt.X("value:Q", title=bars[1]), y=alt.Y("column:N", sort="-x", title=None),
            tooltip=["column", alt.Tooltip("value:Q", format=".4f")]).properties(
            width=420, height=22 * len(frame) + 40, title=f"{name.replace('_', ' ')}: by column")
    return None
