"""Data explorer: profile, distributions, target balance, correlations and rows of a dataset version."""
import streamlit as st

from core.data import cohorts, datasets
from core import export
from core.data import profile as core_profile
from ui import cached, charts, state
from ui.cohort_builder import cohort_builder

state.ensure_app_shell()
st.title("Data explorer")
lake, usecase = state.lake(), state.usecase()
folder = str(lake.config.folder)
latest = datasets.latest(lake, usecase=usecase)
if not latest:
    st.info(f"Use case **{usecase}** has no datasets yet.")
    st.page_link("pages/datasets.py", label="Add a dataset", icon=":material/upload:")
    st.stop()

left, middle, right = st.columns([3, 2, 3])
if st.session_state.get("explorer_pending_dataset") in [v.name for v in latest]:  # just ingested on the Datasets page
    st.session_state["explorer_dataset"] = st.session_state.pop("explorer_pending_dataset")
name = left.selectbox("Dataset", [v.name for v in latest], key="explorer_dataset")
history = datasets.versions(lake, name)
number = middle.selectbox("Version", [v.version for v in history], key=f"explorer_version_{name}",
                          format_func=lambda n: f"v{n}" + (" (newest)" if n == history[0].version else ""))
version = next(v for v in history if v.version == number)
saved = {c.name: c for c in cohorts.list_cohorts(lake, usecase=usecase, dataset=name)}
if st.session_state.get("explorer_pending_cohort", ("",))[0] == name:  # just saved by the cohort builder
    st.session_state[f"explorer_cohort_{name}"] = st.session_state.pop("explorer_pending_cohort")[1]
linked = st.query_params.get("cohort")
if linked in saved and st.session_state.get("_cohort_link_used") != linked:  # ?cohort=NAME opens that cohort
    st.session_state["_cohort_link_used"] = linked
    st.session_state[f"explorer_cohort_{name}"] = linked
chosen = right.selectbox("Rows", ["All rows", *saved], key=f"explorer_cohort_{name}")
cohort = saved.get(chosen)
if cohort:
    st.query_params["cohort"] = st.session_state["_cohort_link_used"] = chosen
elif "cohort" in st.query_params:
    del st.query_params["cohort"]

with state.user_errors():
    where, params = cached.cohort_filter(version, cohort)
    profile = cached.dataset_profile(folder, version.ref, version.snapshot, where, params, chosen)
    if cohort:
        st.caption(f"Cohort **{cohort.name}**: {cohorts.describe(cohort.conditions)}")
    cells = profile.rows * len(profile.columns)
    a, b, c, d = st.columns(4)
    a.metric("Rows", f"{profile.rows:,}", help=f"of {version.rows:,} in {version.ref}" if cohort else None)
    b.metric("Columns", f"{len(profile.columns):,}")
    c.metric("Missing cells", f"{sum(col.missing for col in profile.columns) / cells:.1%}" if cells else "–")
    d.metric("Version", f"v{version.version}", help=f"snapshot {version.snapshot}, {version.created_at:%Y-%m-%d %H:%M} by {version.created_by}")
    if profile.approximate:
        st.caption("Above 1M rows, distinct counts and quantiles are estimates; counts and missing values are exact.")

    # wide tables: one page of columns at a time (the profile and the rows), found by name
    find, pick = st.columns([3, 2], vertical_alignment="bottom")
    search = find.text_input("Find columns", key=f"explorer_search_{name}", placeholder="part of a column name")
    page_key = f"explorer_page_{name}_{search}"
    page = core_profile.column_page([c.name for c in profile.columns], search=search,
                                    page=st.session_state.get(page_key, 1))
    pick.selectbox("Columns page", range(1, page.pages + 1), key=page_key, format_func=lambda n: f"{n} of {page.pages}",
                   disabled=page.pages == 1)
    if page.columns:
        st.caption(f"Columns {page.first:,} to {page.first + len(page.columns) - 1:,} of {page.matches:,}"
                   + (f" matching “{search}”" if search.strip() else ""))
    else:
        st.caption(f"No column name contains “{search}”.")
    ids = profile.identifiers()
    overview, distribution, balance, correlation, rows, cohort_tab = st.tabs(
        ["Profile", "Distributions", "Target balance", "Correlations", "Rows", "Cohorts"])
    with overview:
        st.dataframe(profile.table(page.columns), hide_index=True, height=36 * (len(page.columns) + 1) + 4,
                     column_config={"missing %": st.column_config.ProgressColumn("missing %", min_value=0,
                                                                                 max_value=100, format="%.1f%%")})
    with distribution:
        columns = [c for c in version.column_names if c not in ids] + ids  # identifiers last
        column = st.selectbox("Column", columns, key=f"explorer_hist_{name}")
        col_profile = profile.column(column)
        bins = st.slider("Bins", 5, 100, 30, key="explorer_bins") if col_profile.kind in ("numeric", "temporal") else 30
        frame = cached.histogram(folder, version.ref, version.snapshot, column, bins, where, params)
        if frame.empty:
            st.info(f"{column} has no values in these rows.")
        else:
            st.altair_chart(charts.histogram(frame, column))
        st.caption(f"{col_profile.missing:,} missing ({col_profile.missing_share:.1%}), "
                   f"{col_profile.distinct:,} distinct values, type {col_profile.type}")
    with balance:
        small = [c.name for c in profile.columns if c.distinct is not None and 1 < c.distinct <= 20]
        if not small:
            st.info("No column has between 2 and 20 distinct values to serve as a target.")
        else:
            default_target = small.index("defaulted") if "defaulted" in small else 0
            t_col, g_col = st.columns(2)
            target = t_col.selectbox("Target", small, index=default_target, key=f"explorer_target_{name}")
            groups = [c.name for c in profile.columns if c.name != target and c.name not in ids
                      and c.kind in ("categorical", "boolean", "numeric")]
            group = g_col.selectbox("Group by", groups, key=f"explorer_group_{name}")
            frame = cached.target_balance(folder, version.ref, version.snapshot, target, group, where, params)
            st.altair_chart(charts.target_balance(frame, target, group))
            st.dataframe(frame, hide_index=True, column_config={"share": st.column_config.NumberColumn(format="percent")})
    with correlation:
        frame = cached.correlations(folder, version.ref, version.snapshot, where, params, tuple(ids))
        if frame.empty:
            st.info("Correlations need at least two numeric columns.")
        else:
            st.altair_chart(charts.correlation_heatmap(frame))
    with rows:
        shown = datasets.read_frame(lake, version, limit=100, where=where, params=list(params))[list(page.columns)]
        st.dataframe(shown, hide_index=True)
        st.download_button("Download these rows (CSV, safe to open in a spreadsheet)", export.safe_csv(shown),
                           f"{version.name}_v{version.version}_rows.csv", "text/csv", key="explorer_rows_csv")
        st.caption("The first 100 rows, in the columns of the page chosen above.")
    with cohort_tab:
        cohort_builder(lake, version, usecase)
