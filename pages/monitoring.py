"""Monitoring: per model, performance estimated without labels (and realized where they arrived) per chunk,
with bands, thresholds and alerts; multivariate drift; the drifted features of a chunk against the reference;
retraining from an alert."""
import streamlit as st

from core import monitoring
from core.governance import registry
from ui import monitoring_charts as charts, state

state.ensure_app_shell()
st.title("Monitoring")
lake, usecase = state.lake(), state.usecase()
models = registry.list_models(lake, usecase=usecase)
if not models:
    st.info(f"No registered models in **{usecase}** yet: register one on the Model registry page.")
    st.stop()
name = st.selectbox("Model", [m["name"] for m in models], key="mon_model")
reports = monitoring.reports(lake, model=name)
with st.expander("Monitor a dataset", expanded=not reports):
    a, b, c = st.columns(3)
    aliases = sorted(next(m for m in models if m["name"] == name)["aliases"])
    model_ref = a.selectbox("Version or alias", [f"{name}@{x}" for x in aliases] +
                            [f"{name}@{v.version}" for v in registry.versions(lake, name)], key=f"mon_ref_{name}")
    current = state.dataset_picker("mon_current")
    size = b.number_input("Rows per chunk", min_value=monitoring.MIN_CHUNK_ROWS, value=2_000, step=500, key="mon_size")
    if c.button("Monitor", type="primary", key="mon_go", disabled=not state.can("monitor")):
        state.run_with_status("Monitoring…", lambda progress: monitoring.monitor(
            lake, model_ref, current=current.ref, actor=state.actor(), chunk_size=int(size), progress=progress),
            lambda r: f"Report {r['report_id']}: {len(r['chunks'])} chunk(s), {r['alerts']} alert(s)")
        reports = monitoring.reports(lake, model=name)
if not reports:
    st.info(f"No monitoring report for **{name}** yet.")
    st.stop()
chosen = st.selectbox("Report", [r["report_id"] for r in reports], key=f"mon_report_{name}",
                      format_func=lambda i: next(f"{r['created_at']:%Y-%m-%d %H:%M} · {r['model']}@{r['model_version']} "
                                                 f"on {r['current']} · {r['alerts']} alert(s) · {i[-6:]}" for r in reports
                                                 if r["report_id"] == i))
report = monitoring.get(lake, chosen)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Method", report["method"].upper())
m2.metric("Chunks", len(report["chunks"]))
m3.metric("Alerts", report["alerts"])
m4.metric("Reference chunks", len(report["reference_chunks"]))
for warning in report.get("warnings", []):
    st.warning(warning)
if report["metrics"]:
    metric = st.selectbox("Metric", report["metrics"], key="mon_metric")
    st.altair_chart(charts.performance(monitoring.timeline(report, metric), metric))
st.altair_chart(charts.drift(monitoring.drift_timeline(report)))
alerts = monitoring.alerts_table(report)
st.subheader("Alerts")
if len(alerts):  # every alert in one table; the picked chunk's alerts are said in full below
    st.dataframe(alerts.drop(columns="alert_id"), hide_index=True,
                 column_config={"message": st.column_config.TextColumn("message", width="large")})
else:
    st.success("No alert: every chunk stayed inside the reference's thresholds.")
st.subheader("One chunk: its alerts and drifted features")
labels = {c["chunk"]: f"chunk {c['chunk']} · {c['start']} · {len(c['alerts'])} alert(s)" for c in report["chunks"]}
first_alerted = next((c["chunk"] for c in report["chunks"] if c["alerts"]), report["chunks"][0]["chunk"])
picked = st.selectbox("Chunk", list(labels), index=list(labels).index(first_alerted), format_func=labels.get,
                      key=f"mon_chunk_{chosen}")
chunk = next(c for c in report["chunks"] if c["chunk"] == picked)
for alert in chunk["alerts"]:
    st.markdown(f"- {alert['message']}")
drifted = chunk["drift"]["features_drifted"]
st.markdown(f"**Drifted**: {', '.join(drifted)}." if drifted else "No feature drifted in this chunk; "
            "the ones that moved most are shown.")
shown = monitoring.distributions(chunk)
columns = st.columns(2)
for i, feature in enumerate(dict.fromkeys(shown["feature"]) if len(shown) else []):
    columns[i % 2].altair_chart(charts.distributions(shown, feature))
if len(alerts):
    st.subheader("Act on an alert")
    alert_id = st.selectbox("Alert", list(alerts["alert_id"]), key=f"mon_alert_{chosen}",
                            format_func=lambda i: alerts.set_index("alert_id").loc[i, "message"])
    if st.button(f"Retrain {name} from this alert", key="mon_retrain", disabled=not state.can("retrain")):
        state.run_with_status("Retraining…", lambda progress: monitoring.retrain_from_alert(
            lake, alert_id, actor=state.actor(), progress=progress),
            lambda r: f"{r['model']} registered as challenger: gate {r['gate']['status']}")
