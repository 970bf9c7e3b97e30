"""Error analysis: a shallow tree over the model's errors on every evaluated row (or the sidebar's
cohort), and error-rate heat maps; any node or cell becomes the cohort of every review page in one click."""
import pandas as pd
import streamlit as st

from core.data import cohorts, datasets
from core import review, training
from ui import charts, state
from ui.pin import pin_widget
from ui.review_picker import review_cohort, review_component

state.ensure_app_shell()
st.title("Error analysis")
lake, usecase = state.lake(), state.usecase()
current, results = review_component(lake, usecase, "errors")
cohort, conditions = review_cohort(current.dataset_name, current.dataset_ref)
stored = results["errors"]
columns = datasets.get(lake, current.dataset_name).column_names if current.dataset_kind == "dataset" else None


def use_as_cohort(raw_conditions: list, what: str) -> None:
    """Save the node's or cell's filter as a cohort (named after it) and make it every page's cohort."""
    found = cohorts.conditions_from(raw_conditions)
    with state.user_errors():
        saved = cohorts.save(lake, review.cohort_name(found), dataset=current.dataset_name, conditions=found,
                             actor=state.actor(), usecase=usecase, columns=columns,
                             description=f"{what} of error analysis, review {current.review_id}")
        state.use_cohort(saved.name, f"Cohort **{saved.name}** ({cohorts.describe(saved.conditions)}) now applies "
                                     "to every review page.")


a, b, c = st.columns(3)
depth = a.slider("Depth", 1, 6, stored["max_depth"], key="errors_depth")
leaves = b.slider("Leaves", 2, 32, stored["max_leaf_nodes"], key="errors_leaves")
min_leaf = c.number_input("Minimum rows per leaf", 1, 100_000, stored["min_samples_leaf"], key="errors_min_leaf")
same = (depth, leaves, min_leaf) == (stored["max_depth"], stored["max_leaf_nodes"], stored["min_samples_leaf"])
with state.user_errors():
    tree = stored if same and cohort is None else review.cohort_error_tree(
        lake, current, conditions, max_depth=depth, max_leaf_nodes=leaves, min_samples_leaf=int(min_leaf))
    st.metric("Error rate" if not stored["regression"] else "Mean absolute error",
              f"{tree['overall_error_rate']:.2%}" if not stored["regression"] else f"{tree['overall_error_rate']:,.4g}",
              help=f"{tree['rows']:,} rows, {tree['total_errors']:,.0f} errors" + (f", cohort {cohort.name}" if cohort else ""))
    st.graphviz_chart(charts.error_tree_dot(tree))
    if len(tree["nodes"]) == 1:
        st.caption("The tree found no split on these rows with these settings: fewer rows per leaf may find one.")
    else:
        st.markdown("**Nodes**, worst first: **Use as cohort** makes a node the cohort of every review page.")
    rate = (lambda n: f"{n['error_rate']:.1%}") if not stored["regression"] else (lambda n: f"{n['error_rate']:,.4g}")
    for node in sorted((n for n in tree["nodes"] if n["parent"] >= 0), key=lambda n: -n["error_rate"]):
        left, right = st.columns([6, 1], vertical_alignment="center")
        left.markdown(f"{'Leaf' if node['leaf'] else 'Node'} {node['id']} · **{rate(node)}** error on {node['rows']:,} "
                      f"rows ({node['coverage']:.0%} of errors): {node['filter']}")
        if right.button("Use as cohort", key=f"errors_node_{node['id']}"):
            use_as_cohort(node["conditions"], f"node {node['id']}")

    st.subheader("Heat map")
    h1, h2 = st.columns(2)
    run = training.get(lake, current.run_id)
    options = list(dict.fromkeys(stored["heatmap_features"] + run.feature_names + current.sensitive))
    first = h1.selectbox("Feature", options, key="errors_heat_first")
    seconds = [None, *[o for o in options if o != first]]
    paired = stored["heatmap_features"][1] if len(stored["heatmap_features"]) > 1 else None
    second = h2.selectbox("Second feature", seconds, key="errors_heat_second",
                          index=seconds.index(paired) if paired in seconds else 0, format_func=lambda c: c or "none")
    persisted = pd.DataFrame(stored["heatmap"])
    heat = (persisted if cohort is None and [first, second] == stored["heatmap_features"][:2] and "conditions" in persisted
            else review.cohort_error_heatmap(lake, current, first, second, conditions))
    st.altair_chart(charts.error_heatmap(heat.drop(columns="conditions"), first, second))
    st.markdown("**Cells**, worst first: **Use as cohort** makes a cell the cohort of every review page.")
    cells = heat[heat["rows"] > 0].sort_values("error_rate", ascending=False).reset_index(drop=True)
    for i, cell in cells.head(12).iterrows():
        left, right = st.columns([6, 1], vertical_alignment="center")
        where = " · ".join(f"{column} {label}" if label.startswith("≤") or " to " in label else f"{column} = {label}"
                           for column, label in ((first, cell["first"]), (second, cell.get("second"))) if column)
        left.markdown(f"{where}: **{cell['error_rate']:.1%}** error on {cell['rows']:,} rows")
        if right.button("Use as cohort", key=f"errors_cell_{i}"):
            use_as_cohort(cell["conditions"], f"heat-map cell {where}")

pin_widget(current.review_id, "errors", {"top_cohort": stored["cohorts"][0]["filter"]} if stored.get("cohorts") else {})
