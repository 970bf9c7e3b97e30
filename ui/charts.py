"""Altair charts drawn from the numbers core returns (no computation here). The charts of review
components are defined once in core.review_views.charts (the documents draw them too) and re-exported here."""
from __future__ import annotations

import altair as alt
import pandas as pd

from core.review_views.charts import (distribution_compared, drift_features, drift_trend,  # noqa: F401
                                      fairness_tradeoff, feature_changes, group_curves, group_metric, importance,
                                      importance_compared, local_explanation, mitigation_tradeoff,
                                      partial_dependence, score_distribution, shap_beeswarm, threshold_sweep)


def histogram(frame: pd.DataFrame, column: str) -> alt.Chart:
    if "bin_start" in frame:
        temporal = pd.api.types.is_datetime64_any_dtype(frame["bin_start"])
        kind = "T" if temporal else "Q"
        return alt.Chart(frame).mark_bar(color="#4C78A8").encode(
            x=alt.X(f"bin_start:{kind}", title=column, bin="binned"),
            x2="bin_end",
            y=alt.Y("count:Q", title="rows"),
            tooltip=[alt.Tooltip(f"bin_start:{kind}", title="from"), alt.Tooltip(f"bin_end:{kind}", title="to"),
                     alt.Tooltip("count:Q", title="rows", format=",")],
        ).properties(height=320)
    return alt.Chart(frame).mark_bar(color="#4C78A8").encode(
        x=alt.X("count:Q", title="rows"),
        y=alt.Y("value:N", title=column, sort="-x"),
        tooltip=[alt.Tooltip("value:N", title=column), alt.Tooltip("count:Q", title="rows", format=",")],
    ).properties(height=alt.Step(22))  # a step per bar: a fixed height squeezed few bars to slivers


def target_balance(frame: pd.DataFrame, target: str, group: str) -> alt.Chart:
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y("group:N", title=group, sort=None, axis=alt.Axis(labelLimit=0)),  # keep core's order: bins low to high, missing last
        x=alt.X("share:Q", title=f"share of rows by {target}", axis=alt.Axis(format="%"), stack="normalize"),
        color=alt.Color("target:N", title=target),
        tooltip=[alt.Tooltip("group:N", title=group), alt.Tooltip("target:N", title=target),
                 alt.Tooltip("count:Q", title="rows", format=","), alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=alt.Step(28))


def correlation_heatmap(frame: pd.DataFrame) -> alt.Chart:
    base = alt.Chart(frame).encode(x=alt.X("a:N", title=None), y=alt.Y("b:N", title=None))
    cells = base.mark_rect().encode(
        color=alt.Color("correlation:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)),
        tooltip=["a", "b", alt.Tooltip("correlation:Q", format=".3f")],
    )
    labels = base.mark_text(fontSize=10).encode(text=alt.Text("correlation:Q", format=".2f"))
    side = 28 * frame["a"].nunique() + 80
    return (cells + labels).properties(width=side, height=side)


def lineage_dot(target: str, lineage: list | tuple) -> str:
    """A Graphviz graph: each source dataset version -> the feature set version built from it."""
    lines = ["digraph lineage {", "rankdir=LR;", 'node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'fontname="Helvetica"];', f'"{target}" [fillcolor="#d7e6fb"];']
    for entry in lineage:
        node = f"{entry['dataset']}@{entry['version']}"
        lines.append(f'"{node}" [label="{node}\\nsnapshot {entry["snapshot"]}"];')
        lines.append(f'"{node}" -> "{target}" [label="{entry["role"]}"];')
    lines.append("}")
    return "\n".join(lines)


CURVE_AXES = {"roc": ("false positive rate", "true positive rate"), "pr": ("recall", "precision"),
              "calibration": ("mean predicted", "observed"), "residuals": ("predicted", "actual − predicted")}
CURVE_TITLES = {"roc": "ROC", "pr": "Precision–recall", "calibration": "Calibration", "residuals": "Residuals"}


def run_curve(frame: pd.DataFrame, kind: str) -> alt.Chart:
    """One curve kind for several runs, overlaid (with the chance or perfect-calibration line)."""
    x_title, y_title = CURVE_AXES[kind]
    base = alt.Chart(frame).encode(x=alt.X("x:Q", title=x_title), y=alt.Y("y:Q", title=y_title),
                                   color=alt.Color("run:N", legend=alt.Legend(orient="right", labelLimit=260)),
                                   tooltip=["run", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")])
    marks = base.mark_circle(size=12, opacity=0.35) if kind == "residuals" else base.mark_line(point=kind == "calibration")
    layers = [marks]
    if kind in ("roc", "calibration") and not frame.empty:
        low = min(frame["x"].min(), frame["y"].min()) if kind == "calibration" else 0.0
        high = max(frame["x"].max(), frame["y"].max()) if kind == "calibration" else 1.0
        diagonal = pd.DataFrame({"x": [low, high], "y": [low, high]})
        layers.append(alt.Chart(diagonal).mark_line(color="gray", strokeDash=[4, 4]).encode(x="x:Q", y="y:Q"))
    if kind == "residuals":
        layers.append(alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(y="y:Q"))
    return alt.layer(*layers).properties(height=420)


def mark_best(lower_is_better: set):
    """A Styler row function that bolds the best value of each metric row."""
    def style(row: pd.Series) -> list[str]:
        values = pd.to_numeric(row, errors="coerce")
        if values.isna().all():
            return [""] * len(row)
        best = values.min() if row.name in lower_is_better else values.max()
        return ["font-weight: bold; background-color: #e3f2e1" if v == best else "" for v in values]
    return style


def confusion_table(matrix: dict, classes: list | None, positive) -> pd.DataFrame:
    if "matrix" in matrix:
        labels = matrix["labels"]
        return pd.DataFrame(matrix["matrix"], index=[f"true {l}" for l in labels], columns=[f"predicted {l}" for l in labels])
    return pd.DataFrame([[matrix["tn"], matrix["fp"]], [matrix["fn"], matrix["tp"]]],
                        index=["true negative class", f"true {positive}"], columns=["predicted negative", f"predicted {positive}"])


def dependence(frame: pd.DataFrame, feature: str) -> alt.Chart:
    numeric = pd.api.types.is_numeric_dtype(frame["value"])
    return alt.Chart(frame).mark_circle(size=14, opacity=0.45).encode(
        x=alt.X(f"value:{'Q' if numeric else 'N'}", title=feature), y=alt.Y("shap:Q", title=f"SHAP value of {feature}"),
        tooltip=[alt.Tooltip("value", title=feature), alt.Tooltip("shap:Q", format=".4f")]).properties(height=380)


def error_tree_dot(tree: dict) -> str:
    """The error tree as Graphviz: darker red for a higher error rate."""
    overall = tree["overall_error_rate"] or 1e-9
    lines = ['digraph errors {', 'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];']
    for node in tree["nodes"]:
        ratio = min(node["error_rate"] / (2 * overall), 1.0) if not tree["regression"] else 0.3
        shade = f"#{255:02x}{int(245 - 160 * ratio):02x}{int(240 - 170 * ratio):02x}"
        rate = f"{node['error_rate']:.1%}" if not tree["regression"] else f"{node['error_rate']:,.4g}"
        lines.append(f'n{node["id"]} [fillcolor="{shade}", label="{node["rows"]:,} rows\\nerror {rate}\\n'
                     f'{node["coverage"]:.0%} of errors"];')
        if node["parent"] >= 0:
            last = node["conditions"][-1]
            text = (f"{last['column']} {last['op']} {last.get('value', '')}".strip() + (" (or missing)" if last.get("or_null") else ""))
            lines.append(f'n{node["parent"]} -> n{node["id"]} [label="{text.replace(chr(34), chr(39))}", fontsize=10];')
    lines.append("}")
    return "\n".join(lines)


def error_heatmap(frame: pd.DataFrame, first: str, second: str | None) -> alt.Chart:
    encode = {"x": alt.X("first:N", title=first, sort=None)}
    if second:
        encode["y"] = alt.Y("second:N", title=second, sort=None)
    base = alt.Chart(frame).encode(**encode)
    cells = base.mark_rect().encode(color=alt.Color("error_rate:Q", scale=alt.Scale(scheme="reds"), title="error rate"),
                                    tooltip=["first", *(["second"] if second else []), "rows",
                                             alt.Tooltip("error_rate:Q", format=".1%")])
    text = base.mark_text(fontSize=11).encode(text=alt.Text("error_rate:Q", format=".0%"))
    return (cells + text).properties(height=alt.Step(40))


def with_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Interval columns ([low, high]) as readable text, for tables."""
    out = frame.copy()
    for column in [c for c in out.columns if str(c).endswith("_ci")]:
        out[column] = out[column].map(lambda v: f"{v[0]:.4f} – {v[1]:.4f}" if isinstance(v, (list, tuple)) and v[0] is not None else "")
    return out


def highlight_changes(table: pd.DataFrame, changed: list[set]) -> "pd.io.formats.style.Styler":
    """The original row first, then counterfactuals; only changed cells are coloured."""
    def style(frame: pd.DataFrame) -> pd.DataFrame:
        colours = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for i, columns in enumerate(changed, start=1):
            for column in columns:
                colours.iloc[i, frame.columns.get_loc(column)] = "background-color: #fde2b4; font-weight: 600"
        return colours
    return table.style.apply(style, axis=None)


def effect_by_bin(bins: pd.DataFrame, feature: str, ate: float) -> alt.Chart:
    base = alt.Chart(bins).encode(x=alt.X("bin:N", sort=None, title=feature, axis=alt.Axis(labelAngle=0, labelLimit=160)))
    bars = base.mark_bar(color="#4C78A8", opacity=0.8).encode(
        y=alt.Y("effect:Q", title="average effect (95% interval)"),
        tooltip=["bin", "rows", alt.Tooltip("effect:Q", format=".4f"), alt.Tooltip("ci_low:Q", format=".4f"),
                 alt.Tooltip("ci_high:Q", format=".4f")])
    layers = [bars]
    if bins["ci_low"].notna().any():
        layers.append(base.mark_rule(color="black").encode(y="ci_low:Q", y2="ci_high:Q"))
    rule = alt.Chart(pd.DataFrame({"ate": [ate]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(y="ate:Q")
    return alt.layer(*layers, rule).properties(height=260, title=f"Effect by {feature} (dashed: the average effect)")


def propensity_overlap(histogram: pd.DataFrame) -> alt.Chart:
    return alt.Chart(histogram).mark_bar(opacity=0.6).encode(
        x=alt.X("low:Q", bin="binned", title="propensity (probability of treatment)"), x2="high:Q",
        y=alt.Y("rows:Q", stack=None), color=alt.Color("group:N", title=None),
        tooltip=["group", "low", "high", "rows"]).properties(height=240, title="Overlap: propensities by group")


def effect_distribution(sample: list) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"effect": sample})).mark_bar(color="#B279A2").encode(
        x=alt.X("effect:Q", bin=alt.Bin(maxbins=40), title="individual effect"), y=alt.Y("count():Q", title="rows"),
    ).properties(height=240, title="Individual effects")


def whatif_probabilities(probabilities: dict) -> alt.Chart:
    frame = pd.DataFrame({"class": list(probabilities), "probability": list(probabilities.values())})
    return alt.Chart(frame).mark_bar().encode(x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
                                              y=alt.Y("class:N", title=None), tooltip=["class", alt.Tooltip("probability:Q", format=".1%")]
                                              ).properties(height=40 * len(frame) + 30)


def model_lineage_dot(lineage: dict) -> str:
    """Datasets → feature set → run → model version (→ reviews), as a Graphviz graph."""
    fill = {"dataset": "#eef3fb", "feature set": "#e8f5e9", "run": "#fff4e0", "model version": "#d7e6fb",
            "review": "#f3e5f5", "scoring job": "#e0f7fa"}
    lines = ["digraph lineage {", "rankdir=LR;", 'node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for node in lineage["nodes"]:
        label = f"{node['kind']}\\n{node['label']}".replace('"', "'")
        lines.append(f'"{node["id"]}" [label="{label}", fillcolor="{fill.get(node["kind"], "#eeeeee")}"];')
    for edge in lineage["edges"]:
        lines.append(f'"{edge["from"]}" -> "{edge["to"]}";')
    lines.append("}")
    return "\n".join(lines)


def audit_timeline(entries: pd.DataFrame) -> alt.Chart:
    return alt.Chart(entries).mark_circle(size=70).encode(
        x=alt.X("at:T", title=None, axis=alt.Axis(format="%d %b %H:%M", labelAngle=0)), y=alt.Y("action:N", title=None), color=alt.Color("action:N", legend=None),
        tooltip=["seq", "at:T", "actor", "action", "object"]).properties(height=alt.Step(26),
                                                                                title="Audit trail over time")
