"""Review meeting: pin findings from a review (component and exact settings), comment, decide, assign
action items, walk through them full-screen for the projector, and export the meeting as one HTML
file. The URL names the review and the finding shown (?review=ID&finding=ID)."""
import json

import streamlit as st

from core.governance import findings, meeting
from core import review, review_views
from core.errors import AssayError, InputError
from ui import review_view, state
from ui.review_picker import review_picker

state.ensure_app_shell()
st.title("Review meeting")
lake, usecase = state.lake(), state.usecase()
current = review_picker(lake, usecase)
if current is None:
    st.stop()
pinned = findings.list_findings(lake, current.review_id)
st.caption(" ".join(meeting.review_lines(lake, current)) + " " + meeting.audit_line(lake))
can_meet = state.can("meet")
ids = [f["finding_id"] for f in pinned]


def _opening() -> None:
    """Presentation mode starts at the first finding, whatever the link pointed at before."""
    if st.session_state.get("meeting_present") and ids:
        st.query_params["finding"] = ids[0]


present = st.toggle("Presentation mode (one finding at a time, large type, no editing)", key="meeting_present",
                    on_change=_opening, disabled=not pinned)
editing = can_meet and not present  # presentation mode shows findings; it changes nothing
if not present:
    with st.expander("Pin a finding", expanded=not pinned):
        a, b, c = st.columns([3, 1, 1])
        title = a.text_input("What was seen", key="pin_title", placeholder="Group B misses more defaults")
        severity = b.selectbox("Severity", findings.SEVERITIES, index=1, key="pin_severity")
        component = c.selectbox("Component", [x for x in current.components if x in findings.COMPONENTS], key="pin_component")
        st.caption(f"Settings a {component} view takes: {', '.join(review_views.SETTINGS.get(component, ())) or 'none'}")
        settings_text = st.text_input('Settings of the view, JSON (e.g. {"sensitive": "race_ethnicity"} or {"feature": "debt"})', "{}",
                                      key="pin_settings")
        if st.button("Pin", type="primary", key="pin_go", disabled=not title or not can_meet):
            with state.user_errors():
                try:
                    settings = json.loads(settings_text or "{}")
                except json.JSONDecodeError:
                    settings = None
                if not isinstance(settings, dict):
                    raise InputError('Settings are a JSON object, such as {"threshold": 0.4}.')
                made = findings.pin(lake, current.review_id, title=title, severity=severity, component=component,
                                    settings=settings, actor=state.actor())
                st.query_params["finding"] = made["finding_id"]
                st.rerun()
    drafts = findings.drafts(lake, current.review_id)
    if drafts:  # failed validation checks of severity high or critical, offered as findings
        with st.expander(f"Draft findings from the validation checks ({len(drafts)})", expanded=True):
            for draft in drafts:
                a, b = st.columns([5, 1])
                a.markdown(f"**{draft['severity']}** · {draft['title']}")
                if b.button("Pin", key=f"draft_pin_{draft['settings']['check']}", disabled=not can_meet):
                    with state.user_errors():
                        made = findings.pin(lake, current.review_id, actor=state.actor(), **draft)
                        st.query_params["finding"] = made["finding_id"]
                        st.rerun()

if not pinned:
    st.info("No findings pinned for this review yet.")
    st.stop()
linked = st.query_params.get("finding")
index = ids.index(linked) if linked in ids else 0
if present:  # larger type in the main area only (the sidebar keeps its size); styling only, no data in this HTML
    st.markdown("<style>[data-testid='stMain'] .stMarkdown p, [data-testid='stMain'] .stMarkdown li "
                "{font-size: 1.45rem !important;} [data-testid='stMain'] h2 {font-size: 2.4rem !important;} "
                "[data-testid='stMain'] [data-testid='stMetricValue'] {font-size: 2.6rem !important;} "
                "[data-testid='stMain'] [data-testid='stCaptionContainer'] p {font-size: 1rem !important;}</style>",
                unsafe_allow_html=True)
    left, middle, right = st.columns([1, 4, 1])
    if left.button("← Previous", key="present_prev", disabled=index == 0):
        st.query_params["finding"] = ids[index - 1]
        st.rerun()
    if right.button("Next →", key="present_next", disabled=index == len(ids) - 1):
        st.query_params["finding"] = ids[index + 1]
        st.rerun()
    middle.caption(f"Finding {index + 1} of {len(ids)}")
    shown = [pinned[index]]
else:
    shown = pinned


@st.cache_data(show_spinner=False, max_entries=256)
def drawn(folder: str, review_id: str, component: str, settings_json: str):
    """A finding's view, drawn once from the stored review and the finding's own settings (a stored review
    never changes)."""
    return meeting.finding_view(lake, review.get(lake, review_id), review.results(lake, review_id),
                                {"component": component, "settings": json.loads(settings_json)})


def _add(key: str, what: str) -> None:
    """Add a comment or an action item before the rerun draws the page, then empty its boxes, so the page shows
    it at once. A submission sent twice (Enter, then a click before the page redrew) is stored once: the comment
    form clears as it submits, and findings.comment and add_action ignore a repeat. A refusal is kept to be said
    beside the box."""
    values = st.session_state
    try:
        if what == "comment":
            if not values.get(f"comment_{key}", "").strip():
                return
            findings.comment(lake, key, values[f"comment_{key}"], actor=state.actor())
            values[f"comment_{key}"] = ""
        else:
            findings.add_action(lake, key, values.get(f"action_text_{key}", ""), owner=values.get(f"action_owner_{key}", ""),
                                due=str(values.get(f"action_due_{key}")), actor=state.actor())
            values[f"action_text_{key}"] = values[f"action_owner_{key}"] = ""
    except AssayError as error:
        values[f"_{what}_refused_{key}"] = str(error)


def _said(key: str, what: str) -> None:
    if st.session_state.get(f"_{what}_refused_{key}"):
        st.error(st.session_state.pop(f"_{what}_refused_{key}"), icon=":material/error:")


def finding_view(finding: dict) -> None:
    st.header(finding["title"])
    st.markdown(f"**{finding['severity']}** · {finding['component']} · settings `{findings.settings_text(finding['settings'])}` · "
                f"pinned by {finding['created_by']}")
    try:
        review_view.draw(drawn(str(lake.config.folder), current.review_id, finding["component"],
                               json.dumps(finding["settings"], sort_keys=True)))
    except review_views.ViewSettingsError as exc:  # said, never drawn with other settings
        st.error(f"This finding's view cannot be redrawn: {exc}")
    key = finding["finding_id"]
    if not editing:
        for item in finding["actions"]:
            st.markdown(f"- **{item['text']}** — {item['owner']}, due {item['due']}: {item['status']}")
        for remark in finding["comments"]:
            st.markdown(f"*{remark['author']}*: {remark['text']}")
        if finding["decision"]:
            st.markdown(f"**Decision**: {finding['decision'].replace('_', ' ')}"
                        + (f" — {finding['decision_reason']}" if finding["decision_reason"] else ""))
        return
    a, b = st.columns([1, 2])
    choice = a.selectbox("Decision", [None, *findings.DECISIONS], key=f"decision_{key}",
                         index=([None, *findings.DECISIONS].index(finding["decision"])),
                         format_func=lambda d: "undecided" if d is None else d.replace("_", " "))
    reason = b.text_input("Why", finding["decision_reason"] or "", key=f"decision_reason_{key}")
    if choice and (choice != finding["decision"] or reason != (finding["decision_reason"] or "")):
        if st.button("Record the decision", key=f"decide_{key}", disabled=not can_meet):
            with state.user_errors():
                findings.decide(lake, key, choice, actor=state.actor(), reason=reason)
                st.rerun()
    for item in finding["actions"]:
        line = f"- **{item['text']}** — {item['owner']}, due {item['due']}: {item['status']}"
        st.markdown(line + (f" ({item['close_reason']})" if item["close_reason"] else ""))
        if item["status"] == "open" and st.button("Close (done)", key=f"close_{item['action_id']}", disabled=not can_meet):
            with state.user_errors():
                findings.close_action(lake, item["action_id"], actor=state.actor())
                st.rerun()
    with st.form(f"action_{key}"):
        c, d, e = st.columns([3, 1, 1])
        c.text_input("New action item", key=f"action_text_{key}")
        d.text_input("Owner", key=f"action_owner_{key}")
        e.date_input("Due", key=f"action_due_{key}")
        st.form_submit_button("Add the action item", disabled=not can_meet, on_click=_add, args=(key, "action"))
    _said(key, "action")
    for remark in finding["comments"]:
        st.markdown(f"*{remark['author']}*: {remark['text']}")
    with st.form(f"comment_form_{key}", clear_on_submit=True):  # the browser empties the box as it sends it
        st.text_input("Comment", key=f"comment_{key}")
        st.form_submit_button("Add the comment", disabled=not can_meet, on_click=_add, args=(key, "comment"))
    _said(key, "comment")
    st.caption(f"Link to this finding: ?review={current.review_id}&finding={key}")


for finding in shown:
    finding_view(finding)
    st.divider()
if present:
    st.stop()
if st.button("Export the meeting", key="meeting_export_go"):
    with st.spinner("Drawing every finding…"):
        st.session_state["meeting_export_html"] = (current.review_id, meeting.report_html(lake, current.review_id))
ready = st.session_state.get("meeting_export_html")
if ready and ready[0] == current.review_id:
    st.download_button("Download the meeting (one HTML file that opens offline)", ready[1],
                       f"review_{current.review_id}.html", "text/html", key="meeting_export")
