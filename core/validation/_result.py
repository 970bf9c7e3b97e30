"""What one check returns: a status against visible conditions, a severity, one plain sentence and the
evidence behind it. A check that cannot apply to a run raises NotApplicable with the reason."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np

Status = Literal["pass", "warn", "fail"]
STATUSES = ("pass", "warn", "fail")
SEVERITIES = ("low", "medium", "high", "critical")


class NotApplicable(Exception):
    """This check does not apply to this run or dataset; the message says why (shown to the user)."""


@dataclass(frozen=True)
class CheckResult:
    check: str
    category: str
    status: Status
    severity: str
    summary: str
    evidence: dict = field(default_factory=dict)
    conditions: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"check": self.check, "category": self.category, "status": self.status, "severity": self.severity,
                "summary": self.summary, "evidence": plain(self.evidence), "conditions": plain(self.conditions),
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class Outcome:
    """A check's own verdict before the suite adds its name, category, severity and conditions."""
    status: Status
    summary: str
    evidence: dict


def grade(value: Optional[float], warn: float, fail: float) -> Status:
    """pass below `warn`, warn from it, fail from `fail` (a larger value is worse)."""
    if value is None or not np.isfinite(value):
        return "pass"
    return "fail" if value >= fail else ("warn" if value >= warn else "pass")


def worst(statuses) -> Status:
    ranked = [STATUSES.index(s) for s in statuses]
    return STATUSES[max(ranked)] if ranked else "pass"


def plain(value):
    """Strict-JSON values: numpy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)
