"""Catalog: every registered model and feature set of the organisation, searchable and filterable,
with a model's card, lineage graph and history."""
import pandas as pd
import streamlit as st

from core.governance import catalog, registry
from ui import charts, state

state.ensure_app_shell()
st.title("Catalog")
lake = state.lake()
a, b, c, d = st.columns([2, 1, 1, 1])
text = a.text_input("Search names, descriptions, tags and owners", key="catalog_text")
kind = b.selectbox("Kind", [None, "model", "feature_set"], key="catalog_kind",
                   format_func=lambda k: {"model": "models", "feature_set": "feature sets"}.get(k, "everything"))
task = c.selectbox("Task", [None, "binary", "multiclass", "regression", "timeseries"], key="catalog_task",
                   format_func=lambda t: t or "any task")
status = d.selectbox("Status", [None, "champion", "challenger", "registered", "published"], key="catalog_status",
                     format_func=lambda s: s or "any status")
everywhere = st.toggle("Every use case", value=True, key="catalog_everywhere")
items = catalog.search(lake, text=text, kind=kind, task=task, status=status,
                       usecase=None if everywhere else state.usecase())
if not items:
    st.info("Nothing matches. Register models on the Model registry page and publish feature sets on Build features.")
    st.stop()
st.dataframe(pd.DataFrame([{**i, "owners": ", ".join(i["owners"]), "tags": ", ".join(i["tags"]),
                            "status": ", ".join(i["status"])} for i in items]), hide_index=True)
models = [i["name"] for i in items if i["kind"] == "model"]
if models:
    name = st.selectbox("Open a model", models, key="catalog_open")
    versions = registry.versions(lake, name)
    newest = versions[-1]
    st.subheader(f"{newest.ref}" + (f" [{', '.join(newest.aliases)}]" if newest.aliases else ""))
    card = newest.card
    st.markdown(f"**Purpose:** {card.get('purpose') or '(not filled in)'}  \n"
                f"**Intended use:** {card.get('intended_use') or '(not filled in)'}  \n"
                f"**Limitations:** {card.get('limitations') or '(not filled in)'}")
    st.graphviz_chart(charts.model_lineage_dot(registry.lineage(lake, newest.ref)))
    st.dataframe(pd.DataFrame([{"version": v.version, "aliases": ", ".join(v.aliases), "gate": v.gate.get("status"),
                                "run": v.run_id, "registered by": v.created_by, "at": v.created_at} for v in versions]),
                 hide_index=True)
    history = registry.history(lake, name)
    if history:
        st.altair_chart(charts.audit_timeline(pd.DataFrame(history)))
