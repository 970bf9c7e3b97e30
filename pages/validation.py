"""Validation checks: the suite stored with a review (data, leakage, model behaviour, conformal coverage),
as a pass/warn/fail table, one check's drill-down with its chart, and "Pin as a finding"."""
import pandas as pd
import streamlit as st

from core import review_views
from ui import review_view, state
from ui.pin import pin_widget
from ui.review_picker import review_component

_COLORS = {"pass": "color: #1a7f37", "warn": "color: #9a6700; font-weight: 600", "fail": "color: #c62828; font-weight: 700"}

state.ensure_app_shell()
st.title("Validation checks")
lake, usecase = state.lake(), state.usecase()
current, results = review_component(lake, usecase, "checks")
stored = results["checks"]
counts = stored["counts"]
a, b, c, d = st.columns(4)
a.metric("pass", counts["pass"])
b.metric("warn", counts["warn"])
c.metric("fail", counts["fail"])
d.metric("seconds", f"{stored['seconds']:.1f}")
st.caption(f"{len(stored['checks'])} checks on {stored['rows']:,} rows of {stored['dataset']}; conditions are the "
           "defaults with this use case's overrides, shown with each check.")
order = {"fail": 0, "warn": 1, "pass": 2}
table = pd.DataFrame([{k: check[k] for k in ("check", "category", "status", "severity", "summary")}
                      for check in sorted(stored["checks"], key=lambda x: (order[x["status"]], x["check"]))])
st.dataframe(table.style.map(lambda s: _COLORS.get(s, ""), subset=["status"]), hide_index=True, key="checks_table")
if stored["skipped"]:
    with st.expander(f"Checks that did not apply ({len(stored['skipped'])})"):
        st.dataframe(pd.DataFrame(stored["skipped"]), hide_index=True)
st.subheader("Drill down")
chosen = st.selectbox("Check", list(table["check"]), key="checks_drill")
review_view.draw(review_views.render("checks", results, {"check": chosen}, lake=lake, review=current))
pin_widget(current.review_id, "checks", {"check": chosen})
