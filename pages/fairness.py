"""Fairness: group metrics, disparities and the four-fifths rule in plain words, for a model at
any threshold (with the cheapest threshold for given error costs), or for stored predictions."""
import pandas as pd
import streamlit as st

from core import datasets, fairness, training
from ui import charts, state

state.ensure_app_shell()
st.title("Fairness")
lake, usecase = state.lake(), state.usecase()


@st.cache_data(show_spinner="Scoring the held-out rows…", max_entries=16)
def model_scores(folder: str, run_id: str, sensitive: tuple) -> fairness.Scores:
    return fairness.scores_for_run(lake, run_id, sensitive=list(sensitive))


@st.cache_data(show_spinner="Sweeping thresholds…", max_entries=16)
def sweep_for(folder: str, run_id: str, sensitive: tuple):
    return fairness.threshold_sweep(model_scores(folder, run_id, sensitive))


def show(report: fairness.FairnessReport) -> None:
    for line in report.summary:
        st.markdown(f"- {line}")
    for warning in report.warnings:
        st.warning(warning)
    groups = pd.DataFrame([{"group": ", ".join(f"{k} = {v}" for k, v in g["group"].items()),
                            **{k: v for k, v in g.items() if k != "group"}} for g in report.groups])
    st.altair_chart(charts.group_rates(groups))
    st.dataframe(charts.with_intervals(groups), hide_index=True)
    rule = report.four_fifths
    st.markdown(f"**Four-fifths rule** against {', '.join(f'{k} = {v}' for k, v in rule['reference'].items())}: "
                + ("passed" if rule["passed"] else "failed"))
    st.dataframe([{"metric": m, "worst ratio": r["worst_ratio"], "worst group": str(r["worst_group"] or ""),
                   "passes": r["passed"]} for m, r in rule["metrics"].items()], hide_index=True)


mode = st.segmented_control("Predictions from", ["A trained model", "Stored predictions (audit)"],
                            default="A trained model", key="fairness_mode", required=True)
if mode == "A trained model":
    runs = [r for r in training.list_runs(lake, usecase=usecase) if r.task == "binary"]
    if not runs:
        st.info(f"No binary classifier has been trained in **{usecase}** yet.")
        st.stop()
    by_id = {r.run_id: r for r in runs}
    run = by_id[st.selectbox("Model (run)", list(by_id), key="fairness_run",
                             format_func=lambda r: f"{by_id[r].algorithm} · {by_id[r].input_ref} → {by_id[r].target} · {r}")]
    options = list(dict.fromkeys(run.sensitive + run.feature_names))
    sensitive = st.multiselect("Sensitive columns (several: their intersections)", options,
                               default=run.sensitive[:1] or options[:1], key=f"fairness_sensitive_{run.run_id}")
    if not sensitive:
        st.stop()
    threshold = st.slider("Decision threshold: a score at or above it predicts the positive class", 0.01, 0.99, 0.5,
                          key="fairness_threshold")
    with state.user_errors():
        scores = model_scores(str(lake.config.folder), run.run_id, tuple(sensitive))
        assessed, explore = st.tabs(["At this threshold", "Across thresholds and costs"])
        with assessed:
            show(fairness.assess_scores(scores, threshold=threshold, n_boot=200))
        with explore:
            sweep = sweep_for(str(lake.config.folder), run.run_id, tuple(sensitive))
            st.altair_chart(charts.fairness_tradeoff(sweep))
            a, b = st.columns(2)
            fp_cost = a.number_input("Cost of a false positive", 0.0, 1e9, 1.0, key="fairness_fp_cost")
            fn_cost = b.number_input("Cost of a false negative", 0.0, 1e9, 5.0, key="fairness_fn_cost")
            cheapest = fairness.cheapest_thresholds(scores, fp_cost=fp_cost, fn_cost=fn_cost)
            st.markdown(f"Cheapest threshold overall: **{cheapest['overall']['threshold']:.2f}** "
                        f"(cost {cheapest['overall']['cost']:,.0f} on {cheapest['overall']['rows']:,} rows).")
            st.dataframe([{"group": ", ".join(f"{k} = {v}" for k, v in g["group"].items()),
                           **{k: v for k, v in g.items() if k != "group"}} for g in cheapest["groups"]], hide_index=True)
else:
    available = datasets.latest(lake, usecase=usecase)
    if not available:
        st.info(f"Use case **{usecase}** has no datasets yet.")
        st.stop()
    name = st.selectbox("Dataset", [v.name for v in available], key="audit_dataset")
    columns = datasets.get(lake, name).column_names
    a, b, c = st.columns(3)
    label = a.selectbox("Label (true outcome)", columns, key=f"audit_label_{name}")
    kind = b.selectbox("Predictions are", ["a class column", "a score column"], key="audit_kind")
    predicted = c.selectbox("Prediction or score column", [x for x in columns if x != label], key=f"audit_pred_{name}")
    d, e = st.columns(2)
    positive = d.text_input("Positive value of the label and prediction", key="audit_positive", placeholder="1, yes, approved…")
    threshold = e.number_input("Score threshold", value=0.5, key="audit_threshold", disabled=kind == "a class column")
    sensitive = st.multiselect("Sensitive columns", [x for x in columns if x not in (label, predicted)], key=f"audit_sensitive_{name}")
    if sensitive and st.button("Audit", type="primary", key="audit_go"):
        with state.user_errors():
            show(fairness.audit(lake, name, label=label, sensitive=sensitive, positive=positive or None,
                                **({"prediction": predicted} if kind == "a class column"
                                   else {"score": predicted, "threshold": threshold})))
