"""Pin what a review page shows as a finding for the review meeting, with the view's exact settings."""
from __future__ import annotations

import streamlit as st

from core.governance import findings
from ui import state


def pin_widget(review_id: str, component: str, settings: dict) -> None:
    with st.popover("Pin as a finding", icon=":material/push_pin:"):
        title = st.text_input("What was seen", key=f"pin_here_title_{component}")
        severity = st.selectbox("Severity", findings.SEVERITIES, index=1, key=f"pin_here_severity_{component}")
        st.caption(f"Settings kept with it: {findings.settings_text(settings)}")
        if st.button("Pin", key=f"pin_here_go_{component}", disabled=not title or not state.can("meet")):
            with state.user_errors():
                made = findings.pin(state.lake(), review_id, title=title, severity=severity, component=component,
                                    settings=settings, actor=state.actor())
                st.success(f"Pinned. It is on the Review meeting page (?review={review_id}&finding={made['finding_id']}).")
