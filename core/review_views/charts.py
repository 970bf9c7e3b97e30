"""The Altair charts of review components: one definition each, used by the pages (through ui/),
the meeting report and the scorecard alike.

Bar charts size themselves by a step per bar (alt.Step), never by a fixed height: Streamlit fits a fixed
height around the title and axes too, which squeezed a two-group chart to a few pixels. Labels are never
cut (labelLimit=0): five `race_ethnicity = Group ...` labels must stay distinguishable."""
from __future__ import annotations

import altair as alt
import pandas as pd

RATE_METRICS = ("selection_rate", "tpr", "fpr", "fnr")
RATE_NAMES = {"selection_rate": "selection rate", "tpr": "true positive rate", "fpr": "false positive rate",
              "fnr": "false negative rate"}
LABELS = alt.Axis(labelLimit=0, labelOverlap=False)  # 0: no limit, every label whole
BAR = alt.Step(24)  # the height of one bar


def importance(frame: pd.DataFrame, *, title: str = "Top features: mean |SHAP value|") -> alt.Chart:
    """Bars of mean |SHAP| per feature (`feature`, `mean_abs_shap`), largest on top."""
    return alt.Chart(frame).mark_bar(color="#4C78A8").encode(
        x=alt.X("mean_abs_shap:Q", title="mean |SHAP value|"), y=alt.Y("feature:N", sort="-x", title=None, axis=LABELS),
        tooltip=["feature", alt.Tooltip("mean_abs_shap:Q", format=".4f")]).properties(height=BAR, title=title)


def group_rates(groups: pd.DataFrame, *, over: str, threshold=None) -> alt.Chart:
    """Selection rate, TPR, FPR (and FNR) per group (`group` holds the group's label)."""
    long = groups.melt("group", value_vars=[m for m in RATE_METRICS if m in groups], var_name="metric",
                       value_name="rate").assign(metric=lambda f: f["metric"].map(RATE_NAMES))
    at = f" at threshold {threshold:g}" if isinstance(threshold, (int, float)) else ""
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("rate:Q", axis=alt.Axis(format="%"), title="rate"), y=alt.Y("group:N", title=over, sort=None, axis=LABELS),
        yOffset="metric:N", color=alt.Color("metric:N", title=None),
        tooltip=["group", "metric", alt.Tooltip("rate:Q", format=".1%")],
    ).properties(height=alt.Step(13, **{"for": "offset"}), title=f"Rates by {over}{at}")


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
    return alt.layer(*layers).properties(height=BAR, title=f"{metric.replace('_', ' ')} by {feature}")


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
    return (bars + rule).properties(height=BAR, title="Worst error cohorts (dashed: all rows)")


def feature_changes(changes: dict) -> alt.Chart:
    frame = pd.DataFrame({"feature": list(changes), "counterfactuals": list(changes.values())})
    return alt.Chart(frame).mark_bar(color="#72B7B2").encode(
        x=alt.X("counterfactuals:Q", title="counterfactuals that change it"),
        y=alt.Y("feature:N", sort="-x", title=None, axis=LABELS),
        tooltip=["feature", "counterfactuals"]).properties(height=BAR, title="Which features change most often")


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
        tooltip=["feature", "value", alt.Tooltip("shap:Q", format=".4f")]).properties(height=BAR)


def importance_compared(frame: pd.DataFrame, *, title: str = "Mean |SHAP value|: the cohort against all rows") -> alt.Chart:
    long = frame.melt("feature", var_name="rows", value_name="mean_abs_shap")
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("mean_abs_shap:Q", title="mean |SHAP value|"), y=alt.Y("feature:N", sort="-x", title=None, axis=LABELS),
        yOffset="rows:N", color=alt.Color("rows:N", title=None),
        tooltip=["feature", "rows", alt.Tooltip("mean_abs_shap:Q", format=".4f")]).properties(
        height=alt.Step(14, **{"for": "offset"}), title=title)


def threshold_sweep(sweep: pd.DataFrame, *, by: str = "", current=None) -> alt.Chart:
    """Accuracy and the min/max ratios across groups against the decision threshold: one line per measure on
    a threshold axis, so nothing doubles back and no label sits on another (the dashed line: four-fifths;
    the grey rule: the threshold in use)."""
    names = {"accuracy": "accuracy", "selection_rate_ratio": "selection-rate ratio", "tpr_ratio": "TPR ratio",
             "fpr_ratio": "FPR ratio"}
    long = sweep.melt("threshold", value_vars=[c for c in names if c in sweep], var_name="measure",
                      value_name="value").assign(measure=lambda f: f["measure"].map(names))
    lines = alt.Chart(long).mark_line(point=alt.OverlayMarkDef(size=30)).encode(
        x=alt.X("threshold:Q", title="decision threshold", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("value:Q", title="accuracy, or ratio across groups (1 = equal)", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=[alt.Tooltip("threshold:Q", format=".2f"), "measure", alt.Tooltip("value:Q", format=".3f")])
    layers = [lines, alt.Chart(pd.DataFrame({"y": [0.8]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(y="y:Q")]
    if isinstance(current, (int, float)):
        layers.append(alt.Chart(pd.DataFrame({"x": [float(current)]})).mark_rule(color="#555").encode(x="x:Q"))
    over = f" (groups of {by})" if by else ""
    return alt.layer(*layers).properties(height=420, title=f"Accuracy and disparity across thresholds{over}")


fairness_tradeoff = threshold_sweep  # the name the pages used before


def _padded(values: pd.Series, *, least: float, floor=None, ceiling=None) -> list:
    """An axis domain around `values`, at least `least` wide, so a tiny difference is not blown up to fill
    the chart (a 0.0004-wide accuracy axis made two equal models look far apart)."""
    low, high = float(values.min()), float(values.max())
    pad = max((least - (high - low)) / 2, (high - low) * 0.15)
    low, high = low - pad, high + pad
    return [max(low, floor) if floor is not None else low, min(high, ceiling) if ceiling is not None else high]


def mitigation_tradeoff(points: pd.DataFrame) -> alt.Chart:
    """Accuracy against the constrained disparity, a dashed line from the original model to each mitigated one.
    `points`: label, constraint, side (before/after), accuracy, disparity. Disparity starts at 0 (no
    difference); accuracy spans at least ten points, so the trade-off reads at its true size."""
    base = alt.Chart(points).encode(
        x=alt.X("disparity:Q", title="disparity (largest group difference of the constrained rate; 0 = none)",
                scale=alt.Scale(domain=[0, max(0.05, float(points["disparity"].max()) * 1.15)])),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=_padded(points["accuracy"], least=0.1, floor=0, ceiling=1))),
        detail="label:N",
        tooltip=["label", "constraint", "side", alt.Tooltip("accuracy:Q", format=".4f"),
                 alt.Tooltip("disparity:Q", format=".4f")])
    return (base.mark_line(color="gray", strokeDash=[3, 3])
            + base.mark_point(size=110, filled=True).encode(
                color=alt.Color("label:N", title=None, legend=alt.Legend(orient="bottom", columns=1, labelLimit=0)),
                shape=alt.Shape("side:N", title=None, scale=alt.Scale(domain=["before", "after"],
                                                                      range=["circle", "triangle-left"])))
            ).properties(height=320, title="Original and mitigated: accuracy against disparity, on the held-out rows")


def group_curves(curves: pd.DataFrame, kind: str) -> alt.Chart:
    """ROC (kind "roc") or precision-recall ("pr") curve of each group: `curves` holds group, curve, x, y and
    the group's area (auc) as computed by core.review.group_curves."""
    part = curves[curves["curve"] == kind]
    x_title, y_title = ("false positive rate", "true positive rate") if kind == "roc" else ("recall", "precision")
    name = "ROC" if kind == "roc" else "Precision-recall"
    lines = alt.Chart(part).mark_line().encode(
        x=alt.X("x:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("legend:N", title=None, legend=alt.Legend(orient="bottom", columns=1, labelLimit=0)),
        order="order:Q", tooltip=["group", alt.Tooltip("x:Q", format=".3f", title=x_title),
                                  alt.Tooltip("y:Q", format=".3f", title=y_title), alt.Tooltip("auc:Q", format=".3f")])
    layers = [lines]
    if kind == "roc":
        layers.append(alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(
            color="gray", strokeDash=[4, 4]).encode(x="x:Q", y="y:Q"))
    return alt.layer(*layers).properties(height=520, title=f"{name} by group")  # the height holds the legend too


def shap_beeswarm(points: pd.DataFrame, order: list) -> alt.Chart:
    """SHAP summary: one dot per explained row and feature (`feature`, `shap`, `value`, `rank`: the value's
    percentile within its feature, empty for categories), features in `order` (most important on top),
    spread vertically at random so dense areas show, coloured low (blue) to high (red); categories grey."""
    points = points.assign(rank=points["rank"].fillna(-1))  # Vega-Lite drops a dot whose colour field is empty
    return alt.Chart(points).mark_circle(size=9, opacity=0.55).encode(
        x=alt.X("shap:Q", title="SHAP value (impact on the model output)"),
        y=alt.Y("feature:N", sort=list(order), title=None, axis=LABELS),
        yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-1, 1])),
        color=alt.condition("datum.rank >= 0", alt.Color(  # categories have no low or high: grey
            "rank:Q", scale=alt.Scale(scheme="redblue", reverse=True, domain=[0, 1]),
            legend=alt.Legend(format=".0%", values=[0, 0.5, 1], title="value (percentile)")), alt.value("#8c8c8c")),
        tooltip=["feature", "value", alt.Tooltip("shap:Q", format=".4f")],
    ).transform_calculate(jitter="sqrt(-2*log(random()))*cos(2*PI*random()) / 3").properties(
        height=alt.Step(30), title="SHAP summary: each dot one row (red: high value, blue: low)")


def drift_features(features: pd.DataFrame) -> alt.Chart:
    return alt.Chart(features).mark_bar().encode(
        x=alt.X("value:Q", title="drift statistic (distance; p-value for small references)"),
        y=alt.Y("feature:N", sort="-x", title=None, axis=LABELS),
        color=alt.Color("drifted:N", scale=alt.Scale(domain=[True, False], range=["#d62728", "#9ecae1"]), title="drifted"),
        tooltip=["feature", "test", alt.Tooltip("value:Q", format=".4f"), "threshold", "drifted"],
    ).properties(height=alt.Step(22), title="Drift by feature")


def drift_trend(trend: pd.DataFrame) -> alt.Chart:
    """Drift share and prediction drift per checked batch (`created_at`, `batch`, the two measures): one
    point per check on an axis of the checks' dates and batches, never fractions of a day."""
    frame = trend.assign(when=pd.to_datetime(trend["created_at"]).dt.strftime("%d %b %H:%M:%S"))  # one label a check
    frame["check"] = frame["when"] + (" · " + frame["batch"].astype(str) if "batch" in frame else "")
    long = frame.melt(["check", "created_at"], value_vars=["drift_share", "prediction_drift"], var_name="measure",
                      value_name="value").assign(measure=lambda f: f["measure"].map(
                          {"drift_share": "share of features drifted", "prediction_drift": "prediction drift"}))
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("check:N", sort=alt.EncodingSortField("created_at"), title="checked batch",
                axis=alt.Axis(labelAngle=-30, labelLimit=0)),
        y=alt.Y("value:Q", title=None), color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["check", "measure", alt.Tooltip("value:Q", format=".3f")]).properties(height=400,
                                                                                       title="Drift over batches")


def distribution_compared(distribution: dict, feature: str) -> alt.Chart:
    """Reference against current for one feature (`distribution`: kind, bins or levels, and each side's
    shares, as the drift report stores them): overlaid bars of the share of rows."""
    sides = ("reference", "current")
    colours = alt.Scale(domain=list(sides), range=["#8c8c8c", "#e4572e"])
    if distribution["kind"] == "numeric":
        edges = distribution["edges"]
        frame = pd.DataFrame([{"side": side, "low": edges[i], "high": edges[i + 1], "share": share}
                              for side in sides for i, share in enumerate(distribution[side])])
        x, x2 = alt.X("low:Q", bin="binned", title=feature), alt.X2("high:Q")
        bars = alt.Chart(frame).mark_bar(opacity=0.5).encode(x=x, x2=x2, y=alt.Y("share:Q", stack=None, axis=alt.Axis(
            format="%"), title="share of rows"), color=alt.Color("side:N", title=None, scale=colours),
            tooltip=["side", alt.Tooltip("low:Q", format=",.4g"), alt.Tooltip("high:Q", format=",.4g"),
                     alt.Tooltip("share:Q", format=".1%")])
        return bars.properties(height=220, title=f"{feature}: reference against current")
    frame = pd.DataFrame([{"side": side, "level": level, "share": share} for side in sides
                          for level, share in zip(distribution["levels"], distribution[side])])
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of rows"),
        y=alt.Y("level:N", title=feature, sort=None, axis=LABELS), yOffset=alt.YOffset("side:N", sort=list(sides)),
        color=alt.Color("side:N", title=None, scale=colours),
        tooltip=["side", "level", alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=alt.Step(12, **{"for": "offset"}), title=f"{feature}: reference against current")
