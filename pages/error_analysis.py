"""Error analysis: a shallow tree over the model's errors on every evaluated row, its cohorts
(saved for every page with one click) and error-rate heat maps."""
import pandas as pd
import streamlit as st

from core.data import cohorts, datasets
from core import review, training
from ui import charts, state
from ui.pin import pin_widget
from ui.review_picker import review_component

state.ensure_app_shell()
st.title("Error analysis")
lake, usecase = state.lake(), state.usecase()
current, results = review_component(lake, usecase, "errors")
stored = results["errors"]
a, b, c = st.columns(3)
depth = a.slider("Depth", 1, 6, stored["max_depth"], key="errors_depth")
leaves = b.slider("Leaves", 2, 32, stored["max_leaf_nodes"], key="errors_leaves")
min_leaf = c.number_input("Minimum rows per leaf", 1, 100_000, stored["min_samples_leaf"], key="errors_min_leaf")
same = (depth, leaves, min_leaf) == (stored["max_depth"], stored["max_leaf_nodes"], stored["min_samples_leaf"])
tree = stored if same else review.error_tree_live(lake, current, max_depth=depth, max_leaf_nodes=leaves,
                                                  min_samples_leaf=int(min_leaf))
st.metric("Error rate, all rows" if not stored["regression"] else "Mean absolute error, all rows",
          f"{tree['overall_error_rate']:.2%}" if not stored["regression"] else f"{tree['overall_error_rate']:,.4g}",
          help=f"{tree['rows']:,} rows, {tree['total_errors']:,.0f} errors")
st.graphviz_chart(charts.error_tree_dot(tree))
nodes = pd.DataFrame(tree["nodes"])
st.dataframe(nodes[["id", "filter", "rows", "error_rate", "coverage", "leaf"]].sort_values("error_rate", ascending=False),
             hide_index=True, column_config={"error_rate": st.column_config.NumberColumn(format="percent"),
                                             "coverage": st.column_config.NumberColumn(format="percent")})
left, right = st.columns([1, 2], vertical_alignment="bottom")
node_id = left.selectbox("Node", [n["id"] for n in tree["nodes"] if n["conditions"]], key="errors_node",
                         format_func=lambda i: f"{i}: {next(n['filter'] for n in tree['nodes'] if n['id'] == i)}")
name = right.text_input("Save this node as cohort", key="errors_cohort_name", placeholder="high_error_cohort")
if st.button("Save cohort", key="errors_save", type="primary"):
    node = next(n for n in tree["nodes"] if n["id"] == node_id)
    with state.user_errors():
        saved = cohorts.save(lake, name, dataset=current.dataset_name, conditions=cohorts.conditions_from(node["conditions"]),
                             actor=state.actor(), usecase=usecase, description=f"error analysis of review {current.review_id}",
                             columns=datasets.get(lake, current.dataset_name).column_names if current.dataset_kind == "dataset" else None)
        st.success(f"Saved cohort **{saved.name}**: {cohorts.describe(saved.conditions)}. Every page can filter by it.")

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
heat = (persisted if [first, second] == stored["heatmap_features"][:2] and "conditions" in persisted
        else review.error_heatmap(lake, current, first, second))
st.altair_chart(charts.error_heatmap(heat.drop(columns="conditions"), first, second))
cells = heat.sort_values("error_rate", ascending=False).reset_index(drop=True)
describe_cell = lambda i: (f"{cells.loc[i, 'first']}" + (f" · {cells.loc[i, 'second']}" if second else "")
                           + f": {cells.loc[i, 'error_rate']:.1%} of {cells.loc[i, 'rows']:,} rows")
left, right = st.columns([1, 2], vertical_alignment="bottom")
cell = left.selectbox("Cell", list(cells.index), format_func=describe_cell, key="errors_cell")
cell_name = right.text_input("Save this cell as cohort", key="errors_cell_name", placeholder="high_error_cell")
if st.button("Save cell cohort", key="errors_cell_save"):
    with state.user_errors():
        saved = cohorts.save(lake, cell_name, dataset=current.dataset_name, actor=state.actor(), usecase=usecase,
                             conditions=cohorts.conditions_from(cells.loc[cell, "conditions"]),
                             description=f"error heat map of review {current.review_id}")
        st.success(f"Saved cohort **{saved.name}**: {cohorts.describe(saved.conditions)}.")

pin_widget(current.review_id, "errors", {"top_cohort": stored["cohorts"][0]["filter"]} if stored.get("cohorts") else {})
