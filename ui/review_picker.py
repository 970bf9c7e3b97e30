"""The review every Responsible-AI page shows: picked once, kept across pages."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from core import review, training
from core.data import cohorts
from core.lake import Lake
from ui import state

KEY = "review_id"
RUN_KEY = "run_id"


def review_picker(lake: Lake, usecase: str) -> Optional[review.Review]:
    reviews = review.list_reviews(lake, usecase=usecase)
    if not reviews:
        st.info(f"No reviews in **{usecase}** yet: review a trained model first.")
        st.page_link("pages/reviews.py", label="Create a review", icon=":material/fact_check:")
        return None
    by_id = {r.review_id: r for r in reviews}
    linked = st.query_params.get("review")
    if linked in by_id and not st.session_state.get("_review_link_used") == linked:
        st.session_state[KEY] = linked  # a deep link opens exactly that review
        st.session_state["_review_link_used"] = linked
    if st.session_state.get(KEY) not in by_id:
        st.session_state[KEY] = reviews[0].review_id
    st.session_state["_review_picker"] = st.session_state[KEY]
    runs = {r.run_id: r for r in training.list_runs(lake, usecase=usecase)}
    chosen = st.selectbox("Review", list(by_id), key="_review_picker",  # in words: model, data, date
                          format_func=lambda r: review_label(by_id[r], runs.get(by_id[r].run_id)),
                          on_change=lambda: st.session_state.update({KEY: st.session_state["_review_picker"]}))
    st.query_params["review"] = st.session_state["_review_link_used"] = chosen  # the URL names the review: share it
    return by_id[chosen]


def review_component(lake: Lake, usecase: str, component: str) -> tuple[review.Review, dict]:
    """The picked review and its results; stops the page with a hint when it lacks `component`."""
    current = review_picker(lake, usecase)
    if current is None:
        st.stop()
    results = review.results(lake, current.review_id)
    if component not in results:
        st.info(f"This review has no {component} component; compute a review with it on the Reviews page, or "
                "pick another review above.")
        st.page_link("pages/reviews.py", label="Create a review", icon=":material/fact_check:")
        st.stop()
    return current, results


def session_review(reviews: list) -> review.Review:
    """Among `reviews` (newest first, not empty), the one picked on the review pages, else the newest."""
    return next((r for r in reviews if r.review_id == st.session_state.get(KEY)), reviews[0])


def review_cohort(dataset: str, dataset_ref: str | None = None) -> tuple[Optional[cohorts.Cohort], tuple]:
    """The cohort chosen once in the sidebar, named on the page: (the Cohort or None, its conditions)."""
    cohort = state.cohort_picker(dataset)
    note = state.cohort_note()
    if note:
        st.success(note, icon=":material/filter_alt:")
    if cohort is None:
        st.caption(f"Cohort: **all rows** of {dataset_ref or dataset}. Choose a cohort in the sidebar to look at "
                   "part of them on every review page.")
        return None, ()
    st.markdown(f":material/filter_alt: Cohort **{cohort.name}**: {cohorts.describe(cohort.conditions)} "
                "(chosen in the sidebar; every review page shows these rows).")
    return cohort, tuple(cohort.conditions)


def run_label(run: training.Run) -> str:
    """The run in words, with the end of its id to tell apart two runs made in the same minute (Streamlit maps a
    picked label back to its option, so two options with one label could never both be picked)."""
    return f"{training.describe_run(run)} · {run.run_id[-6:]}"


def review_label(current: review.Review, run: Optional[training.Run] = None) -> str:
    """The review in words, with the end of its id: two reviews of one run in the same minute read apart."""
    return f"{review.describe_review(current, run)} · {current.review_id[-6:]}"


def run_picker(lake: Lake, usecase: str, runs: list, *, label: str = "Model (run)") -> training.Run:
    """A run, picked the way the review pages pick theirs: the run of the session's review first (else the
    newest reviewed run, else the newest run that is not a mitigated copy); picking another run makes its
    newest review the session's review, so every review page follows."""
    by_id = {r.run_id: r for r in runs}
    reviews = review.list_reviews(lake, usecase=usecase)
    current = next((r for r in reviews if r.review_id == st.session_state.get(KEY)), None)
    chosen = st.session_state.get(RUN_KEY)
    if chosen not in by_id or (current is not None and current.run_id in by_id and current.run_id != chosen):
        reviewed = [r.run_id for r in ([current] if current else []) + reviews if r.run_id in by_id]
        plain = [r.run_id for r in runs if not r.params.get("base_run")]
        chosen = (reviewed or plain or list(by_id))[0]
    st.session_state[RUN_KEY] = st.session_state["_run_picker"] = chosen

    def picked() -> None:
        st.session_state[RUN_KEY] = st.session_state["_run_picker"]
        newest = next((r for r in reviews if r.run_id == st.session_state[RUN_KEY]), None)
        if newest is not None:
            st.session_state[KEY] = newest.review_id
        else:  # an unreviewed run: the review pages fall back to the newest review
            st.session_state.pop(KEY, None)

    st.selectbox(label, list(by_id), key="_run_picker", format_func=lambda r: run_label(by_id[r]), on_change=picked)
    return by_id[st.session_state[RUN_KEY]]
