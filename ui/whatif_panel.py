"""The what-if panel: pick an explained row by clicking it, edit its features, and see the original
prediction beside the edited one, the change in each SHAP value and the row's nearest counterfactual."""
from __future__ import annotations

from typing import Optional

import altair as alt
import pandas as pd
import streamlit as st

from core import review, training
from core.analysis.whatif import WhatIf
from core.lake import Lake
from ui import state


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def what_if_for(folder: str, run_id: str) -> WhatIf:
    """One WhatIf per run and lake (the model, its threshold and background rows), shared read-only."""
    return WhatIf.open(state.lake(), run_id)


@st.cache_data(show_spinner="Searching for the nearest counterfactual…", max_entries=64)
def nearest(folder: str, run_id: str, row_id: int) -> Optional[dict]:
    return what_if_for(folder, run_id).nearest_counterfactual(state.lake(), row_id)


def _key(run: training.Run, row_id: int, feature: str) -> str:
    return f"whatif_{run.run_id}_{row_id}_{feature}"


def _try(run: training.Run, row_id: int, values: dict) -> None:
    """Load a counterfactual's values into the edit boxes (a button's callback, before they are drawn)."""
    types = {f["name"]: (f["kind"], str(f.get("type", ""))) for f in run.features}
    for feature, value in values.items():
        kind, dtype = types[feature]
        number = int if dtype.startswith(("int", "uint")) else float
        st.session_state[_key(run, row_id, feature)] = None if value is None else (
            number(value) if kind == "numeric" else str(value))


def _editor(tool: WhatIf, run: training.Run, row_id: int, start: dict) -> dict:
    edits, kinds = {}, {f["name"]: f["kind"] for f in run.features}
    whole = {f["name"]: str(f.get("type", "")).startswith(("int", "uint")) for f in run.features}
    columns = st.columns(4)
    for i, (feature, value) in enumerate(start.items()):
        box, key = columns[i % 4], _key(run, row_id, feature)
        if kinds[feature] == "numeric" and whole[feature]:  # counts, months, flags: whole numbers
            edits[feature] = box.number_input(feature, value=None if value is None else int(value), step=1, key=key,
                                              placeholder="missing")
        elif kinds[feature] == "numeric":
            edits[feature] = box.number_input(feature, value=None if value is None else float(value), key=key,
                                              placeholder="missing")
        else:
            options = sorted({str(v) for v in tool.background[feature].dropna()} | ({str(value)} if value else set()))
            edits[feature] = box.selectbox(feature, options, index=options.index(str(value)) if value else None,
                                           key=key, placeholder="missing")
    return edits


def _shown(value) -> str:
    """A value as a person writes it: 259, not 259.0; missing as 'missing'."""
    if value is None:
        return "missing"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return str(value)


def _said(run: training.Run, answer: dict) -> str:
    if "score" in answer and run.task == "binary":
        return f"{run.target} = {answer['prediction']} (probability of {run.target} = {run.positive}: {answer['score']:.1%})"
    return f"{run.target} = {answer['prediction']}"


def _shap_change_chart(features: pd.DataFrame) -> alt.Chart:
    long = features.melt("feature", value_vars=["original row", "edited row"], var_name="row", value_name="SHAP value")
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("feature:N", sort=list(features["feature"]), title=None, axis=alt.Axis(labelLimit=0)),
        yOffset="row:N", x=alt.X("SHAP value:Q", title="contribution to the prediction (SHAP)"),
        color=alt.Color("row:N", scale=alt.Scale(domain=["original row", "edited row"], range=["#9ecae9", "#d62728"]),
                        title=None),
        tooltip=["feature", "row", alt.Tooltip("SHAP value:Q", format=".4f")]).properties(
        height=30 * len(features) + 40, width=520, title="Each feature's SHAP value: original and edited row")


def whatif_panel(lake: Lake, run: training.Run, current: Optional[review.Review], conditions: tuple,
                 cohort_name: Optional[str]) -> None:
    if current is None:
        st.info("Rows are picked from a review of this model (its explained rows): review it on the Reviews page.")
        st.page_link("pages/reviews.py", label="Create a review", icon=":material/fact_check:")
        return
    folder = str(lake.config.folder)
    with state.user_errors():
        rows, total = review.explained_rows(lake, current, conditions)
        shown = f"the first {len(rows):,} of " if len(rows) < total else ""
        st.caption(f"Click a row to edit it: {shown}{total:,} explained rows of review {current.review_id}"
                   + (f" in cohort {cohort_name}." if cohort_name else "."))
        event = st.dataframe(rows, hide_index=True, on_select="rerun", selection_mode="single-row", height=230,
                             key=f"whatif_rows_{current.review_id}_{cohort_name or ''}")
        if not event.selection.rows:
            st.info("Click a row in the table (the box at its left) to edit it and see what changes.")
            return
        picked = rows.iloc[event.selection.rows[0]]
        row_id = int(picked["row"])
        tool = what_if_for(folder, run.run_id)
        start = tool.row(lake, row_id)
        known = "".join(f" · {c} {picked[c]}" for c in rows.attrs.get("entity", []))
        st.markdown(f"**Row {row_id}**{known}: change any value; the answer follows at once.")
        edits = _editor(tool, run, row_id, start)
        answer = tool.compare(start, edits)
        before, after = answer["original"], answer["edited"]
        left, right = st.columns(2)
        left.metric("Original row", f"{run.target} = {before['prediction']}", help=_said(run, before))
        delta = f"{after['score'] - before['score']:+.1%}" if "score" in after and run.task == "binary" else None
        right.metric("Edited row", f"{run.target} = {after['prediction']}", delta=delta, help=_said(run, after))
        st.markdown(f"Original: predicted **{_said(run, before)}**. Edited: predicted **{_said(run, after)}**"
                    + (f"; changed: {', '.join(answer['changed'])}." if answer["changed"] else "; no feature changed yet."))
        features = pd.DataFrame(answer["features"]).rename(columns={
            "shap_original": "original row", "shap_edited": "edited row", "shap_change": "SHAP change"})
        st.altair_chart(_shap_change_chart(features))
        for side in ("original", "edited"):
            features[side] = features[side].map(_shown)
        st.dataframe(features[["feature", "original", "edited", "original row", "edited row", "SHAP change"]],
                     hide_index=True, key=f"whatif_deltas_{row_id}",
            column_config={c: st.column_config.NumberColumn(format="%+.4f") for c in ("original row", "edited row", "SHAP change")})
        found = nearest(folder, run.run_id, row_id)
        if found is None:
            st.caption("No counterfactual that flips this row's decision was found within the training ranges.")
        else:
            changed = found["changed"]
            st.markdown(f"**Nearest counterfactual**: change {', '.join(changed)} and the model predicts "
                        f"**{run.target} = {found['prediction']}**.")
            st.dataframe(pd.DataFrame({"feature": changed, "this row": [_shown(start[c]) for c in changed],
                                       "counterfactual": [_shown(found["values"][c]) for c in changed]}), hide_index=True)
            st.button("Try the counterfactual", key=f"whatif_try_{row_id}", on_click=_try,
                      args=(run, row_id, found["values"]))
