"""The checks' names, categories, severities and default conditions (Deepchecks' add_condition_* idea: the
thresholds travel with every result), with per-use-case overrides kept in the lake's settings, and the
gate rule (no failed critical check, on by default)."""
from __future__ import annotations

import json
from typing import Optional

from core.errors import InputError
from core.lake import Lake, settings

# name: (category, severity when it does not pass, default conditions)
CHECKS: dict[str, tuple[str, str, dict]] = {
    "single_value": ("data", "low", {"max_distinct_for_single": 1}),
    "mixed_types": ("data", "low", {"min_minority_share": 0.001}),
    "duplicates": ("data", "medium", {"warn_share": 0.01, "fail_share": 0.05}),
    "conflicting_labels": ("data", "medium", {"warn_share": 0.001, "fail_share": 0.02}),
    "string_mismatch": ("data", "low", {"max_variant_groups": 0}),
    "outliers": ("data", "low", {"iqr_multiple": 3.0, "warn_share": 0.01, "fail_share": 0.05}),
    "class_imbalance": ("data", "medium", {"warn_minority_share": 0.05, "fail_minority_share": 0.01}),
    "missing_pattern": ("data", "medium", {"alpha": 0.01, "min_rate_difference": 0.05, "min_std_difference": 0.2}),
    "train_test_overlap": ("leakage", "high", {"warn_share": 0.0001, "fail_share": 0.01}),
    "identifier_label": ("leakage", "critical", {"warn_auc": 0.6, "fail_auc": 0.7, "warn_r2": 0.1, "fail_r2": 0.2,
                                                 "min_distinct_share": 0.9}),
    "feature_label_leakage": ("leakage", "critical", {"warn_auc": 0.85, "fail_auc": 0.92, "warn_r2": 0.7,
                                                      "fail_r2": 0.85, "bins": 20}),
    "date_leakage": ("leakage", "critical", {"warn_share": 0.0001, "fail_share": 0.01}),
    "batch_vs_row": ("leakage", "high", {"tolerance": 1e-6, "rows": 20}),
    "baseline": ("model", "high", {"min_gain_over_baseline": 0.05, "linear_tolerance": 0.01, "linear_rows": 10_000}),
    "overfit": ("model", "medium", {"warn_gap": 0.05, "fail_gap": 0.1, "train_rows": 5_000}),
    "calibration": ("model", "medium", {"warn_ece": 0.05, "fail_ece": 0.1, "bins": 10, "slice_gap": 0.1,
                                        "fdr": 0.05, "min_rows": 20}),
    "stochasticity": ("model", "high", {"tolerance": 1e-9}),
    "robustness": ("model", "medium", {"rows": 2_000, "relative_nudge": 0.01, "noise_std_share": 0.01, "warn_flip_share": 0.02,
                                       "fail_flip_share": 0.05, "category_warn_flip_share": 0.2}),
    "weak_slices": ("model", "medium", {"fdr": 0.05, "min_rows": 20, "warn_ratio": 1.2, "fail_ratio": 1.5,
                                        "min_difference": 0.02, "shown": 20}),
    "unused_features": ("model", "low", {"rows": 1_000, "min_mean_change": 1e-4}),
    "inference_time": ("model", "low", {"warn_ms_per_row": 1.0, "fail_ms_per_row": 10.0, "warn_single_row_ms": 100.0,
                                        "fail_single_row_ms": 1_000.0}),
    "conformal_coverage": ("uncertainty", "high", {"confidence": 0.9, "warn_shortfall": 0.02, "fail_shortfall": 0.05,
                                                   "min_group_rows": 50, "alpha": 0.05}),
}
CATEGORIES = ("data", "leakage", "model", "uncertainty")
_KEY = "validation_conditions:{usecase}"
_GATE_KEY = "validation_gate:{usecase}"


def category(check: str) -> str:
    return CHECKS[check][0]


def severity(check: str) -> str:
    return CHECKS[check][1]


def overrides(lake: Lake, usecase: str) -> dict:
    raw = settings.get(lake, _KEY.format(usecase=usecase))
    return json.loads(raw) if raw else {}


def conditions(lake: Optional[Lake], usecase: Optional[str]) -> dict[str, dict]:
    """Each check's conditions: the defaults, with the use case's overrides on top."""
    chosen = {name: dict(defaults) for name, (_, _, defaults) in CHECKS.items()}
    if lake is not None and usecase:
        for name, values in overrides(lake, usecase).items():
            chosen[name].update(values)
    return chosen


def set_conditions(lake: Lake, usecase: str, changes: dict, *, actor: str) -> dict:
    """Override conditions for one use case, e.g. {"calibration": {"fail_ece": 0.15}} (admin: a setting)."""
    if not isinstance(changes, dict) or not changes:
        raise InputError('Give conditions as {"check": {"condition": number}}, such as {"calibration": {"fail_ece": 0.15}}.')
    merged = overrides(lake, usecase)
    for name, values in changes.items():
        if name not in CHECKS:
            raise InputError(f"Unknown check {name!r}; the checks are {', '.join(CHECKS)}.")
        if not isinstance(values, dict):
            raise InputError(f"The conditions of {name} are an object of numbers, not {values!r}.")
        for key, value in values.items():
            if key not in CHECKS[name][2]:
                raise InputError(f"{name} has no condition {key!r}; its conditions are {', '.join(CHECKS[name][2])}.")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{name}.{key} is a number, not {value!r}.")
        merged.setdefault(name, {}).update(values)
    settings.put(lake, _KEY.format(usecase=usecase), json.dumps(merged), actor=actor)
    return conditions(lake, usecase)


def gate_requires_checks(lake: Lake, usecase: str) -> bool:
    """Whether the gate fails a model with a failed critical check (default: yes)."""
    return settings.get(lake, _GATE_KEY.format(usecase=usecase)) != "off"


def set_gate_rule(lake: Lake, usecase: str, required: bool, *, actor: str) -> None:
    settings.put(lake, _GATE_KEY.format(usecase=usecase), "on" if required else "off", actor=actor)
