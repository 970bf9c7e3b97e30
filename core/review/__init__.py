"""Responsible-AI reviews: persisted evaluations of one model on one dataset version.

`create` opens the run once (its model hash-checked once), reads and scores its evaluation rows once, and
hands both to one runner per component (overview, explain, errors, fairness, counterfactuals, causal,
privacy), which compose the analyses of core.analysis; results, timings and the per-row tables are saved in
one write. Pages browse what was saved; the live reads (a cohort, one row, a tree with other settings) are
small SQL reads over it. core.review_views draws the saved results."""
# The typed results first: loading the module binds the name `core.review.results`, which the function
# `results` below takes back. Import the classes from here (`from core.review import SensitiveReport`).
from core.review.results import *  # noqa: F401,F403 (its __all__: one dataclass per component, typed_results)
from core.review.results import __all__ as _typed
from core.review._describe import describe_review
from core.review._cohort import (cohort_frame, cohort_name, dependence as cohort_dependence, entity_columns,
                                 error_heatmap as cohort_error_heatmap, error_tree as cohort_error_tree, explained_rows,
                                 importance as cohort_shap_importance, overview as cohort_overview,
                                 partial_dependence as cohort_partial_dependence, row_outcome,
                                 scores as cohort_scores)
from core.review._curves import group_curves, shap_summary
from core.review._errors import error_tree, heatmap, top_cohorts
from core.review._estimate import Estimate, estimate, progress_by_component, running
from core.review._store import (COMPONENTS, DEFAULT_COMPONENTS, Review, cohort_importance, cohort_metrics, create, delete, dependence,
                                error_heatmap, error_tree_live, evaluation_frame, explained_row_ids, get, list_reviews, local_explanation,
                                recompute, results)

__all__ = ["cohort_dependence", "cohort_error_heatmap", "cohort_error_tree", "cohort_frame", "cohort_name",
           "cohort_overview", "cohort_partial_dependence", "cohort_scores", "cohort_shap_importance", "entity_columns",
           "explained_rows", "row_outcome",
           "COMPONENTS", "DEFAULT_COMPONENTS", "Review", "cohort_importance", "cohort_metrics", "create", "delete", "dependence",
           "error_heatmap", "error_tree", "error_tree_live", "evaluation_frame", "explained_row_ids", "get", "heatmap", "list_reviews", "local_explanation", "recompute",
           "results", "running", "estimate", "progress_by_component", "Estimate", "top_cohorts", "group_curves", "shap_summary"]
__all__ += _typed
__all__ += ["describe_review"]
