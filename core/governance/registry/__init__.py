"""The model registry: registered models, numbered versions, movable aliases (champion, challenger,
any name), the champion/challenger gate, and sign-off.

A version records everything needed to trust and reuse it: input signature and example, output,
held-out metrics, the review, the training input with its snapshot, the run, the artifact with its
SHA-256 (checked on every load), the code version, who and when. Registering a new version of a
model that has a champion runs the gate: both models on the candidate's held-out rows, each
metric against its threshold; the result is stored with the version. A failed candidate becomes
champion only with an explicit override (an admin's reason, audited). Promotion to champion also
needs the required approvals, each tied to the artifact's hash: a changed artifact voids them.

A binary version decides at its decision threshold: its run's, until `set_threshold` (audited,
with a reason) gives it another; approvals given before that change no longer count, as the
decision rule they approved is gone. Scoring, the endpoint and drift open a version through
`open_version`, which hands them the run's model at the version's threshold.
"""
from core.errors import InputError  # noqa: F401  (pages read registry.InputError)
from core.governance.registry._gate import LOWER_IS_BETTER, gate_thresholds, set_gate_thresholds
from core.governance.registry._lifecycle import history, lifecycle, lineage
from core.governance.registry._service import promote, register, set_threshold
from core.governance.registry._signoffs import (DECISIONS, DEFAULT_APPROVALS, approval_status, describe_must_fix,
                                                open_must_fix, required_approvals, set_required_approvals,
                                                signable_roles, signoff, signoffs)
from core.governance.registry._versions import (CARD_FIELDS, ModelVersion, get, list_models, model_exists, open_version,
                                                parse_ref, update_card, versions)

__all__ = ["CARD_FIELDS", "DECISIONS", "DEFAULT_APPROVALS", "LOWER_IS_BETTER", "ModelVersion", "approval_status",
           "describe_must_fix", "gate_thresholds", "get", "history", "lifecycle", "lineage", "list_models",
           "model_exists", "open_must_fix", "open_version", "parse_ref", "promote", "register", "required_approvals",
           "set_gate_thresholds", "set_required_approvals", "set_threshold", "signable_roles", "signoff", "signoffs",
           "update_card", "versions"]
