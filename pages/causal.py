"""Causal analysis: the effect of a treatment on an outcome with econml, with its honesty checks
(overlap, placebo, naive difference) beside the estimate, heterogeneity, individual effects and
a treatment policy."""
import pandas as pd
import streamlit as st

from core.analysis import causal
from ui import charts, state
from ui.review_picker import review_component


def show(result: dict) -> None:
    """One estimate with its checks, effects by feature and policy (live, or as stored in a review)."""
    for warning in result["warnings"]:
        st.warning(warning)
    st.subheader("Average effect")
    m1, m2, m3, m4 = st.columns([1, 1.6, 0.8, 1])
    m1.metric("Average effect", f"{result['ate']:+.4f}")
    m2.metric("95% interval", f"{result['ci_low']:+.3f} to {result['ci_high']:+.3f}")
    m3.metric("p-value", f"{result['p_value']:.2g}")
    m4.metric("Naive difference", f"{result['naive_difference']:+.4f}",
              help="Treated minus untreated mean outcome, before accounting for confounders")
    treatment, outcome = result["treatment"], result["outcome"]
    treated = f"{treatment} = {result['treated_value']}" if result["binary_treatment"] else f"one more unit of {treatment}"
    st.markdown(f"{treated} changes {outcome}{' (' + str(result['outcome_class']) + ')' if result['outcome_class'] not in (None, True) else ''} "
                f"by **{result['ate']:+.4f}** on average ({result['estimator']}, {result['n']:,} rows); comparing "
                f"means without adjustment would say {result['naive_difference']:+.4f}.")
    st.subheader("Honesty checks")
    left, right = st.columns(2)
    overlap, placebo = result["overlap"], result["placebo"]
    with left:
        if overlap["kind"] == "propensity":
            st.altair_chart(charts.propensity_overlap(pd.DataFrame(overlap["histogram"])))
            st.caption(f"{overlap['extreme_share']:.1%} of rows have a propensity below {overlap['threshold']} or above "
                       f"{1 - overlap['threshold']:.2f} ({'fine' if overlap['ok'] else 'too many: see the warning'}).")
        else:
            st.caption(f"Continuous treatment: the confounders explain {overlap.get('r2_of_treatment', 0):.0%} of it.")
    with right:
        st.markdown(f"**Placebo** ({placebo['estimator']} with the treatment shuffled): {placebo['effect']:+.4f} "
                    f"[{placebo['ci_low']:+.4f}, {placebo['ci_high']:+.4f}] — "
                    + ("passes: the interval covers zero." if placebo["passed"] else "**fails**: the interval excludes zero."))
    if result["by_feature"]:
        st.subheader("For whom")
        for entry in result["by_feature"]:
            st.altair_chart(charts.effect_by_bin(pd.DataFrame(entry["bins"]), entry["feature"], result["ate"]))
        st.altair_chart(charts.effect_distribution(result["individual"]["sample"]))
    if result["policy"]:
        policy = result["policy"]
        st.subheader("Who should be treated")
        st.markdown(f"A **{'higher' if policy['higher_is_better'] else 'lower'}** {outcome} is better. "
                    f"At a cost of {policy['treatment_cost']} per treated row, the policy tree treats "
                    f"**{policy['treated_share']:.0%}** of rows. Expected gain per row: policy "
                    f"{policy['gain_policy']:+.4f}, treat everyone {policy['gain_treat_all']:+.4f}, treat no one 0.")
        st.dataframe(pd.DataFrame(policy["rules"]), hide_index=True)


state.ensure_app_shell()
st.title("Causal analysis")
lake, usecase = state.lake(), state.usecase()
mode = st.segmented_control("Estimate", ["Live", "From a saved review"], default="Live", key="causal_mode",
                            required=True)
if mode == "From a saved review":
    current, results = review_component(lake, usecase, "causal")
    direction = current.config.get("higher_is_better")
    st.markdown(f"Outcome direction, set in the review: **a {'higher' if direction else 'lower'} "
                f"{current.config.get('target')} is better**." if direction is not None else
                "This review was saved before the outcome direction was recorded: its policy treats the rows where "
                "the outcome rises. Recompute it with a direction to be sure.")
    for effect in results["causal"]["effects"]:
        st.header(f"{effect['treatment']} → {effect['outcome']}")
        show(effect)
    st.stop()
version = state.dataset_picker("causal_dataset")
name = version.name
columns = version.column_names
a, b, c = st.columns(3)
treatment = a.selectbox("Treatment", columns, key=f"causal_treatment_{name}",
                        index=columns.index("counselling") if "counselling" in columns else
                        (columns.index("treat") if "treat" in columns else 0))
outcomes = [x for x in columns if x != treatment]
outcome = b.selectbox("Outcome", outcomes, key=f"causal_outcome_{name}",
                      index=outcomes.index("defaulted") if "defaulted" in outcomes else
                      (outcomes.index("iqsb_36") if "iqsb_36" in outcomes else 0))
method = c.selectbox("Estimator", list(causal.METHODS), format_func=causal.METHODS.get, key="causal_method")
others = [x for x in columns if x not in (treatment, outcome)]
hints = {"applicant_id", "applied_at", "ncdctt", "dose400"}
confounders = st.multiselect("Confounders (what drives both treatment and outcome; leave out ids and anything "
                             "measured after the treatment)", others, key=f"causal_confounders_{name}_{treatment}_{outcome}",
                             default=[x for x in others if x not in hints])
heterogeneity = st.multiselect("Heterogeneity features (for whom the effect differs)", confounders,
                               key=f"causal_het_{name}_{treatment}_{outcome}",
                               default=[x for x in ("age", "income") if x in confounders] or confounders[:2])
d, e, f = st.columns(3)
cost = d.number_input("Treatment cost per row (outcome units)", 0.0, None, 0.0, key="causal_cost")
lower = e.toggle("A lower outcome is better", value=outcome in ("defaulted",), key=f"causal_lower_{outcome}")
if st.button("Estimate the effect", type="primary", key="causal_go", disabled=not confounders):
    made = state.run_with_status(
        "Estimating…", lambda progress: causal.analyse(
            lake, version.ref, treatment=treatment, outcome=outcome, confounders=confounders,
            heterogeneity=heterogeneity, method=method, treatment_cost=cost, higher_is_better=not lower,
            progress=progress),
        lambda result: f"Effect estimated on {result['n']:,} rows in {result['seconds']:.1f} s")
    if made is not None:
        st.session_state["causal_result"] = made
result = st.session_state.get("causal_result")
if result and result["dataset"] == version.ref and result["treatment"] == treatment and result["outcome"] == outcome:
    show(result)
