"""Model overview: metrics with bootstrap intervals, overall and per value of a feature, on all rows
or on the sidebar's cohort (recomputed on its rows, beside all rows); the confusion matrix;
predicted scores by true class."""
import pandas as pd
import streamlit as st

from core import review, review_views
from ui import charts, state
from ui.pin import pin_widget
from ui.review_picker import review_cohort, review_component

state.ensure_app_shell()
st.title("Model overview")
lake, usecase = state.lake(), state.usecase()
current, results = review_component(lake, usecase, "overview")
cohort, conditions = review_cohort(current.dataset_name, current.dataset_ref)
overview = results["overview"]
if cohort is not None:
    with state.user_errors():
        overview = review.cohort_overview(lake, current, conditions)
    if overview is results["overview"]:
        st.stop()  # the cohort has no rows here; the message above says so
overall, everyone = overview["overall"], results["overview"]["overall"]
metrics = [m for m in ("accuracy", "roc_auc", "selection_rate", "positive_rate", "mae", "rmse") if m in overall]
for column, metric in zip(st.columns(len(metrics)), metrics):
    interval = overall.get(f"{metric}_ci")
    column.metric(metric.replace("_", " "), f"{overall[metric]:.4f}",
                  delta=f"{overall[metric] - everyone[metric]:+.4f} against all rows" if cohort and metric in everyone else None,
                  delta_color="off",
                  help=f"95% bootstrap interval {interval[0]:.4f} to {interval[1]:.4f}" if interval and interval[0] is not None else None)
st.caption(f"{overall['rows']:,} rows of {current.dataset_ref} ({current.scope})"
           + (f" in cohort {cohort.name}, of {everyone['rows']:,}." if cohort else "."))
by_feature, matrix_tab = st.tabs(["By feature", "Confusion matrix and scores"])
with by_feature:
    feature = st.selectbox("Feature", list(overview["by_feature"]), key="overview_feature")
    groups = pd.DataFrame(overview["by_feature"][feature])
    metric = st.selectbox("Metric", [m for m in ("accuracy", "selection_rate", "roc_auc", "mae", "rmse") if m in groups],
                          key="overview_metric")
    st.altair_chart(charts.group_metric(groups, metric, feature))
    st.dataframe(charts.with_intervals(groups), hide_index=True)
with matrix_tab:
    typed = review_views.typed(results, lake=lake, review=current)  # classes by name, not 0 and 1
    words = review_views.Words(typed.outcome)
    matrix, bins = review_views.confusion_matrix(typed.overview, words), review_views.score_bins(typed.overview, words)
    if matrix is not None:
        st.dataframe(matrix)
    if bins is not None:
        st.altair_chart(charts.score_distribution(bins))
    if current.config.get("task") == "binary" and current.sensitive:  # per-group ROC and precision-recall
        curves_by = st.selectbox("Curves by group of", current.sensitive, key="overview_curves_by")
        with st.spinner("Drawing each group's curves from the review's rows…"), state.user_errors():
            curves = review.group_curves(lake, current, curves_by)
            for column, kind in zip(st.columns(2), ("roc", "pr")):
                column.altair_chart(charts.group_curves(curves, kind))

pin_widget(current.review_id, "overview", {k: v for k, v in {
    "feature": st.session_state.get("overview_feature"), "cohort": cohort.name if cohort else None}.items()
    if v is not None})
