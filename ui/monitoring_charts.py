"""Altair charts of a monitoring report, drawn from the frames core.monitoring gives (no computation here)."""
from __future__ import annotations

import altair as alt
import pandas as pd

_PERIOD = alt.Scale(domain=["reference", "analysis"], range=["#9e9e9e", "#1f77b4"])


def performance(frame: pd.DataFrame, metric: str) -> alt.LayerChart:
    """Estimated metric per chunk with its confidence band, the realized one where labels arrived, the alert
    thresholds, and alerted chunks in red."""
    base = alt.Chart(frame).encode(x=alt.X("position:Q", title="chunk (reference, then current)",
                                           axis=alt.Axis(tickMinStep=1)))
    tooltip = ["period", "chunk", "start", alt.Tooltip("rows:Q", format=","), alt.Tooltip("estimated:Q", format=".3f"),
               alt.Tooltip("lower:Q", format=".3f"), alt.Tooltip("upper:Q", format=".3f"),
               alt.Tooltip("realized:Q", format=".3f"), "alert"]
    band = base.mark_area(opacity=0.18, color="#1f77b4").encode(
        y=alt.Y("lower:Q", title=metric, scale=alt.Scale(zero=False)), y2="upper:Q")
    estimated = base.mark_line(color="#1f77b4").encode(y="estimated:Q")
    points = base.mark_point(filled=True, size=45).encode(
        y="estimated:Q", color=alt.Color("period:N", scale=_PERIOD, title=None), tooltip=tooltip)
    realized = base.mark_line(point=True, strokeDash=[4, 3], color="#2ca02c").encode(y="realized:Q", tooltip=tooltip)
    lower = base.mark_line(color="#d62728", strokeDash=[2, 2], opacity=0.7).encode(y="threshold_lower:Q")
    upper = base.mark_line(color="#d62728", strokeDash=[2, 2], opacity=0.7).encode(y="threshold_upper:Q")
    alerts = base.transform_filter("datum.alert").mark_point(color="#d62728", size=160, filled=True).encode(
        y="estimated:Q", tooltip=tooltip)
    start = alt.Chart(frame[frame["period"] == "analysis"].head(1)).mark_rule(color="#555", strokeDash=[6, 4]).encode(
        x="position:Q")
    return alt.layer(band, lower, upper, estimated, points, realized, alerts, start).properties(
        height=300, title=f"{metric}: estimated (band), realized (green, dashed), thresholds (red); current after the rule")


def drift(frame: pd.DataFrame) -> alt.Chart:
    base = alt.Chart(frame).encode(x=alt.X("position:Q", title="chunk (reference, then current)"))
    tooltip = ["period", "chunk", "start", "measure", alt.Tooltip("value:Q", format=".3f"),
               alt.Tooltip("threshold:Q", format=".3f"), "alert"]
    line = base.mark_line(point=True).encode(y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
                                             color=alt.Color("period:N", scale=_PERIOD, title=None), tooltip=tooltip)
    threshold = base.mark_line(color="#d62728", strokeDash=[2, 2]).encode(y="threshold:Q")
    alerts = base.transform_filter("datum.alert").mark_point(color="#d62728", size=120, filled=True).encode(
        y="value:Q", tooltip=tooltip)
    return alt.layer(line, threshold, alerts).properties(height=200).facet(
        row=alt.Row("measure:N", title=None)).resolve_scale(y="independent").properties(title="Multivariate drift")


def distributions(frame: pd.DataFrame, feature: str) -> alt.Chart:
    part = frame[frame["feature"] == feature]
    return alt.Chart(part).mark_bar(opacity=0.75).encode(
        x=alt.X("bin:N", sort=alt.SortField("order"), title=f"{feature} (bins by their start)" if
                (part["order"].max() or 0) >= 10 else feature, axis=alt.Axis(labelAngle=-40, labelLimit=120)),
        xOffset="side:N",
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="share of rows"),
        color=alt.Color("side:N", scale=alt.Scale(domain=["reference", "current"], range=["#9e9e9e", "#d62728"]),
                        title=None),
        tooltip=["side", "bin", alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=220, title=f"{feature}: reference vs this chunk")
