"""Counterfactuals (the smallest changes that flip a decision, for chosen rows) and what-if (click a
row, edit it, see the original prediction beside the edited one with each SHAP value's change and the
row's nearest counterfactual). The model is the one the review pages show; rows follow the sidebar's cohort."""
import pandas as pd
import streamlit as st

from core.analysis import counterfactuals
from core import review, review_views, training
from core.review.results import CounterfactualsResult
from ui import charts, state
from ui.review_picker import KEY, review_cohort, run_picker
from ui.whatif_panel import whatif_panel

state.ensure_app_shell()
st.title("Counterfactuals & what-if")
lake, usecase = state.lake(), state.usecase()
runs = training.list_runs(lake, usecase=usecase)
if not runs:
    st.info(f"No model has been trained in **{usecase}** yet.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()
run = run_picker(lake, usecase, runs)
reviews = review.list_reviews(lake, usecase=usecase, run_id=run.run_id)
explained = [r for r in reviews if "explain" in r.components]  # what-if offers a review's explained rows
current = next((r for r in explained if r.review_id == st.session_state.get(KEY)), explained[0] if explained else None)
if current is not None and st.session_state.get(KEY) not in {r.review_id for r in reviews}:
    st.session_state[KEY] = current.review_id  # the review pages follow the model picked here
cohort, conditions = review_cohort(run.input_name, run.input_ref)


def show(result: dict, words: review_views.Words) -> None:
    """Counterfactuals (live, or as stored in a review): which features change, and each row's table."""
    found = CounterfactualsResult.from_stored(result)
    if found.note:
        st.info(found.note)
    if found.rows_without:
        st.warning(f"{found.rows_without} row(s) have no counterfactual within the allowed changes: allow more "
                   "features to vary or widen the ranges.")
    if found.feature_changes:
        st.altair_chart(charts.feature_changes(found.feature_changes))
    for row in found.rows:
        with st.expander(f"Row {row.row}: predicted {words.class_name(row.prediction)}, {len(row.counterfactuals)} "
                         f"counterfactual(s)", expanded=len(found.rows) <= 3):
            table = pd.DataFrame(review_views.counterfactual_table(found, row, words))
            st.dataframe(charts.highlight_changes(table, [set(cf.changed) for cf in row.counterfactuals]),
                         hide_index=True)


found_tab, whatif_tab, saved_tab = st.tabs(["Counterfactuals", "What-if", "Saved in a review"])
with found_tab:
    numeric = [f["name"] for f in run.features if f["kind"] == "numeric"]
    a, b, c = st.columns(3)
    sources = ([f"rows of cohort {cohort.name}"] if cohort else []) + ["first held-out rows", "row ids"]
    source = a.selectbox("Rows", sources, key="cf_source")
    picked = {}
    if source == "row ids":
        picked["row_ids"] = [p for p in b.text_input("Lake row ids, comma-separated", "0,1,2", key="cf_ids").split(",")
                             if p.strip()]
    elif cohort and source == sources[0]:
        picked["cohort"] = cohort.name
    if source != "row ids":
        picked["rows"] = int(c.number_input("How many rows", 1, 2_000, 10, key="cf_rows"))
    d, e, f = st.columns(3)
    count = int(d.number_input("Counterfactuals per row", 1, 50, 5, key="cf_count"))
    method = e.selectbox("Method", counterfactuals.METHODS, key="cf_method",
                         help="random: batched across rows in Assay; kdtree and genetic run in dice-ml, row by row")
    goal = {}
    if run.task == "binary":
        f.caption(f"Desired outcome: the opposite of each row's prediction ({', '.join(map(str, run.classes))}).")
    elif run.task == "multiclass":
        goal["desired_class"] = f.selectbox("Desired class", run.classes, key="cf_class")
    else:
        low, high = f.columns(2)
        goal["desired_range"] = [low.number_input("Desired low", value=0.0, key="cf_low"),
                                 high.number_input("Desired high", value=1.0, key="cf_high")]
    vary = st.multiselect("Features allowed to change (age-, sex- and race-like ones are off by default)",
                          run.feature_names, default=counterfactuals.default_vary(run), key=f"cf_vary_{run.run_id}")
    with st.expander("Permitted ranges (numbers; leave blank for the training range)"):
        ranges = st.data_editor(pd.DataFrame({"feature": [n for n in numeric if n in vary], "low": None, "high": None}),
                                hide_index=True, key=f"cf_ranges_{run.run_id}", disabled=["feature"],
                                column_config={"low": st.column_config.NumberColumn(), "high": st.column_config.NumberColumn()})
    permitted = {r.feature: [r.low, r.high] for r in ranges.itertuples() if pd.notna(r.low) and pd.notna(r.high)}
    if st.button("Find counterfactuals", type="primary", key="cf_go", disabled=not vary):
        made = state.run_with_status(
            "Searching for counterfactuals…",
            lambda progress: counterfactuals.for_run(lake, run.run_id, count=count, vary=vary, permitted=permitted,
                                                     method=method, progress=progress, **picked, **goal),
            lambda result: f"{result['counterfactuals']:,} counterfactuals for {len(result['rows']):,} rows in "
                           f"{result['seconds']:.1f} s")
        if made is not None:
            st.session_state["cf_result"] = made
    result = st.session_state.get("cf_result")
    if result and result["run_id"] == run.run_id:
        show(result, review_views.Words.of_run(run))

with whatif_tab:
    whatif_panel(lake, run, current, conditions, cohort.name if cohort else None)

with saved_tab:
    saved = {r.review_id: r for r in reviews if "counterfactuals" in r.components}
    if not saved:
        st.info("No review of this model has a counterfactuals component; compute one on the Reviews page.")
    else:
        chosen = saved[st.selectbox("Review", list(saved), key=f"cf_saved_review_{run.run_id}",
                                    format_func=lambda r: f"{saved[r].dataset_ref} ({saved[r].scope}), "
                                                          f"{saved[r].created_at:%Y-%m-%d %H:%M} · {r}")]
        typed = review.typed_results(lake, chosen.review_id)
        stored = typed.counterfactuals
        st.caption(f"{stored.count} per row for {len(stored.rows)} held-out rows of this model, "
                   f"found in {stored.seconds or 0:.1f} s.")
        show(stored.to_dict(), review_views.Words(typed.outcome))
