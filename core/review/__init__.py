"""Responsible-AI reviews: persisted evaluations of one model on one dataset version."""
from core.review._errors import error_tree, heatmap, top_cohorts
from core.review._estimate import Estimate, estimate, progress_by_component, running
from core.review._store import (COMPONENTS, DEFAULT_COMPONENTS, Review, cohort_importance, cohort_metrics, create, delete, dependence,
                                error_heatmap, error_tree_live, evaluation_frame, explained_row_ids, get, list_reviews, local_explanation,
                                recompute, results)

__all__ = ["COMPONENTS", "DEFAULT_COMPONENTS", "Estimate", "Review", "cohort_importance", "cohort_metrics", "create", "delete", "dependence",
           "error_heatmap", "error_tree", "error_tree_live", "evaluation_frame", "explained_row_ids", "get", "heatmap", "list_reviews", "local_explanation", "recompute",
           "results", "running", "estimate", "progress_by_component", "top_cohorts"]
