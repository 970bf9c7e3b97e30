"""The Altair charts of review components: one definition each, used by the pages (through ui/),
the meeting report and the scorecard alike."""
from __future__ import annotations

import altair as alt
import pandas as pd

RATE_METRICS = ("selection_rate", "tpr", "fpr", "fnr")
LABELS = alt.Axis(labelLimit=420, labelOverlap=False)


def importance(frame: pd.DataFrame, *, title: str = "Top features: mean |SHAP value|") -> alt.Chart:
    """Bars of mean |SHAP| per feature (`feature`, `mean_abs_shap`), largest on top."""
    return alt.Chart(frame).mark_bar(color="#4C78A8").encode(
        x=alt.X("mean_abs_shap:Q", title="mean |SHAP value|"), y=alt.Y("feature:N", sort="-x", title=None, axis=LABELS),
        tooltip=["feature", alt.Tooltip("mean_abs_shap:Q", format=".4f")]).properties(
        height=28 * len(frame) + 40, width=460, title=title)


def group_rates(groups: pd.DataFrame, *, over: str, threshold=None) -> alt.Chart:
    """Selection rate, TPR, FPR (and FNR) per group (`group` holds the group's label)."""
    long = groups.melt("group", value_vars=[m for m in RATE_METRICS if m in groups], var_name="metric",
                       value_name="rate")
    at = f" at threshold {threshold:g}" if isinstance(threshold, (int, float)) else ""
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("rate:Q", axis=alt.Axis(format="%"), title="rate"), y=alt.Y("group:N", title=over, sort=None, axis=LABELS),
        yOffset="metric:N", color=alt.Color("metric:N", title=None),
        tooltip=["group", "metric", alt.Tooltip("rate:Q", format=".1%")],
    ).properties(height=max(120, 70 * groups["group"].nunique()), width=460, title=f"Rates by {over}{at}")


def group_metric(frame: pd.DataFrame, metric: str, feature: str) -> alt.Chart:
    """One metric per value of a feature, with its bootstrap interval when stored."""
    bars = alt.Chart(frame).mark_bar(color="#4C78A8").encode(
        x=alt.X(f"{metric}:Q", title=metric.replace("_", " ")), y=alt.Y("group:N", title=feature, sort=None, axis=LABELS),
        tooltip=["group", "rows", alt.Tooltip(f"{metric}:Q", format=".4f")])
    layers = [bars]
    if f"{metric}_ci" in frame:
        ci = frame.dropna(subset=[f"{metric}_ci"]).assign(
            low=lambda f: f[f"{metric}_ci"].map(lambda v: v[0] if v else None),
            high=lambda f: f[f"{metric}_ci"].map(lambda v: v[1] if v else None)).dropna(subset=["low", "high"])
        layers.append(alt.Chart(ci).mark_rule(color="black").encode(x="low:Q", x2="high:Q", y=alt.Y("group:N", sort=None)))
    return alt.layer(*layers).properties(height=32 * len(frame) + 40, width=460,
                                         title=f"{metric.replace('_', ' ')} by {feature}")


def score_distribution(frame: pd.DataFrame) -> alt.Chart:
    return alt.Chart(frame).mark_bar(opacity=0.6).encode(
        x=alt.X("bin_start:Q", bin="binned", title="predicted probability of the positive class"), x2="bin_end",
        y=alt.Y("rows:Q", stack=None), color=alt.Color("truth:N", title="true class"),
        tooltip=["truth", "rows"]).properties(height=260, width=460, title="Predicted scores by true class")


def error_cohorts(cohorts: pd.DataFrame, overall: float) -> alt.Chart:
    """Error rate of the worst cohorts (`filter`, `error_rate`), the overall rate dashed."""
    bars = alt.Chart(cohorts).mark_bar(color="#E45756").encode(
        x=alt.X("error_rate:Q", axis=alt.Axis(format="%"), title="error rate"),
        y=alt.Y("filter:N", sort="-x", title=None, axis=LABELS),
        tooltip=["filter", "rows", alt.Tooltip("error_rate:Q", format=".1%")])
    rule = alt.Chart(pd.DataFrame({"x": [overall]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(x="x:Q")
    return (bars + rule).properties(height=30 * len(cohorts) + 40, width=360,
                                    title="Worst error cohorts (dashed: all rows)")


def feature_changes(changes: dict) -> alt.Chart:
    frame = pd.DataFrame({"feature": list(changes), "counterfactuals": list(changes.values())})
    return alt.Chart(frame).mark_bar(color="#72B7B2").encode(
        x=alt.X("counterfactuals:Q", title="counterfactuals that change it"),
        y=alt.Y("feature:N", sort="-x", title=None, axis=LABELS),
        tooltip=["feature", "counterfactuals"]).properties(height=alt.Step(26), width=460,
                                                           title="Which features change most often")


def partial_dependence(curve: dict) -> alt.Chart:
    grid = curve["grid"]
    ice = pd.DataFrame([{"x": x, "y": y, "line": i} for i, line in enumerate(curve["ice"]) for x, y in zip(grid, line)])
    average = pd.DataFrame({"x": grid, "y": curve["average"]})
    kind = "N" if curve.get("categorical") else "Q"
    lines = alt.Chart(ice).mark_line(opacity=0.18, color="#7f7f7f").encode(
        x=alt.X(f"x:{kind}", title=curve["feature"]), y=alt.Y("y:Q", title="prediction"), detail="line:N")
    mean = alt.Chart(average).mark_line(color="#d62728", strokeWidth=3, point=True).encode(x=f"x:{kind}", y="y:Q")
    return (lines + mean).properties(title=f"{curve['feature']}: partial dependence (red) and ICE", height=300, width=460)


def local_explanation(frame: pd.DataFrame, base: float) -> alt.Chart:
    data = frame.assign(label=frame["feature"] + " = " + frame["value"].astype(str),
                        direction=frame["shap"].map(lambda v: "raises" if v > 0 else "lowers"))
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("shap:Q", title=f"contribution (from base value {base:.3f})"),
        y=alt.Y("label:N", sort=None, title=None, axis=LABELS),
        color=alt.Color("direction:N", scale=alt.Scale(domain=["raises", "lowers"], range=["#d62728", "#1f77b4"]),
                        title="the prediction"),
        tooltip=["feature", "value", alt.Tooltip("shap:Q", format=".4f")]).properties(height=26 * len(frame) + 40,
                                                                                       width=460)


def importance_compared(frame: pd.DataFrame, *, title: str = "Mean |SHAP value|: the cohort against all rows") -> alt.Chart:
    long = frame.melt("feature", var_name="rows", value_name="mean_abs_shap")
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("mean_abs_shap:Q", title="mean |SHAP value|"), y=alt.Y("feature:N", sort="-x", title=None, axis=LABELS),
        yOffset="rows:N", color=alt.Color("rows:N", title=None),
        tooltip=["feature", "rows", alt.Tooltip("mean_abs_shap:Q", format=".4f")]).properties(
        height=40 * len(frame) + 40, width=460, title=title)
