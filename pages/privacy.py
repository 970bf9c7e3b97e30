"""Privacy: personal data in a dataset, k-anonymity and l-diversity over chosen quasi-identifiers,
and whether a model trained on it gives away who was in its training rows."""
import pandas as pd
import streamlit as st

from core.analysis import privacy
from core import training
from ui import state
from ui.review_picker import review_component, run_label


def show(result: dict) -> None:
    """A privacy check (live, or as stored in a review)."""
    st.subheader("Recommendations")
    for line in result["recommendations"]:
        st.markdown(f"- {line}")
    st.subheader("Personal data")
    if result["personal_data"]:
        st.dataframe(pd.DataFrame(result["personal_data"]), hide_index=True)
    else:
        st.success("No column looks like personal data by name or by its values.")
    if "k_anonymity" in result:
        st.subheader("k-anonymity")
        rows = [{"data": "as stored", **{k2: v for k2, v in result["k_anonymity"].items() if k2 not in ("quasi_identifiers", "l_diversity")}}]
        if "k_anonymity_bucketed" in result:
            rows.append({"data": "numbers bucketed into quintiles",
                         **{k2: v for k2, v in result["k_anonymity_bucketed"].items() if k2 not in ("quasi_identifiers", "l_diversity")}})
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        if result["k_anonymity"].get("l_diversity"):
            diversity = result["k_anonymity"]["l_diversity"]
            st.markdown(f"**l-diversity** of {diversity['sensitive']}: l = {diversity['l']}; "
                        f"{diversity['share_rows_l_below_2']:.1%} of rows are in groups where everyone shares one value.")
    if "membership_inference" in result:
        attack = result["membership_inference"]
        st.subheader("Membership inference")
        m1, m2, m3 = st.columns(3)
        m1.metric("Attack AUC", f"{attack['auc']:.3f}", help="0.5: the model does not tell its training rows from others")
        m2.metric("Risk", attack["risk"])
        m3.metric("Loss: training vs held-out", f"{attack['mean_loss_training']:.3f} vs {attack['mean_loss_held_out']:.3f}")


state.ensure_app_shell()
st.title("Privacy")
lake, usecase = state.lake(), state.usecase()
mode = st.segmented_control("Check", ["Live", "From a saved review"], default="Live", key="privacy_mode", required=True)
if mode == "From a saved review":
    current, results = review_component(lake, usecase, "privacy")
    show(results["privacy"])
    st.stop()
version = state.dataset_picker("privacy_dataset")
name = version.name
columns = version.column_names
quasi = st.multiselect("Quasi-identifiers (what someone could know about a person: age, sex, area…)", columns,
                       default=[c for c in ("age", "sex", "region") if c in columns], key=f"privacy_quasi_{name}")
a, b, c = st.columns(3)
sensitive = a.selectbox("Sensitive column (l-diversity)", [None] + [x for x in columns if x not in quasi],
                        key=f"privacy_sensitive_{name}", format_func=lambda x: "none" if x is None else x)
k = int(b.number_input("k", 2, 1_000, 5, key="privacy_k"))
runs = [r for r in training.list_runs(lake, usecase=usecase) if r.input_name == name]
by_run = {r.run_id: r for r in runs}
run_id = c.selectbox("Model trained on it (membership inference)", [None] + [r.run_id for r in runs],
                     key=f"privacy_run_{name}", format_func=lambda r: "none" if r is None else run_label(by_run[r]))
if st.button("Check privacy", type="primary", key="privacy_go"):
    made = state.run_with_status(
        "Checking…", lambda progress: privacy.assess(lake, version.ref, quasi=quasi, sensitive=sensitive if quasi else None,
                                                     k=k, run_id=run_id, progress=progress),
        lambda result: f"Checked {result['rows']:,} rows")
    if made is not None:
        st.session_state["privacy_result"] = made
result = st.session_state.get("privacy_result")
if result and result["dataset"] == version.ref:
    show(result)
