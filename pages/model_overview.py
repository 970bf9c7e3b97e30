"""Model overview: metrics with bootstrap intervals, overall, per value of a feature and per
cohort; the confusion matrix; predicted scores by true class."""
import pandas as pd
import streamlit as st

from core.data import cohorts
from core import review
from ui import charts, state
from ui.pin import pin_widget
from ui.review_picker import cohort_of, review_component

state.ensure_app_shell()
st.title("Model overview")
lake, usecase = state.lake(), state.usecase()
current, results = review_component(lake, usecase, "overview")
overview = results["overview"]
overall = overview["overall"]
metrics = [m for m in ("accuracy", "roc_auc", "selection_rate", "positive_rate", "mae", "rmse") if m in overall]
for column, metric in zip(st.columns(len(metrics)), metrics):
    interval = overall.get(f"{metric}_ci")
    column.metric(metric.replace("_", " "), f"{overall[metric]:.4f}",
                  help=f"95% bootstrap interval {interval[0]:.4f} to {interval[1]:.4f}" if interval and interval[0] is not None else None)
st.caption(f"{overall['rows']:,} rows of {current.dataset_ref} ({current.scope}).")
by_feature, by_cohort, matrix_tab = st.tabs(["By feature", "By cohort", "Confusion matrix and scores"])
with by_feature:
    feature = st.selectbox("Feature", list(overview["by_feature"]), key="overview_feature")
    groups = pd.DataFrame(overview["by_feature"][feature])
    metric = st.selectbox("Metric", [m for m in ("accuracy", "selection_rate", "roc_auc", "mae", "rmse") if m in groups],
                          key="overview_metric")
    st.altair_chart(charts.group_metric(groups, metric, feature))
    st.dataframe(charts.with_intervals(groups), hide_index=True)
with by_cohort:
    cohort = cohort_of(lake, usecase, current.dataset_name, key="overview_cohort", purpose="see its metrics")
    if cohort:
        with state.user_errors():
            compared = review.cohort_metrics(lake, current, cohort.conditions)
            st.caption(cohorts.describe(cohort.conditions))
            st.dataframe(charts.with_intervals(pd.DataFrame(compared).T.reset_index(names="rows of")), hide_index=True)
with matrix_tab:
    if overview.get("confusion_matrix"):
        labels = overview["confusion_matrix"]["labels"]
        st.dataframe(pd.DataFrame(overview["confusion_matrix"]["matrix"], index=[f"true {l}" for l in labels],
                                  columns=[f"predicted {l}" for l in labels]))
    if overview.get("score_distribution"):
        st.altair_chart(charts.score_distribution(pd.DataFrame(overview["score_distribution"])))
    if current.config.get("task") == "binary" and current.sensitive:  # per-group ROC and precision-recall
        curves_by = st.selectbox("Curves by group of", current.sensitive, key="overview_curves_by")
        with st.spinner("Drawing each group's curves from the review's rows…"), state.user_errors():
            curves = review.group_curves(lake, current, curves_by)
            for column, kind in zip(st.columns(2), ("roc", "pr")):
                column.altair_chart(charts.group_curves(curves, kind))

pin_widget(current.review_id, "overview", {k: v for k, v in {
    "feature": st.session_state.get("overview_feature"), "cohort": st.session_state.get("overview_cohort")}.items()
    if v is not None})
