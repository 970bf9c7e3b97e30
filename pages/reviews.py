"""Reviews: evaluate a trained model on a dataset version once, persist every component, and
open, recompute or delete reviews. The review pages read what is stored here."""
import streamlit as st

from core.data import datasets
from core import review, training
from ui import state
from ui.review_picker import run_label

state.ensure_app_shell()
st.title("Reviews")
lake, usecase = state.lake(), state.usecase()
runs = training.list_runs(lake, usecase=usecase)
if not runs:
    st.info(f"No trained models in **{usecase}** yet.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()
by_id = {r.run_id: r for r in runs}
with st.expander("New review", expanded=not review.list_reviews(lake, usecase=usecase)):
    run = by_id[st.selectbox("Model (run)", list(by_id), key="new_review_run",
                             format_func=lambda r: run_label(by_id[r]))]
    names = [v.name for v in datasets.latest(lake, usecase=usecase)]
    left, right = st.columns(2)
    choice = left.selectbox("Evaluation data", ["the run's input", *names], key="new_review_data",
                            help="The run's input is reviewed on its held-out rows by default.")
    scope = right.selectbox("Rows", ["test", "all"], key="new_review_scope", disabled=choice != "the run's input",
                            format_func={"test": "held-out rows of the run", "all": "every row"}.get)
    columns = run.feature_names + run.sensitive
    sensitive = st.multiselect("Sensitive columns", sorted(set(columns) | set(run.sensitive)), default=run.sensitive,
                               key=f"new_review_sensitive_{run.run_id}")
    components = st.multiselect("Components", list(review.COMPONENTS), default=list(review.DEFAULT_COMPONENTS),
                                key="new_review_components")
    explain_rows = st.number_input("Explain at most this many rows (a seeded sample above it; error analysis uses all)",
                                   100, 10_000_000, 100_000, step=10_000, key="new_review_explain_rows")
    extra = {}
    source_columns = datasets.get(lake, run.input_ref).column_names if run.input_kind == "dataset" else columns
    if "counterfactuals" in components:
        a, b = st.columns(2)
        extra["cf_rows"] = int(a.number_input("Counterfactuals: held-out rows", 1, 10_000, 100, key="new_review_cf_rows"))
        extra["cf_count"] = int(b.number_input("Counterfactuals per row", 1, 50, 5, key="new_review_cf_count"))
    if "causal" in components:
        extra["treatments"] = st.multiselect(f"Causal: treatment column(s); the outcome is {run.target}",
                                             [c for c in source_columns if c != run.target],
                                             key=f"new_review_treatments_{run.run_id}")
        extra["higher_is_better"] = st.radio(f"Causal: which {run.target} is better?", [True, False], index=None,
                                             format_func=lambda v: "higher" if v else "lower", horizontal=True,
                                             key=f"new_review_direction_{run.run_id}")
    if "privacy" in components:
        extra["quasi"] = st.multiselect("Privacy: quasi-identifiers for k-anonymity", source_columns,
                                        key=f"new_review_quasi_{run.run_id}")
    rows = (run.test_rows if scope == "test" else run.train_rows + run.test_rows) if choice == "the run's input" \
        else datasets.get(lake, choice).rows
    plan = review.estimate(components, rows=rows, explain_rows=int(explain_rows), cf_rows=extra.get("cf_rows", 100),
                           cf_count=extra.get("cf_count", 5), treatments=extra.get("treatments", ()))
    go, board = st.columns([1, 3])
    go_clicked = go.button("Compute review", type="primary", key="new_review_go",
                           disabled=not components or not state.can("review"))
    go.caption(f"About **{sum(e.seconds for e in plan):,.0f} s** on 2 cores")
    bars = {e.component: board.progress(0.0, text=f"{e.component} · about {e.seconds:,.0f} s ({e.basis})") for e in plan}
    if go_clicked:
        def follow(progress):
            def report(fraction, message):
                progress(fraction, message)
                for name, done in review.progress_by_component(fraction, components).items():
                    estimate_of = next(e for e in plan if e.component == name)
                    bars[name].progress(done, text=f"{name} · {'done' if done >= 1 else f'about {estimate_of.seconds:,.0f} s'}")
            return report

        with board:
            made = state.run_with_status("Reviewing…", lambda progress: review.create(
                lake, run_id=run.run_id, actor=state.actor(), dataset=None if choice == "the run's input" else choice,
                scope=scope if choice == "the run's input" else "all", sensitive=sensitive, components=components,
                explain_rows=int(explain_rows), progress=follow(progress), **extra),
                lambda r: f"Review {r.review_id}: {r.rows:,} rows in {sum(r.timings.values()):.1f} s")
        if made:
            st.session_state["review_id"] = made.review_id
            st.success(f"Review **{made.review_id}** saved. Open it on the Explainability, Error analysis and "
                       "Model overview pages.")

reviews = review.list_reviews(lake, usecase=usecase)
if reviews:
    st.subheader("Saved reviews")
    st.dataframe([{"review": r.review_id, "model": f"{r.config.get('algorithm')} · {r.run_id}", "data": r.dataset_ref,
                   "rows": r.rows, "scope": r.scope, "components": ", ".join(r.components),
                   "seconds": round(sum(r.timings.values()), 1), "by": r.created_by, "created": r.created_at}
                  for r in reviews], hide_index=True)
    current = st.selectbox("Review", [r.review_id for r in reviews], key="reviews_current")
    a, b, c = st.columns(3)
    if a.button("Open", key="reviews_open"):
        st.session_state["review_id"] = current
        st.switch_page("pages/explainability.py")
    if b.button("Recompute", key="reviews_recompute"):
        made = state.run_with_status("Recomputing…", lambda progress: review.recompute(
            lake, current, actor=state.actor(), progress=progress), lambda r: f"Recomputed as {r.review_id}")
        if made:
            st.session_state["review_id"] = made.review_id
            st.rerun()
    if c.button("Delete", key="reviews_delete"):
        with state.user_errors():
            review.delete(lake, current, actor=state.actor())
            st.rerun()
