"""A small widget to define a cohort (conditions joined by AND), preview its size and save it."""
from __future__ import annotations

import streamlit as st

from core.data import cohorts
from core.data.datasets import DatasetVersion
from core.lake import Lake
from ui import state


def cohort_builder(lake: Lake, version: DatasetVersion, usecase: str) -> None:
    st.markdown("Rows matching **all** conditions form the cohort. Saved cohorts appear in the *Rows* picker "
                "above and on every later page.")
    key = f"cohort_conditions_{version.name}"
    if f"{key}_saved" in st.session_state:
        st.success(st.session_state.pop(f"{key}_saved"))
    conditions: list = st.session_state.setdefault(key, [])
    types = {c.name: c.type for c in version.columns}
    column_col, op_col, value_col, add_col = st.columns([3, 2, 3, 1], vertical_alignment="bottom")
    column = column_col.selectbox("Column", version.column_names, key=f"{key}_column")
    op = op_col.selectbox("Operator", cohorts.OPS, key=f"{key}_op")
    value = value_col.text_input("Value", key=f"{key}_value", placeholder="30   ·   a, b   ·   18, 65",
                                 help="one value; for 'in' a comma-separated list; for 'between' low, high")
    if add_col.button("Add", key=f"{key}_add"):
        with state.user_errors():
            conditions.append(cohorts.condition_from_text(column, op, value, types[column]))
    if not conditions:
        st.caption("No conditions yet: for example column *age*, operator *<*, value *30*, then **Add**.")
        return
    with state.user_errors():
        matched = cohorts.count_rows(lake, version, conditions)
        st.write(f"**{matched:,}** of {version.rows:,} rows ({matched / version.rows:.1%}) match "
                 f"`{cohorts.describe(conditions)}`")
        if st.button("Clear conditions", key=f"{key}_clear"):
            st.session_state[key] = []
            st.rerun()
        name_col, note_col = st.columns([1, 2])
        name = name_col.text_input("Cohort name", key=f"{key}_name", placeholder="young_self_employed")
        note = note_col.text_input("Description", key=f"{key}_note")
        if st.button("Save cohort", type="primary", key=f"{key}_save"):
            cohort = cohorts.save(lake, name, dataset=version.name, conditions=conditions, actor=state.actor(),
                                  usecase=usecase, description=note, columns=version.column_names)
            # Rerun so the Rows picker above lists the new cohort, and select it there.
            st.session_state[f"{key}_saved"] = f"Saved cohort **{cohort.name}** ({matched:,} rows); the page now shows it."
            st.session_state["explorer_pending_cohort"] = (version.name, cohort.name)
            st.session_state[key] = []
            st.rerun()
