"""Fairness: group metrics, disparities and the four-fifths rule in plain words, for a model at
any threshold (with the cheapest threshold for given error costs), mitigation saved as new runs,
a saved review's fairness component, or stored predictions (audit)."""
import pandas as pd
import streamlit as st

from core.analysis import fairness, mitigation
from core import review, review_views, training
from ui import charts, review_view, state
from ui.pin import pin_widget
from ui.review_picker import review_cohort, review_component, run_picker, session_review

state.ensure_app_shell()
st.title("Fairness")
lake, usecase = state.lake(), state.usecase()


@st.cache_data(show_spinner="Scoring the held-out rows…", max_entries=16)
def model_scores(folder: str, run_id: str, sensitive: tuple) -> fairness.Scores:
    return fairness.scores_for_run(lake, run_id, sensitive=list(sensitive))


@st.cache_data(show_spinner="Sweeping thresholds…", max_entries=16)
def sweep_for(folder: str, run_id: str, sensitive: tuple):
    return fairness.threshold_sweep(model_scores(folder, run_id, sensitive))


@st.cache_data(show_spinner=False, max_entries=32)
def group_curves(folder: str, review_id: str, column: str) -> pd.DataFrame:
    """A stored review never changes: its curves are read once per column."""
    return review.group_curves(lake, review.get(lake, review_id), column)


def group_table(groups: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"group": ", ".join(f"{k} = {v}" for k, v in g["group"].items()),
                          **{k: v for k, v in g.items() if k != "group"}} for g in groups])


def show(report, threshold=None, target: str = "") -> None:
    """A fairness report computed now, drawn by the same renderer as a review's."""
    review_view.draw(review_views.fairness_live(report if isinstance(report, dict) else report.to_dict(),
                                                threshold=threshold, target=target))


def mitigate_tab(run: training.Run) -> None:
    if run.params.get("base_run"):
        st.info(f"This run is a mitigated version of run {run.params['base_run']} ({run.params['method']}, "
                f"{run.params['constraint'].replace('_', ' ')}). Pick the base run to try other settings; "
                "its mitigated versions are compared below.")
        run = training.get(lake, run.params["base_run"])
        show_mitigations(run)
        return
    st.markdown("A mitigated model is saved as a **new run**: review, compare and register it like any other. "
                "Both are measured on the run's held-out rows, which mitigation never sees.")
    a, b, c = st.columns(3)
    method = a.selectbox("Method", list(mitigation.METHODS), format_func=mitigation.METHODS.get, key="mitigate_method")
    constraint = b.selectbox("Constraint", list(mitigation.CONSTRAINTS), key="mitigate_constraint",
                             format_func=lambda x: x.replace("_", " "))
    over = c.multiselect("Over the groups of", list(dict.fromkeys(run.sensitive + run.feature_names)),
                         default=run.sensitive[:1], key=f"mitigate_over_{run.run_id}")
    if method == "threshold":
        st.caption("Per-group thresholds: the model reads the group at prediction time. Check that this is lawful "
                   "where the model will be used; the reduction method does not need it.")
    if st.button("Mitigate", type="primary", key="mitigate_go", disabled=not over or not state.can("mitigate")):
        made = state.run_with_status(
            "Mitigating…", lambda progress: mitigation.mitigate(lake, run.run_id, sensitive=over, method=method,
                                                                constraint=constraint, actor=state.actor(),
                                                                progress=progress),
            lambda result: f"Saved mitigated run {result.run.run_id}")
        if made is not None:
            st.session_state["mitigated_last"] = made.to_dict()
    show_mitigations(run)


def show_mitigations(run: training.Run) -> None:
    mitigated = [r for r in training.list_runs(lake, usecase=run.usecase) if r.params.get("base_run") == run.run_id]
    if not mitigated:
        st.info("No mitigated version of this run yet.")
        return
    points, table = [], []
    for other in mitigated:
        label = f"{other.algorithm} · {other.params['constraint'].replace('_', ' ')} · {other.run_id[-6:]}"
        for side in ("before", "after"):
            measured = other.metrics["mitigation"][side]
            points.append({"label": label, "constraint": other.params["constraint"], "side": side,
                           "accuracy": measured["accuracy"], "disparity": measured["disparity"]})
        before, after = other.metrics["mitigation"]["before"], other.metrics["mitigation"]["after"]
        table.append({"mitigated run": other.run_id, "method": other.params["method"],
                      "constraint": other.params["constraint"], "over": ", ".join(other.params["mitigated_over"]),
                      "accuracy before": before["accuracy"], "accuracy after": after["accuracy"],
                      "disparity before": before["disparity"], "disparity after": after["disparity"]})
    st.altair_chart(charts.mitigation_tradeoff(pd.DataFrame(points)))
    st.dataframe(pd.DataFrame(table), hide_index=True)
    last = st.session_state.get("mitigated_last")
    if last and last["base_run_id"] == run.run_id:
        st.markdown(f"**Run {last['run_id']}** ({last['method']}, {last['constraint'].replace('_', ' ')}): "
                    f"disparity {last['before']['disparity']:.3f} → {last['after']['disparity']:.3f}, "
                    f"accuracy {last['before']['accuracy']:.3f} → {last['after']['accuracy']:.3f}.")
        left, right = st.columns(2)
        for column, side in ((left, "before"), (right, "after")):
            column.markdown(f"**{side.title()}**")
            for line in last[side]["summary"]:
                column.markdown(f"- {line}")
            column.dataframe(group_table(last[side]["groups"]), hide_index=True)


MODES = ["A trained model", "A saved review", "Stored predictions (audit)"]
# A saved review opens at once (its results are stored); a trained model is scored live, which takes seconds.
opening = "A saved review" if st.query_params.get("review") or review.list_reviews(lake, usecase=usecase) else MODES[0]
mode = st.segmented_control("Predictions from", MODES, default=opening, key="fairness_mode", required=True)
if mode == "A trained model":
    runs = [r for r in training.list_runs(lake, usecase=usecase) if r.task == "binary"]
    if not runs:
        st.info(f"No binary classifier has been trained in **{usecase}** yet.")
        st.stop()
    run = run_picker(lake, usecase, runs)
    cohort, conditions = review_cohort(run.input_name, run.input_ref)
    reviewed = review.list_reviews(lake, usecase=usecase, run_id=run.run_id)
    if cohort is not None and not reviewed:
        st.info(f"Cohort {cohort.name} applies to a reviewed model: review this one (Reviews page) to see its "
                "fairness on the cohort; shown here on all held-out rows.")
    options = list(dict.fromkeys(run.sensitive + run.feature_names))
    sensitive = st.multiselect("Sensitive columns (several: their intersections)", options,
                               default=run.sensitive[:1] or options[:1], key=f"fairness_sensitive_{run.run_id}")
    if not sensitive:
        st.stop()
    threshold = st.slider("Decision threshold: a score at or above it predicts the positive class", 0.01, 0.99,
                          training.decision_threshold(run), key="fairness_threshold")
    # One view at a time, not tabs: a tab computes even when closed, and its spinner is then out of sight.
    view = st.segmented_control("Show", ["At this threshold", "Across thresholds and costs", "Mitigate"],
                                default="At this threshold", key="fairness_live_view", required=True)
    with state.user_errors():
        scores = (review.cohort_scores(lake, session_review(reviewed), sensitive, conditions) if cohort and reviewed
                  else model_scores(str(lake.config.folder), run.run_id, tuple(sensitive)))
        if view == "At this threshold":
            with st.spinner("Measuring each group, with bootstrap intervals…"):
                assessed = fairness.assess_scores(scores, threshold=threshold, n_boot=200)
            show(assessed, threshold, run.target)
        elif view == "Across thresholds and costs":
            sweep = sweep_for(str(lake.config.folder), run.run_id, tuple(sensitive))
            st.altair_chart(charts.threshold_sweep(sweep, by=" × ".join(sensitive), current=threshold))
            a, b = st.columns(2)
            fp_cost = a.number_input("Cost of a false positive", 0.0, 1e9, 1.0, key="fairness_fp_cost")
            fn_cost = b.number_input("Cost of a false negative", 0.0, 1e9, 5.0, key="fairness_fn_cost")
            cheapest = fairness.cheapest_thresholds(scores, fp_cost=fp_cost, fn_cost=fn_cost)
            st.markdown(f"Cheapest threshold overall: **{cheapest['overall']['threshold']:.2f}** "
                        f"(cost {cheapest['overall']['cost']:,.0f} on {cheapest['overall']['rows']:,} rows).")
            st.dataframe([{"group": ", ".join(f"{k} = {v}" for k, v in g["group"].items()),
                           **{k: v for k, v in g.items() if k != "group"}} for g in cheapest["groups"]], hide_index=True)
        else:
            mitigate_tab(run)
elif mode == "A saved review":
    current, results = review_component(lake, usecase, "fairness")
    cohort, conditions = review_cohort(current.dataset_name, current.dataset_ref)
    typed = review_views.typed(results, lake=lake, review=current)
    stored = typed.fairness
    if cohort is not None and current.sensitive and current.config.get("task") == "binary":
        with state.user_errors():  # the cohort's rows, at the review's threshold, by each sensitive column
            for column in current.sensitive:
                show(fairness.assess_scores(review.cohort_scores(lake, current, [column], conditions),
                                            threshold=current.config.get("threshold", 0.5), n_boot=200),
                     current.config.get("threshold", 0.5), typed.outcome.target)
        st.stop()
    computed = review_views.fairness_results(typed)
    if computed:
        names = [" × ".join(r.sensitive) for r in computed]
        picked = st.selectbox("Sensitive column or intersection", names, key=f"fairness_review_sensitive_{current.review_id}",
                              format_func=lambda n: n + (" (four-fifths rule fails)" if computed[names.index(n)].passed is False else ""))
        chosen = list(computed[names.index(picked)].sensitive)
        settings = {"sensitive": chosen[0] if len(chosen) == 1 else chosen}
        review_view.draw(review_views.render("fairness", typed, settings))
        pin_widget(current.review_id, "fairness", settings)
    else:
        st.info(stored.note or "This review has no fairness result.")
    if computed and current.config.get("task") == "binary":
        with st.spinner("Drawing each group's curves from the review's rows…"), state.user_errors():
            curves = group_curves(str(lake.config.folder), current.review_id, chosen[0])
            roc, pr = st.columns(2)
            roc.altair_chart(charts.group_curves(curves, "roc"))
            pr.altair_chart(charts.group_curves(curves, "pr"))
    if stored.sweep:
        st.altair_chart(charts.threshold_sweep(pd.DataFrame(list(stored.sweep)), by=stored.sweep_by,
                                               current=stored.threshold))
else:
    audited = state.dataset_picker("audit_dataset")
    name, columns = audited.name, audited.column_names
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
                                   else {"score": predicted, "threshold": threshold})), target=label)
