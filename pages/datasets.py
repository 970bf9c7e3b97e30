"""Datasets: upload or point at a file, ingest it as a new version, and browse versions."""
from pathlib import Path

import streamlit as st

from core.data import datasets, demo
from core.lake import scratch
from core.names import suggest_name
from ui import state

state.ensure_app_shell()
st.title("Datasets")
lake, usecase = state.lake(), state.usecase()
st.caption(f"Use case **{usecase}**. Every ingest of a name is a new version; earlier versions stay readable.")


def ingest(run) -> None:
    version = state.run_with_status("Ingesting…", run, lambda v: f"Ingested {v.rows:,} rows as {v.ref}")
    if version:
        st.success(f"Ingested {version.rows:,} rows as {version.ref}. The Data explorer now shows it.")
        # Not the explorer's widget key: Streamlit forgets a widget's state on a page where it is not drawn.
        st.session_state["explorer_pending_dataset"] = version.name
        st.session_state["datasets_history"] = version.name


def suggest(source_key: str, name_key: str) -> None:
    """Propose a dataset name from the chosen file's name (the user can still change it)."""
    chosen = st.session_state.get(source_key)
    text = getattr(chosen, "name", chosen) or ""
    st.session_state[name_key] = suggest_name(Path(text).name) if text else ""


upload_tab, path_tab, sample_tab = st.tabs(["Upload a file", "From a path", "Samples"])
with upload_tab:
    upload = st.file_uploader("CSV, TSV, Parquet, JSON lines or DuckDB file", key="upload_file",
                              on_change=suggest, args=("upload_file", "upload_name"))
    name = st.text_input("Dataset name", key="upload_name", help="lowercase letters, digits and underscores")
    table = st.text_input("Table (DuckDB files only)", key="upload_table")
    note = st.text_input("Description", key="upload_note")
    if st.button("Ingest upload", type="primary", disabled=upload is None or not state.can("ingest"),
                 key="upload_go"):
        # under the lake's own scratch area (LAKE/tmp/, owned by this process, swept if it is killed), never the
        # system's /tmp; removed when the ingest ends, whether it succeeded or failed
        with scratch.spool(lake.config.folder, "upload") as folder:
            path = Path(folder) / Path(upload.name).name
            path.write_bytes(upload.getbuffer())
            ingest(lambda progress: datasets.ingest_path(
                lake, path, name=name, actor=state.actor(), usecase=usecase, table=table or None,
                description=note, source_label=f"upload: {upload.name}", progress=progress))
with path_tab:
    path_text = st.text_input("Path of a file on this machine", key="path_file",
                              on_change=suggest, args=("path_file", "path_name"))
    path_name = st.text_input("Dataset name", key="path_name")
    path_table = st.text_input("Table (DuckDB files only)", key="path_table")
    if st.button("Ingest file", type="primary", disabled=not path_text or not state.can("ingest"), key="path_go"):
        ingest(lambda progress: datasets.ingest_path(lake, path_text, name=path_name, actor=state.actor(),
                                                     usecase=usecase, table=path_table or None, progress=progress))
with sample_tab:
    st.markdown("**Credit demo**: synthetic applications with a planted disparity, treatment effect, "
                "noisy cohort and drift (see the README). **IHDP**: the real randomized-trial sample shipped with econml.")
    rows = st.number_input("Demo applications", 1_000, demo.MAX_ROWS, 50_000, step=10_000, key="demo_rows")
    left, right = st.columns(2)
    if left.button("Rebuild the credit demo", key="demo_go"):
        state.run_with_status("Generating the demo…",
                              lambda progress: demo.build(lake, rows=int(rows), actor=state.actor(), progress=progress),
                              lambda truths: f"Demo rebuilt: {', '.join(truths['datasets'].values())}")
    if right.button("Add the IHDP sample", key="ihdp_go"):
        with right, st.spinner("Adding the IHDP sample…"), state.user_errors():
            version = demo.ingest_ihdp(lake, actor=state.actor())
            st.success(f"Ingested {version.rows:,} rows as {version.ref} in use case ihdp_trial.")

st.subheader("In this use case")
latest = datasets.latest(lake, usecase=usecase)
if not latest:
    st.info("No datasets yet: upload one above.")
    st.stop()
st.dataframe([{"dataset": v.name, "newest": f"v{v.version}", "rows": v.rows, "columns": len(v.columns),
               "source": v.source, "ingested": v.created_at, "by": v.created_by} for v in latest],
             hide_index=True, column_config={"rows": st.column_config.NumberColumn(format="localized")})
chosen = st.selectbox("Versions of", [v.name for v in latest], key="datasets_history")
for v in datasets.versions(lake, chosen):
    with st.expander(f"{v.ref}: {v.rows:,} rows, {len(v.columns)} columns, {v.created_at:%Y-%m-%d %H:%M} by {v.created_by}"):
        st.write(f"Source: `{v.source}` ({v.source_kind}); digest `{v.digest[:23]}…`; snapshot {v.snapshot}")
        if v.description:
            st.write(v.description)
        st.dataframe([{"column": c.name, "type": c.type} for c in v.columns], hide_index=True)
