"""Validation checks of a trained model, as one fast suite: data integrity, leakage, model behaviour
(baselines, overfitting, calibration, stochasticity, robustness, weak slices, unused features, inference
time) and conformal coverage by sensitive group. Each check returns pass, warn or fail against conditions
shown with it (defaults, overridable per use case), a severity, one plain sentence and its evidence.

The run, its model, decision threshold and held-out rows come from core.training (score_run); the suite
never picks rows itself. Results are stored as the review component `checks` and feed draft findings,
the scorecard and the gate."""
from core.validation._conditions import (CATEGORIES, CHECKS, conditions, gate_requires_checks, set_conditions,
                                         set_gate_rule)
from core.validation._result import SEVERITIES, STATUSES, CheckResult, NotApplicable
from core.validation._suite import (ORDER, Suite, apply_gate, draft_findings, failed_critical, gate_verdict,
                                    parse_only, run_checks)

__all__ = ["CATEGORIES", "CHECKS", "CheckResult", "NotApplicable", "ORDER", "SEVERITIES", "STATUSES", "Suite",
           "apply_gate", "conditions", "draft_findings", "failed_critical", "gate_requires_checks", "gate_verdict",
           "parse_only", "run_checks", "set_conditions", "set_gate_rule"]
