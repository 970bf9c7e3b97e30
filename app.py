"""Assay: the navigation. Each page appears here only when its capability works."""
import streamlit as st

from ui import state

st.set_page_config(page_title="Assay", page_icon=":material/verified:", layout="wide")
instead = state.gate()
if instead is not None:  # sign in first, or a refusal: no navigation, no pages
    st.navigation([st.Page(instead, title="Assay", url_path="sign-in")], position="hidden").run()
    st.stop()
state.ensure_demo()
navigation = st.navigation({
    "Data": [
        st.Page("pages/explorer.py", title="Data explorer", icon=":material/query_stats:", default=True),
        st.Page("pages/datasets.py", title="Datasets", icon=":material/database:"),
        st.Page("pages/usecases.py", title="Use cases", icon=":material/flag:"),
        st.Page("pages/build_features.py", title="Build features", icon=":material/construction:"),
        st.Page("pages/feature_store.py", title="Feature store", icon=":material/inventory_2:"),
    ],
    "Model": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/compare.py", title="Compare runs", icon=":material/compare_arrows:"),
    ],
    "Responsible AI": [
        st.Page("pages/reviews.py", title="Reviews", icon=":material/fact_check:"),
        st.Page("pages/explainability.py", title="Explainability", icon=":material/lightbulb:"),
        st.Page("pages/error_analysis.py", title="Error analysis", icon=":material/troubleshoot:"),
        st.Page("pages/model_overview.py", title="Model overview", icon=":material/monitoring:"),
        st.Page("pages/fairness.py", title="Fairness", icon=":material/balance:"),
        st.Page("pages/counterfactuals.py", title="Counterfactuals & what-if", icon=":material/alt_route:"),
        st.Page("pages/causal.py", title="Causal analysis", icon=":material/account_tree:"),
        st.Page("pages/privacy.py", title="Privacy", icon=":material/shield_person:"),
        st.Page("pages/meeting.py", title="Review meeting", icon=":material/groups:"),
        st.Page("pages/side_by_side.py", title="Side by side", icon=":material/splitscreen:"),
    ],
    "Governance": [
        st.Page("pages/models.py", title="Model registry", icon=":material/inventory:"),
        st.Page("pages/catalog.py", title="Catalog", icon=":material/storefront:"),
        st.Page("pages/lifecycle.py", title="Lifecycle", icon=":material/timeline:"),
    ],
    "Operations": [
        st.Page("pages/operations.py", title="Scoring & monitoring", icon=":material/speed:"),
        st.Page("pages/monitoring.py", title="Monitoring", icon=":material/monitor_heart:"),
    ],
}, expanded=True)  # every page in sight: reviewers move between them all the time
state.usecase_picker()
state.identity_sidebar()
navigation.run()
