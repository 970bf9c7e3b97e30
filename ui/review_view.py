"""Draw a review component's view (core.review_views) on a page: the same sections, numbers,
sentences and charts the meeting report and the scorecard print."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.review_views import View, fmt


def draw(view: View) -> None:
    if not view.computed or not view.sections:
        st.info(view.note or "Nothing to show.")
        return
    if view.note:
        st.caption(view.note)
    for section in view.sections:
        badge = "" if section.passed is None else (" · :green[pass]" if section.passed else " · :red[**FAIL**]")
        st.markdown(f"#### {section.title}{badge}")
        if section.headline:
            for column, figure in zip(st.columns(len(section.headline)), section.headline):
                if len(figure.text) > 24:  # st.metric cuts a long figure ("0.65 (fnr, race_ethnicity = …"): say it whole
                    column.caption(figure.label)
                    column.markdown(f"**{figure.text}**")
                else:
                    column.metric(figure.label, figure.text)
        for line in section.sentences:
            st.markdown(f"- {line}")
        for chart in section.charts:
            st.altair_chart(chart)
        for table in section.tables:
            if table.rows:
                st.dataframe(pd.DataFrame([[fmt(c) if isinstance(c, (list, tuple)) else c for c in row]
                                           for row in table.rows], columns=list(table.header)), hide_index=True)
