"""Explainability: SHAP importance of the model's own features, a cohort against all rows, one
row's explanation, dependence, partial dependence and ICE, all read from the saved review."""
import pandas as pd
import streamlit as st

from core.data import cohorts
from core import review
from ui import charts, state
from ui.pin import pin_widget
from ui.review_picker import cohort_of, review_component

state.ensure_app_shell()
st.title("Explainability")
lake, usecase = state.lake(), state.usecase()
current, results = review_component(lake, usecase, "explain")
explain = results["explain"]
st.caption(f"SHAP values of the model itself ({explain['output']}), on {explain['explained_rows']:,} of "
           f"{explain['of_rows']:,} rows; base value {explain['base_value']:.4f}.")
importance = pd.DataFrame(explain["top_features"])
global_tab, cohort_tab, row_tab, dependence_tab, pdp_tab = st.tabs(
    ["Global importance", "Cohort vs all", "One row", "Dependence", "Partial dependence & ICE"])
with global_tab:
    bars, swarm = st.columns([2, 3])
    bars.altair_chart(charts.importance(importance))
    with swarm, st.spinner("Reading SHAP values of a sample of rows…"):
        swarm.altair_chart(charts.shap_beeswarm(review.shap_summary(lake, current, list(importance["feature"])),
                                                list(importance["feature"])))
with cohort_tab:
    cohort = cohort_of(lake, usecase, current.dataset_name, key="explain_cohort", purpose="compare it here")
    if cohort:
        with state.user_errors():
            compared = review.cohort_importance(lake, current, cohort.conditions)
            st.caption(f"{compared['cohort_rows'].iloc[0]:,} explained rows in {cohort.name}: {cohorts.describe(cohort.conditions)}")
            st.altair_chart(charts.importance_compared(compared.drop(columns="cohort_rows")))
with row_tab:
    low, high = review.explained_row_ids(lake, current)
    row_id = st.number_input("Lake row id (of an explained row)", low, high, low, key="explain_row")
    with state.user_errors():
        local = review.local_explanation(lake, current, int(row_id))
        st.altair_chart(charts.local_explanation(local, explain["base_value"]))
        st.dataframe(local, hide_index=True)
with dependence_tab:
    feature = st.selectbox("Feature", importance["feature"], key="explain_dependence")
    points = review.dependence(lake, current, feature)
    st.altair_chart(charts.dependence(points, feature))
    st.caption(f"{len(points):,} rows shown (a random sample when there are more).")
with pdp_tab:
    for curve in explain["partial_dependence"]:
        if "error" in curve:
            st.caption(f"{curve['feature']}: {curve['error']}")
        else:
            st.altair_chart(charts.partial_dependence(curve))

pin_widget(current.review_id, "explain", {k: v for k, v in {
    "cohort": st.session_state.get("explain_cohort"), "row": st.session_state.get("explain_row"),
    "feature": st.session_state.get("explain_dependence")}.items() if v is not None})
