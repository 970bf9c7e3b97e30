"""Responsible-AI reviews: persisted evaluations of one model on one dataset version.

`create` opens the run once (its model hash-checked once), reads and scores its evaluation rows once, and
hands both to one runner per component (overview, explain, errors, fairness, counterfactuals, causal,
privacy), which compose the analyses of core.analysis; results, timings and the per-row tables are saved in
one write. Pages browse what was saved; the live reads (a cohort, one row, a tree with other settings) are
small SQL reads over it. core.review_views draws the saved results."""
from core.review._errors import error_tree, heatmap, top_cohorts
from core.review._store import (COMPONENTS, DEFAULT_COMPONENTS, Review, cohort_importance, cohort_metrics, create, delete, dependence,
                                error_heatmap, error_tree_live, evaluation_frame, explained_row_ids, get, list_reviews, local_explanation,
                                recompute, results)

__all__ = ["COMPONENTS", "DEFAULT_COMPONENTS", "Review", "cohort_importance", "cohort_metrics", "create", "delete", "dependence",
           "error_heatmap", "error_tree", "error_tree_live", "evaluation_frame", "explained_row_ids", "get", "heatmap", "list_reviews", "local_explanation", "recompute",
           "results", "top_cohorts"]
