"""Thresholds, confidence bands, alerts and the webhook that tells a team about them.

A metric's thresholds are the mean +- 3 standard deviations of its values over the reference chunks (the
realized performance for estimated and realized metrics, the drift measure itself for multivariate drift),
clipped to the metric's range; a random sample of the reference population stays inside them. An estimate's
band is +- 3 sampling standard deviations: the sd of the metric over the reference chunks, scaled by
sqrt(reference chunk rows / chunk rows) for a chunk of another size."""
from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional

import numpy as np

from core.errors import InputError

SIGMAS = 3.0
RANGES = {"roc_auc": (0.0, 1.0), "accuracy": (0.0, 1.0), "f1": (0.0, 1.0), "precision": (0.0, 1.0),
          "recall": (0.0, 1.0), "mae": (0.0, math.inf), "rmse": (0.0, math.inf), "pca": (0.0, math.inf),
          "domain_classifier": (0.0, 1.0)}
WEBHOOK_SETTING = "monitoring_webhook_url"
WEBHOOK_TIMEOUT = 5.0


def thresholds(values: list, metric: str) -> dict:
    """{"lower", "upper", "mean", "sd"} over the reference chunks' values (None where none are known)."""
    known = np.asarray([v for v in values if v is not None], dtype=float)
    if len(known) < 2:
        return {"lower": None, "upper": None, "mean": None, "sd": None}
    low, high = RANGES[metric]
    mean, sd = float(known.mean()), float(known.std(ddof=1))
    return {"lower": _finite(max(low, mean - SIGMAS * sd)), "upper": _finite(min(high, mean + SIGMAS * sd)),
            "mean": mean, "sd": sd}


def band(value: Optional[float], limits: dict, reference_rows: float, rows: int, metric: str) -> tuple:
    if value is None or limits["sd"] is None or rows <= 0:
        return None, None
    low, high = RANGES[metric]
    spread = SIGMAS * limits["sd"] * math.sqrt(reference_rows / rows)
    return _finite(max(low, value - spread)), _finite(min(high, value + spread))


def outside(value: Optional[float], limits: dict, *, upper_only: bool = False) -> bool:
    if value is None:
        return False
    if limits["upper"] is not None and value > limits["upper"]:
        return True
    return not upper_only and limits["lower"] is not None and value < limits["lower"]


def performance_alerts(kind: str, values: Optional[dict], limits: dict) -> list[dict]:
    """One alert per metric whose value left its reference thresholds."""
    alerts = []
    for metric, value in (values or {}).items():
        value = value["value"] if isinstance(value, dict) else value
        if outside(value, limits[metric]):
            side = "below" if value < (limits[metric]["lower"] or -math.inf) else "above"
            word = "estimated" if kind == "estimated_performance" else "realized"
            alerts.append(_alert(kind, metric, value, limits[metric],
                                 f"{word} {metric} {value:.3f} is {side} the reference range "
                                 f"{_range(limits[metric])}"))
    return alerts


def drift_alert(kind: str, measure: dict, limits: dict, what: str) -> list[dict]:
    if not measure["alert"]:
        return []
    return [_alert(kind, measure["method"], measure["value"], limits,
                   f"{what} {measure['value']:.3f} is outside the reference range {_range(limits)}")]


def feature_alert(drifted: list[str]) -> list[dict]:
    if not drifted:
        return []
    return [{"kind": "feature_drift", "metric": "features", "value": float(len(drifted)), "lower": None, "upper": None,
             "message": f"{len(drifted)} feature(s) drifted: {', '.join(drifted)}"}]


def _alert(kind: str, metric: str, value: float, limits: dict, message: str) -> dict:
    return {"kind": kind, "metric": metric, "value": float(value), "lower": limits["lower"], "upper": limits["upper"],
            "message": message}


def _range(limits: dict) -> str:
    low = "-" if limits["lower"] is None else f"{limits['lower']:.3f}"
    high = "-" if limits["upper"] is None else f"{limits['upper']:.3f}"
    return f"[{low}, {high}]"


def _finite(value: float) -> Optional[float]:
    return float(value) if math.isfinite(value) else None


def check_url(url: str) -> str:
    parsed = urllib.parse.urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(f"A webhook is an http:// or https:// URL, not {url!r}.")
    return url.strip()


def shown_url(url: str) -> str:
    """The URL without its query or credentials (a token in a webhook URL never reaches the lake or a screen)."""
    parsed = urllib.parse.urlparse(url)
    return f"{parsed.scheme}://{parsed.hostname}{':' + str(parsed.port) if parsed.port else ''}{parsed.path}"


def send(url: str, body: dict) -> dict:
    """POST the JSON body; never raises: the outcome (ok, HTTP status, error) is returned to be recorded."""
    request = urllib.request.Request(url, data=json.dumps(body, default=str).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "assay-monitor"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            return {"ok": 200 <= response.status < 300, "status": int(response.status), "error": None}
    except urllib.error.HTTPError as error:
        return {"ok": False, "status": int(error.code), "error": f"HTTP {error.code} {error.reason}"}
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return {"ok": False, "status": None, "error": f"{type(error).__name__}: {reason}"[:300]}
