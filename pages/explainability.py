"""Explainability: SHAP importance of the model's own features (the sidebar's cohort against all rows),
one row's explanation picked by clicking it, dependence, partial dependence and ICE, read from the
saved review (curves it lacks are computed now with the model)."""
import json

import pandas as pd
import streamlit as st

from core import review
from ui import charts, state
from ui.pin import pin_widget
from ui.review_picker import review_component, review_cohort

state.ensure_app_shell()
st.title("Explainability")
lake, usecase = state.lake(), state.usecase()
current, results = review_component(lake, usecase, "explain")
cohort, conditions = review_cohort(current.dataset_name, current.dataset_ref)
explain = results["explain"]
st.caption(f"SHAP values of the model itself ({explain['output']}), on {explain['explained_rows']:,} of "
           f"{explain['of_rows']:,} rows; base value {explain['base_value']:.4f}.")
importance = pd.DataFrame(explain["top_features"])


@st.cache_data(show_spinner="Computing partial dependence with the model…", max_entries=32)
def curves_now(folder: str, review_id: str, features: tuple, where: str) -> list[dict]:
    from core.data import cohorts

    return review.cohort_partial_dependence(lake, review.get(lake, review_id), list(features),
                                            cohorts.conditions_from(json.loads(where)))


global_tab, row_tab, dependence_tab, pdp_tab = st.tabs(["Importance", "One row", "Dependence", "Partial dependence & ICE"])
with global_tab:
    if cohort is None:
        bars, swarm = st.columns([2, 3])
        bars.altair_chart(charts.importance(importance))
        with swarm, st.spinner("Reading SHAP values of a sample of rows…"):
            swarm.altair_chart(charts.shap_beeswarm(review.shap_summary(lake, current, list(importance["feature"])),
                                                    list(importance["feature"])))
    else:
        with state.user_errors():
            compared = review.cohort_importance(lake, current, conditions)
            st.caption(f"{compared['cohort_rows'].iloc[0]:,} explained rows in {cohort.name}, against all explained rows.")
            st.altair_chart(charts.importance_compared(compared.drop(columns="cohort_rows")))
with row_tab:
    with state.user_errors():
        rows, total = review.explained_rows(lake, current, conditions)
        shown = f"the first {len(rows):,} of " if len(rows) < total else ""
        st.caption(f"Click a row to explain it: {shown}{total:,} explained rows"
                   + (f" in cohort {cohort.name}." if cohort else "."))
        event = st.dataframe(rows, hide_index=True, on_select="rerun", selection_mode="single-row",
                             key=f"explain_rows_{current.review_id}_{cohort.name if cohort else ''}", height=260)
        if event.selection.rows:
            picked = rows.iloc[event.selection.rows[0]]
            st.session_state["explain_row"] = int(picked["row"])
            local = review.local_explanation(lake, current, int(picked["row"]))
            known = [f"{c} {picked[c]}" for c in rows.attrs.get("entity", [])]
            st.markdown(f"**Row {int(picked['row'])}**" + "".join(f" · {k}" for k in known) + ": "
                        + review.row_outcome(picked, rows))
            st.altair_chart(charts.local_explanation(local, explain["base_value"]))
            st.dataframe(local, hide_index=True, key="explain_row_values",
                         column_config={"shap": st.column_config.NumberColumn("SHAP value", format="%+.4f")})
        elif len(rows):
            st.info("Click a row in the table (the box at its left) to see how each feature moved its prediction.")
with dependence_tab:
    feature = st.selectbox("Feature", importance["feature"], key="explain_dependence")
    points = review.cohort_dependence(lake, current, feature, conditions)
    st.altair_chart(charts.dependence(points, feature))
    st.caption(f"{len(points):,} rows shown (a random sample when there are more)"
               + (f", of cohort {cohort.name}." if cohort else "."))
with pdp_tab:
    stored = {c["feature"]: c for c in explain["partial_dependence"]}
    wanted = st.multiselect("Features", list(importance["feature"]), default=list(stored), key="explain_pdp_features")
    on_cohort = cohort is not None and st.toggle(f"Over the rows of cohort {cohort.name} (computed now)",
                                                 key="explain_pdp_cohort")
    # The cohort's rows, a feature the review kept no curve of, or a stored failure (older reviews): computed now.
    missing = tuple(f for f in wanted if on_cohort or f not in stored or "error" in stored[f])
    with state.user_errors():
        fresh = {c["feature"]: c for c in curves_now(str(lake.config.folder), current.review_id, missing, json.dumps(
            [c.to_dict() for c in conditions] if on_cohort else []))} if missing else {}
        for name in wanted:
            curve = fresh.get(name) or stored[name]
            if "error" in curve:
                st.caption(curve["error"])
            else:
                st.altair_chart(charts.partial_dependence(curve))

pin_widget(current.review_id, "explain", {k: v for k, v in {
    "cohort": cohort.name if cohort else None, "row": st.session_state.get("explain_row"),
    "feature": st.session_state.get("explain_dependence")}.items() if v is not None})
