"""Build features: pick a base dataset, keep columns, derive expressions, aggregate related
tables over time windows, preview 100 rows live, then materialize and register."""
import streamlit as st

from core.data import datasets
from core import features
from core.data.profile import column_kind
from ui import state

state.ensure_app_shell()
st.title("Build features")
lake, usecase = state.lake(), state.usecase()
available = datasets.latest(lake, usecase=usecase)
if not available:
    st.info(f"Use case **{usecase}** has no datasets to build from yet.")
    st.page_link("pages/datasets.py", label="Add a dataset", icon=":material/upload:")
    st.stop()
by_name = {v.name: v for v in available}
AGGS = "build_aggregates"
st.session_state.setdefault(AGGS, [])

form_tab, yaml_tab = st.tabs(["Form", "Spec (YAML or JSON)"])
with form_tab:
    left, right = st.columns(2)
    name = left.text_input("Feature set name", key="build_name", placeholder="applicant_features")
    description = right.text_input("Description", key="build_description")
    base = by_name[left.selectbox("Base dataset (one row per entity or event)", list(by_name), key="build_base")]
    temporal = [c.name for c in base.columns if column_kind(c.type) == "temporal"]
    entity = right.selectbox("Entity key", base.column_names, key=f"build_entity_{base.name}")
    timestamp = left.selectbox("Timestamp (makes aggregates point-in-time)", [None, *temporal],
                               key=f"build_ts_{base.name}", index=1 if temporal else 0, format_func=lambda c: c or "none")
    label = right.selectbox("Label (target, carried along)", [None, *base.column_names], key=f"build_label_{base.name}",
                            format_func=lambda c: c or "none")
    kept = st.multiselect("Columns kept as they are", [c for c in base.column_names if c not in (entity, timestamp, label)],
                          key=f"build_columns_{base.name}")
    derived_text = st.text_area("Derived columns, one per line: name = SQL expression over base columns",
                                key="build_derived", placeholder="debt_to_income = debt / nullif(income, 0)")

    st.markdown("**Aggregates from related datasets**, per entity, only over events before each base timestamp")
    a1, a2, a3 = st.columns(3)
    source = by_name[a1.selectbox("Source", list(by_name), key="agg_source")]
    s_temporal = [c.name for c in source.columns if column_kind(c.type) == "temporal"]
    s_entity = a2.selectbox("Source entity key", source.column_names, key=f"agg_entity_{source.name}",
                            index=source.column_names.index(entity) if entity in source.column_names else 0)
    s_ts = a3.selectbox("Source timestamp", [None, *s_temporal], key=f"agg_ts_{source.name}",
                        index=1 if s_temporal else 0, format_func=lambda c: c or "none")
    b1, b2, b3, b4 = st.columns([2, 3, 2, 1], vertical_alignment="bottom")
    value = b1.selectbox("Column", [c for c in source.column_names if c not in (s_entity, s_ts)], key=f"agg_col_{source.name}")
    functions = b2.multiselect("Functions", sorted(features.FUNCTIONS), default=["count", "sum", "avg"], key="agg_functions")
    window = b3.text_input("Window", value="90 days", key="agg_window", help="e.g. 30 days, 12 hours, 6 months; empty: all history")
    if b4.button("Add", key="agg_add"):
        st.session_state[AGGS].append({"source": source.name, "entity": s_entity, "timestamp": s_ts, "column": value,
                                       "functions": functions, **({"window": window} if window.strip() else {})})
    for index, agg in enumerate(st.session_state[AGGS]):
        c1, c2 = st.columns([8, 1], vertical_alignment="center")
        c1.caption(f"{', '.join(agg['functions'])} of {agg['source']}.{agg['column']} over {agg.get('window', 'all history')}")
        if c2.button("Remove", key=f"agg_remove_{index}"):
            st.session_state[AGGS].pop(index)
            st.rerun()

    spec = None
    with state.user_errors():
        spec = features.spec_from_dict({
            "name": name or "unnamed", "description": description, "base": base.name, "entity": entity,
            "timestamp": timestamp, "columns": kept, "derived": features.parse_derived_lines(derived_text),
            "aggregates": [{k: v for k, v in a.items() if v is not None} for a in st.session_state[AGGS]],
            "label": label, "usecase": usecase})
with yaml_tab:
    use_yaml = st.session_state.get("build_use_yaml", False)
    if spec is not None and not use_yaml:
        st.session_state["build_yaml"] = spec.to_yaml()  # the text follows the form until it is used instead
    text = st.text_area("Spec", height=360, key="build_yaml",
                        help="Edit here for joins and as-of joins; `python -m core features build FILE` takes the same text.")
    st.toggle("Use this text instead of the form", key="build_use_yaml")
    if use_yaml:
        spec = None
        with state.user_errors():
            spec = features.load_spec(text)

if spec is not None:
    st.subheader(f"Preview of {spec.name}: first 100 rows, computed live (stopped after "
                 f"{lake.config.query_seconds:g} s)")
    with state.user_errors():
        st.dataframe(features.preview(lake, spec, rows=100), hide_index=True)
        if st.button("Build and register", type="primary", key="build_go",
                     disabled=(not name and not use_yaml) or not state.can("build")):
            built = state.run_with_status(
                f"Building {spec.name}…", lambda progress: features.build(lake, spec, actor=state.actor(),
                                                                          usecase=usecase, progress=progress),
                lambda v: f"Registered {v.ref}: {v.rows:,} rows, {len(v.features)} features")
            if built:
                st.success(f"Registered **{built.ref}**. See it in the Feature store.")
                st.session_state["store_selected"] = built.name
        if not state.can("build"):
            st.caption(f"Anyone may preview; building needs an analyst or admin ({state.actor()} is a {state.role()}).")
