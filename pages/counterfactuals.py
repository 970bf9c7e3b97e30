"""Counterfactuals (the smallest changes that flip a decision, for chosen rows) and what-if (edit a
row, see the prediction and its SHAP explanation at once)."""
import pandas as pd
import streamlit as st

from core.data import cohorts
from core.analysis import counterfactuals
from core import review, review_views, training
from core.review.results import CounterfactualsResult
from core.analysis.whatif import WhatIf
from ui import charts, state
from ui.review_picker import review_picker

state.ensure_app_shell()
st.title("Counterfactuals & what-if")
lake, usecase = state.lake(), state.usecase()
runs = training.list_runs(lake, usecase=usecase)
if not runs:
    st.info(f"No model has been trained in **{usecase}** yet.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()
by_id = {r.run_id: r for r in runs}
run = by_id[st.selectbox("Model (run)", list(by_id), key="cf_run",
                         format_func=lambda r: training.describe_run(by_id[r]))]


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def what_if_for(folder: str, run_id: str) -> WhatIf:
    return WhatIf.open(lake, run_id)


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
    source = a.selectbox("Rows", ["first held-out rows", "row ids", "a saved cohort"], key="cf_source")
    picked = {}
    if source == "row ids":
        picked["row_ids"] = [p for p in b.text_input("Lake row ids, comma-separated", "0,1,2", key="cf_ids").split(",")
                             if p.strip()]
    elif source == "a saved cohort":
        saved = [x.name for x in cohorts.list_cohorts(lake, usecase=usecase, dataset=run.input_name)]
        if not saved:
            b.info("No saved cohorts of this dataset yet (Data explorer → cohort builder).")
        else:
            picked["cohort"] = b.selectbox("Cohort", saved, key="cf_cohort")
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
    tool = what_if_for(str(lake.config.folder), run.run_id)
    row_id = st.number_input("Start from lake row id", 0, None, 0, key=f"whatif_row_{run.run_id}")
    with state.user_errors():
        start = tool.row(lake, int(row_id))
        edits, kinds = {}, {f["name"]: f["kind"] for f in run.features}
        columns = st.columns(3)
        for i, (feature, value) in enumerate(start.items()):
            box = columns[i % 3]
            key = f"whatif_{run.run_id}_{row_id}_{feature}"
            if kinds[feature] == "numeric":
                edits[feature] = box.number_input(feature, value=None if value is None else float(value), key=key,
                                                  placeholder="missing")
            else:
                options = sorted({str(v) for v in tool.background[feature].dropna()} | ({str(value)} if value else set()))
                edits[feature] = box.selectbox(feature, options, index=options.index(str(value)) if value else None,
                                               key=key, placeholder="missing")
        answer = tool.predict(edits)
        changed = [f for f in edits if edits[f] != start[f] and not (edits[f] is None and start[f] is None)
                   and not (kinds[f] == "numeric" and start[f] is not None and edits[f] == float(start[f]))]
        headline = f"Prediction: **{answer['prediction']}**"
        if "score" in answer:
            headline += f" (probability {answer['score']:.1%} for {run.positive if run.task == 'binary' else 'this class'})"
        st.markdown(headline + (f"; changed: {', '.join(changed)}" if changed else "; no feature changed yet"))
        if "probabilities" in answer:
            st.altair_chart(charts.whatif_probabilities(answer["probabilities"]))
        local = pd.DataFrame(answer["contributions"]).astype({"value": str})
        local = local.reindex(local["shap"].abs().sort_values(ascending=False).index)
        st.altair_chart(charts.local_explanation(local, answer["base_value"]))

with saved_tab:
    current = review_picker(lake, usecase)
    if current is not None:
        typed = review.typed_results(lake, current.review_id)
        stored = typed.counterfactuals
        if stored is None:
            st.info("This review has no counterfactuals component; compute one on the Reviews page.")
        else:
            st.caption(f"{stored.count} per row for {len(stored.rows)} held-out rows of run {current.run_id}, "
                       f"found in {stored.seconds or 0:.1f} s.")
            show(stored.to_dict(), review_views.Words(typed.outcome))
