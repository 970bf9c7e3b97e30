"""Lifecycle: where every model version of the use case stands (trained, reviewed, registered,
awaiting sign-off, approved, champion, retired), what waits for whom, and the audit trail with
its integrity check."""
import pandas as pd
import streamlit as st

from core import monitoring
from core.lake import audit
from core.governance import registry
from ui import charts, state

state.ensure_app_shell()
st.title("Lifecycle")
lake, usecase = state.lake(), state.usecase()
overview = registry.lifecycle(lake, usecase=usecase)
stages = pd.DataFrame(overview["versions"])
runs = pd.DataFrame(overview["unregistered_runs"])
counts = {"runs trained": overview["runs"]["trained"], "runs reviewed": overview["runs"]["reviewed"]}
if len(stages):
    counts.update(stages["stage"].value_counts().to_dict())
columns = st.columns(len(counts))
for column, (stage, count) in zip(columns, counts.items()):
    column.metric(stage, count, help="every run with a saved review, registered or not" if stage == "runs reviewed" else None)
for blocked in overview["open_must_fix"]:  # where the decision is made: an open must-fix item is never silent
    st.error(f"**{blocked['model']}**: {blocked['attention']}.", icon=":material/report:")
if len(stages):
    st.subheader("Model versions")
    st.dataframe(stages, hide_index=True)
else:
    st.info(f"No registered models in **{usecase}** yet: register a reviewed run on the Model registry page.")
alerts = [v["model"] for v in overview["versions"] if v.get("drift_alert")]
if alerts:
    st.warning(f"Drift says retrain: {', '.join(alerts)} (see Scoring & monitoring).")
for monitored in monitoring.latest_alerts(lake, usecase=usecase):  # the newest monitoring report of each version
    st.warning(f"**{monitored['model']}**: {monitored['alerts']} monitoring alert(s) on {monitored['current']} "
               f"(report {monitored['report_id']}; see Monitoring).", icon=":material/monitor_heart:")
if overview["pending_approvals"]:
    st.subheader("Waiting for sign-off")
    st.dataframe(pd.DataFrame([{"model": p["model"], "waiting for": ", ".join(p["waiting_for"])}
                               for p in overview["pending_approvals"]]), hide_index=True)
if len(runs):
    with st.expander(f"{len(runs)} run(s) not registered"):
        st.dataframe(runs, hide_index=True)
st.subheader("Audit trail")
checked = audit.verify(lake)
if checked["ok"]:
    st.success(f"The audit chain is intact: {checked['entries']:,} entries, each hash-linked to the one before.")
else:
    at = f" at entry {checked['first_bad']}" if checked["first_bad"] is not None else ""
    st.error(f"The audit chain is broken{at}: {checked['problem']}.")
entries = audit.entries(lake, limit=500)
if entries:
    frame = pd.DataFrame(entries)
    st.altair_chart(charts.audit_timeline(frame))
    st.dataframe(frame.assign(details=frame["details"].map(lambda d: d.get("message", ""))), hide_index=True)
