"""Feature store: find feature sets, read their spec, lineage and statistics, preview rows."""
import streamlit as st

from core.data import datasets
from core import features
from ui import charts, state

state.ensure_app_shell()
st.title("Feature store")
lake, usecase = state.lake(), state.usecase()
left, right = st.columns([3, 1], vertical_alignment="bottom")
search = left.text_input("Search", key="store_search", placeholder="name, description, owner or feature")
everywhere = right.toggle("All use cases", key="store_everywhere")
found = features.latest(lake, usecase=None if everywhere else usecase, search=search)
if not found:
    st.info("No feature set matches." if search else f"No feature sets in **{usecase}** yet.")
    st.page_link("pages/build_features.py", label="Build one", icon=":material/construction:")
    st.stop()
st.dataframe([{"feature set": f.name, "newest": f"v{f.version}", "use case": f.usecase, "entity": f.entity,
               "features": len(f.features), "rows": f.rows, "label": f.label or "", "owner": f.owner,
               "description": f.description, "built": f.created_at} for f in found], hide_index=True)

names = [f.name for f in found]
if st.session_state.get("store_selected") not in names:
    st.session_state["store_selected"] = names[0]
name = st.selectbox("Feature set", names, key="store_selected")
history = features.versions(lake, name)
number = st.selectbox("Version", [v.version for v in history], key=f"store_version_{name}", format_func=lambda n: f"v{n}")
chosen = next(v for v in history if v.version == number)
a, b, c, d = st.columns(4)
a.metric("Rows", f"{chosen.rows:,}")
b.metric("Features", len(chosen.features))
c.metric("Entity", chosen.entity, help=f"timestamp: {chosen.timestamp or 'none'}; label: {chosen.label or 'none'}")
d.metric("Built", f"{chosen.created_at:%Y-%m-%d}", help=f"by {chosen.owner}, snapshot {chosen.snapshot}")
if chosen.description:
    st.write(chosen.description)
stats_tab, spec_tab, lineage_tab, preview_tab = st.tabs(["Features", "Spec", "Lineage", "Preview"])
with stats_tab:
    st.dataframe(features.statistics_profile(chosen).table(), hide_index=True)
with spec_tab:
    st.code(chosen.spec.to_yaml(), language="yaml")
with lineage_tab:
    st.graphviz_chart(charts.lineage_dot(chosen.ref, chosen.lineage))
    st.dataframe(list(chosen.lineage), hide_index=True)
with preview_tab:
    st.dataframe(datasets.read_frame(lake, chosen, limit=100), hide_index=True)
