"""Responsible-AI analyses of one trained run on its held-out rows: `explain` (SHAP), `fairness`,
`mitigation`, `counterfactuals`, `whatif`, `causal` and `privacy`. They read runs through
`core.training` and never import `core.review`, which composes them."""

__all__ = ["causal", "counterfactuals", "explain", "fairness", "mitigation", "privacy", "whatif"]
