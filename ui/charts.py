"""Altair charts drawn from the numbers core returns (no computation here)."""
from __future__ import annotations

import altair as alt
import pandas as pd


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
    ).properties(height=min(40 + 24 * len(frame), 520))


def target_balance(frame: pd.DataFrame, target: str, group: str) -> alt.Chart:
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y("group:N", title=group, sort=None),  # keep core's order: bins low to high, missing last
        x=alt.X("share:Q", title=f"share of rows by {target}", axis=alt.Axis(format="%"), stack="normalize"),
        color=alt.Color("target:N", title=target),
        tooltip=[alt.Tooltip("group:N", title=group), alt.Tooltip("target:N", title=target),
                 alt.Tooltip("count:Q", title="rows", format=","), alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=min(60 + 30 * frame["group"].nunique(), 520))


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
