"""The review every Responsible-AI page shows: picked once, kept across pages."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from core import review
from core.lake import Lake

KEY = "review_id"


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
    chosen = st.selectbox("Review", list(by_id), key="_review_picker",
                          format_func=lambda r: f"{by_id[r].config.get('algorithm')} run {by_id[r].run_id} on "
                                                f"{by_id[r].dataset_ref} ({by_id[r].scope}, {by_id[r].rows:,} rows) · {r}",
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
        st.info(f"This review has no {component} component; compute a review with it on the Reviews page.")
        st.stop()
    return current, results


def cohort_of(lake: Lake, usecase: str, dataset: str, *, key: str, purpose: str):
    """A saved cohort of `dataset` to look at (None, with a hint, when there is none yet)."""
    from core.data import cohorts

    saved = {c.name: c for c in cohorts.list_cohorts(lake, usecase=usecase, dataset=dataset)}
    if not saved:
        st.info(f"Save a cohort of {dataset} (Data explorer or Error analysis) to {purpose}.")
        return None
    return saved[st.selectbox("Cohort", list(saved), key=key)]
