"""Assay: the navigation. Each page appears here only when its capability works."""
from pathlib import Path

import streamlit as st

from ui import state

PAGES = {  # section: (script, title, icon); the first page is the default
    "Data": [
        ("pages/explorer.py", "Data explorer", ":material/query_stats:"),
        ("pages/datasets.py", "Datasets", ":material/database:"),
        ("pages/usecases.py", "Use cases", ":material/flag:"),
        ("pages/build_features.py", "Build features", ":material/construction:"),
        ("pages/feature_store.py", "Feature store", ":material/inventory_2:"),
    ],
    "Model": [
        ("pages/train.py", "Train", ":material/model_training:"),
        ("pages/compare.py", "Compare runs", ":material/compare_arrows:"),
    ],
    "Responsible AI": [
        ("pages/reviews.py", "Reviews", ":material/fact_check:"),
        ("pages/explainability.py", "Explainability", ":material/lightbulb:"),
        ("pages/error_analysis.py", "Error analysis", ":material/troubleshoot:"),
        ("pages/model_overview.py", "Model overview", ":material/monitoring:"),
        ("pages/fairness.py", "Fairness", ":material/balance:"),
        ("pages/counterfactuals.py", "Counterfactuals & what-if", ":material/alt_route:"),
        ("pages/causal.py", "Causal analysis", ":material/account_tree:"),
        ("pages/privacy.py", "Privacy", ":material/shield_person:"),
        ("pages/validation.py", "Validation checks", ":material/rule:"),
        ("pages/meeting.py", "Review meeting", ":material/groups:"),
        ("pages/side_by_side.py", "Side by side", ":material/splitscreen:"),
    ],
    "Governance": [
        ("pages/models.py", "Model registry", ":material/inventory:"),
        ("pages/catalog.py", "Catalog", ":material/storefront:"),
        ("pages/lifecycle.py", "Lifecycle", ":material/timeline:"),
        ("pages/accounts.py", "Accounts", ":material/manage_accounts:"),
    ],
    "Operations": [
        ("pages/operations.py", "Scoring & monitoring", ":material/speed:"),
        ("pages/monitoring.py", "Monitoring", ":material/monitor_heart:"),
    ],
}
DEFAULT = PAGES["Data"][0][0]

st.set_page_config(page_title="Assay", page_icon=":material/verified:", layout="wide")
instead = state.gate()
if instead is not None:  # sign in first, or a refusal: no navigation, no pages
    # Every page's address answers with the sign-in, so a deep link (/models?model=...) is no "Page not found"
    # and, once signed in, the same address opens the page it named.
    st.navigation([st.Page(instead, title="Assay", default=script == DEFAULT,
                           url_path="sign-in" if script == DEFAULT else Path(script).stem)
                   for section in PAGES.values() for script, _, _ in section], position="hidden").run()
    st.stop()
state.ensure_demo()
navigation = st.navigation({
    section: [st.Page(script, title=title, icon=icon, default=script == DEFAULT) for script, title, icon in pages]
    for section, pages in PAGES.items()
}, expanded=True)  # every page in sight: reviewers move between them all the time
state.usecase_picker()
state.identity_sidebar()
navigation.run()
