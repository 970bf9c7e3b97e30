"""Side by side: two models (the champion and the challenger, or any two reviewed runs) on every
review dimension at once, the better value of each metric marked."""
import pandas as pd
import streamlit as st

from core.governance import registry, side_by_side
from core import training
from ui import charts, state

state.ensure_app_shell()
st.title("Side by side")
lake, usecase = state.lake(), state.usecase()
runs = training.list_runs(lake, usecase=usecase)
if len(runs) < 2:
    st.info("Train and review at least two models to compare them.")
    st.stop()
by_id = {r.run_id: r for r in runs}
label = lambda r: f"{by_id[r].algorithm} on {by_id[r].input_ref} → {by_id[r].target} · {by_id[r].created_at:%d %b %H:%M} · {r[-6:]}"
defaults = []
for model in registry.list_models(lake, usecase=usecase):
    aliases = model["aliases"]
    if "champion" in aliases and "challenger" in aliases and aliases["champion"] != aliases["challenger"]:
        defaults = [registry.get(lake, f"{model['name']}@champion").run_id,
                    registry.get(lake, f"{model['name']}@challenger").run_id]
        break
ids = list(by_id)
a, b = st.columns(2)
first = a.selectbox("A (e.g. the champion)", ids, index=ids.index(defaults[0]) if defaults else 0, key="sbs_a",
                    format_func=label)
second = b.selectbox("B (e.g. the challenger)", ids, index=ids.index(defaults[1]) if defaults else 1, key="sbs_b",
                     format_func=label)
with st.spinner("Reading both reviews…"), state.user_errors():
    result = side_by_side.compare(lake, first, second)
    metrics = pd.DataFrame(result["metrics"])
    st.subheader("Metrics on the held-out rows")
    shown = metrics.assign(a_ci=metrics["a_ci"].map(lambda c: f"{c[0]:.3f}–{c[1]:.3f}" if c else ""),
                           b_ci=metrics["b_ci"].map(lambda c: f"{c[0]:.3f}–{c[1]:.3f}" if c else ""))
    st.dataframe(shown.style.apply(lambda row: ["font-weight: 700; background-color: #e6f4ea"
                                                if (col == "a" and row["better"] == "a") or (col == "b" and row["better"] == "b")
                                                else "" for col in row.index], axis=1), hide_index=True)
    if result["fairness"]:
        st.subheader("Fairness by group")
        st.dataframe(pd.DataFrame(result["fairness_verdicts"]).replace({True: "pass", False: "FAIL"}), hide_index=True,
                     column_config={"a_passed": "A: four-fifths", "b_passed": "B: four-fifths",
                                    "a_worst": "A: worst ratio", "b_worst": "B: worst ratio"})
        fair = pd.DataFrame(result["fairness"])
        st.dataframe(fair.style.apply(lambda row: ["color: #c62828" if col == "difference" and abs(row["difference"] or 0) >= 0.05
                                                   else "" for col in row.index], axis=1), hide_index=True)
    st.subheader("Top features")
    st.dataframe(pd.DataFrame(result["top_features"]), hide_index=True)
    left, right = st.columns(2)
    left.markdown("**Worst error cohorts, A**")
    left.dataframe(pd.DataFrame(result["error_cohorts"]["a"]), hide_index=True)
    right.markdown("**Worst error cohorts, B**")
    right.dataframe(pd.DataFrame(result["error_cohorts"]["b"]), hide_index=True)
    calibration = pd.concat([pd.DataFrame(result["calibration"][k]).assign(run=f"{k.upper()}: {result[k]['run_id']}")
                             for k in ("a", "b") if result["calibration"][k]], ignore_index=True)
    if len(calibration):
        st.altair_chart(charts.run_curve(calibration, "calibration"))
