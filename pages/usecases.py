"""Use cases: the objective, owner, stakeholders, data sources and success targets that scope the work."""
import pandas as pd
import streamlit as st

from core.data import datasets, usecases
from ui import state

state.ensure_app_shell()
st.title("Use cases")
lake = state.lake()
st.caption("The process starts from a use case: what the model is for, who signs off, which data it needs "
           "and the targets it must meet. The sidebar picker scopes every page to one use case.")

current = usecases.get(lake, state.usecase())
st.subheader(current.name)
st.write(current.objective)
a, b = st.columns(2)
a.markdown(f"**Owner:** {current.owner}  \n**Stakeholders:** {', '.join(current.stakeholders) or '–'}")
b.markdown("**Data sources:**  \n" + ("  \n".join(f"- {s}" for s in current.data_sources) or "–"))
if current.success_metrics:
    st.dataframe([{"metric": m.metric, "target": m.target, "higher is better": m.higher_is_better}
                  for m in current.success_metrics], hide_index=True)
owned = datasets.latest(lake, usecase=current.name)
st.caption(f"{len(owned)} dataset(s): {', '.join(v.ref for v in owned) or 'none yet'}")

with st.expander("New use case", expanded=False):
    with st.form("new_usecase", clear_on_submit=False):
        name = st.text_input("Name", placeholder="churn_prediction")
        objective = st.text_area("Objective", placeholder="What will the model decide, for whom?")
        owner = st.text_input("Owner")
        stakeholders = st.text_input("Stakeholders (comma-separated)", placeholder="risk officer, compliance")
        sources = st.text_area("Data sources (one per line)")
        metrics = st.data_editor(pd.DataFrame({"metric": pd.Series([], dtype="str"),
                                               "target": pd.Series([], dtype="float"),
                                               "higher_is_better": pd.Series([], dtype="bool")}),
                                 num_rows="dynamic", hide_index=True, key="new_usecase_metrics")
        if st.form_submit_button("Create use case", type="primary"):
            with state.user_errors():
                created = usecases.add(
                    lake, name, objective=objective, actor=state.actor(), owner=owner or None,
                    stakeholders=tuple(s.strip() for s in stakeholders.split(",") if s.strip()),
                    data_sources=tuple(s.strip() for s in sources.splitlines() if s.strip()),
                    success_metrics=tuple(usecases.SuccessMetric(str(r["metric"]), float(r["target"]),
                                                                 bool(r.get("higher_is_better", True)))
                                          for r in metrics.to_dict("records") if r.get("metric") and pd.notna(r.get("target"))))
                st.success(f"Created use case {created.name}. Pick it in the sidebar.")

st.subheader("All use cases")
st.dataframe([{"use case": u.name, "objective": u.objective, "owner": u.owner,
               "stakeholders": ", ".join(u.stakeholders), "created": u.created_at} for u in usecases.list_usecases(lake)],
             hide_index=True)
