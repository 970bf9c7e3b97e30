"""Governance: the model `registry` (versions, aliases, gate, sign-offs), `accounts` and their roles,
review `findings` and `meeting` records, the `scorecard`, `side_by_side` comparison, the `catalog`, and endpoint `tokens`."""

__all__ = ["accounts", "catalog", "findings", "meeting", "registry", "scorecard", "side_by_side", "tokens"]
