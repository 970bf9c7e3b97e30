"""Thresholds, confidence bands, alerts and the webhook that tells a team about them.

A metric's thresholds are the mean +- 3 standard deviations of its values over the reference chunks (the
realized performance for estimated and realized metrics, the drift measure itself for multivariate drift),
clipped to the metric's range, so that a random sample of the reference population stays inside them.
Performance alerts only on the worse side (below the range; above it for MAE and RMSE). An estimate's band is
+- 3 sampling standard deviations: the sd of the metric over the reference chunks, scaled to a chunk of another
size; the thresholds widen or narrow the same way, so a smaller chunk's larger sampling noise raises no alert.

How each measure's spread scales with the rows it is measured on:
- performance metrics and the PCA reconstruction error are averages over rows (ROC AUC a U-statistic): their
  sd shrinks as 1/sqrt(rows), scaled by sqrt(reference chunk rows / chunk rows);
- the domain classifier's ROC AUC compares a chunk's sample (n rows) with a reference sample of fixed size
  (m rows): under the null its sd is the Mann-Whitney sd sqrt((n + m + 1) / (12 n m)), so it scales with
  sqrt(1/n + 1/m), not 1/sqrt(n); a feature's distance (Wasserstein, Jensen-Shannon) scales the same way;
- a feature's p-value (KS, chi-square; chunks of at most 1,000 rows) is uniform under the null whatever the
  size: its limit is not scaled, and it is not mean - 3 sd (which, for a uniform, is below 0) but the
  3-sigma tail 0.00135 shared by the features (Bonferroni), or the reference chunks' lowest p-value if lower.

Few reference chunks (fewer than ROBUST_CHUNKS = 20): the sd of 5 values is itself a very noisy estimate (a
chance low one put 7 false alerts on 10 chunks of a random sample), so each sd is floored by an estimate
that does not rest on the few chunks (`robust`): for the row averages, the sd over SPREAD_CHUNKS (30) seeded
bootstrap samples of a reference chunk's size drawn from the whole reference (random samples of the population
at that size, for a reference of any size); for the domain classifier, its null sd;
and the sd is widened by sqrt(1 + 1/k), the error of the mean of k chunks a new chunk is compared with (the
prediction interval of a new chunk). With 20 or more reference chunks the reference chunks' own mean and sd
are used as they are (NannyML's rule)."""
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
          "domain_classifier": (0.0, 1.0), "log_distance": (-math.inf, math.inf), "p_value": (0.0, 1.0)}
LOWER_IS_BETTER = ("mae", "rmse")
ROBUST_CHUNKS = 20  # with fewer reference chunks each sd is floored by one that does not rest on them (`robust`)
SPREAD_CHUNKS = 30  # bootstrap samples of the reference the spread of a row average is measured on
NULL_TAIL = 0.00135  # the one-sided 3-sigma tail of the normal: the p-value limit, shared by the features
WEBHOOK_SETTING = "monitoring_webhook_url"
WEBHOOK_TIMEOUT = 5.0


def thresholds(values: list, metric: str, rows: list, *, partner: Optional[float] = None) -> dict:
    """{"lower", "upper", "mean", "sd", "rows"} over the reference chunks' values (None where fewer than two are
    known); lower and upper hold for a chunk of the reference chunks' mean size (`at` scales them to another).
    `partner`: the rows of the fixed reference sample a two-sample measure compares each chunk with."""
    pairs = [(v, n) for v, n in zip(values, rows) if v is not None]
    if len(pairs) < 2:
        return {"lower": None, "upper": None, "mean": None, "sd": None, "rows": None, "metric": metric}
    known = np.asarray([v for v, _ in pairs], dtype=float)
    limits = {"mean": float(known.mean()), "sd": float(known.std(ddof=1)), "rows": float(np.mean([n for _, n in pairs])),
              "metric": metric, "chunks": len(pairs), "partner": partner}
    return {**limits, **at(limits, limits["rows"])}


def robust(limits: dict, floor_sd: Optional[float]) -> dict:
    """With fewer than ROBUST_CHUNKS reference chunks: the sd no less than `floor_sd` (the spread measured
    without resting on the few chunks, already at the reference chunks' size) and widened by sqrt(1 + 1/k)."""
    if limits.get("sd") is None or limits["chunks"] >= ROBUST_CHUNKS:
        return limits
    sd = max(limits["sd"], floor_sd or 0.0) * math.sqrt(1.0 + 1.0 / limits["chunks"])
    widened = {**limits, "sd": sd, "chunk_sd": limits["sd"]}
    return {**widened, **at(widened, widened["rows"])}


def spread_sd(values: list, rows: list, limits: dict) -> Optional[float]:
    """The sd of a row average over bootstrap samples of the reference (`values` measured on `rows` rows each),
    scaled to the reference chunks' size (labelled rows may differ a little from sample to sample)."""
    pairs = [(v, n) for v, n in zip(values, rows) if v is not None]
    if len(pairs) < ROBUST_CHUNKS or limits.get("rows") is None:
        return None
    sd = float(np.std([v for v, _ in pairs], ddof=1))
    return sd * math.sqrt(float(np.mean([n for _, n in pairs])) / limits["rows"])


def null_auc_sd(rows: float, partner: float) -> float:
    """The sd of a ROC AUC between two samples of one population (Mann-Whitney): rows against partner rows."""
    return math.sqrt((rows + partner + 1.0) / (12.0 * rows * partner))


def p_value_limits(values: list, features: int) -> dict:
    """A p-value is uniform under the null at any size: drifted below the 3-sigma tail shared by the features,
    or below the reference chunks' lowest p-value where the reference itself moved more than that."""
    known = [v for v in values if v is not None]
    lowest = min(known) if known else 1.0
    return {"lower": min(NULL_TAIL / max(features, 1), lowest), "upper": None, "mean": None, "sd": None,
            "rows": None, "metric": "p_value", "chunks": len(known), "partner": None}


def at(limits: dict, rows: float) -> dict:
    """The thresholds for a chunk of `rows` rows: a metric's spread over chunks shrinks as 1/sqrt(rows) (two-sample
    measures: as sqrt(1/rows + 1/partner)), so a chunk smaller than the reference's gets a wider range (and a
    random sample of any size stays inside). A p-value's limit does not depend on the size."""
    if limits["metric"] == "p_value":
        return {"lower": limits["lower"], "upper": limits["upper"]}
    if limits.get("sd") is None or rows <= 0:
        return {"lower": None, "upper": None}
    scale = _scale(limits, rows)
    if limits["metric"] == "log_distance":  # a distance between samples: skewed, so its range is taken on log scale
        return {"lower": math.exp(limits["mean"] - SIGMAS * limits["sd"]) * scale,
                "upper": math.exp(limits["mean"] + SIGMAS * limits["sd"]) * scale}
    low, high = RANGES.get(limits["metric"], (0.0, math.inf))
    spread = SIGMAS * limits["sd"] * scale
    return {"lower": _finite(max(low, limits["mean"] - spread)), "upper": _finite(min(high, limits["mean"] + spread))}


def _scale(limits: dict, rows: float) -> float:
    """How much a measure's sd at the reference chunks' size grows for a chunk of `rows` rows."""
    partner = limits.get("partner")
    if partner:
        return math.sqrt((1.0 / rows + 1.0 / partner) / (1.0 / limits["rows"] + 1.0 / partner))
    return math.sqrt(limits["rows"] / rows)


def band(value: Optional[float], limits: dict, rows: int) -> tuple:
    """An estimate's confidence band: +- 3 sampling sd (the reference chunks' sd scaled to this chunk's size)."""
    if value is None or limits.get("sd") is None or rows <= 0:
        return None, None
    low, high = RANGES[limits["metric"]]
    spread = SIGMAS * limits["sd"] * _scale(limits, rows)
    return _finite(max(low, value - spread)), _finite(min(high, value + spread))


def outside(value: Optional[float], limits: dict, *, upper_only: bool = False) -> bool:
    if value is None:
        return False
    if limits["upper"] is not None and value > limits["upper"]:
        return True
    return not upper_only and limits["lower"] is not None and value < limits["lower"]


def degraded(metric: str, value: Optional[float], scaled: dict) -> bool:
    """Performance alerts on the side where the model does worse (below the range; above it for errors):
    a chunk the model handles better than the reference is no alarm."""
    if metric in LOWER_IS_BETTER:
        return value is not None and scaled["upper"] is not None and value > scaled["upper"]
    return value is not None and scaled["lower"] is not None and value < scaled["lower"]


def performance_alerts(kind: str, values: Optional[dict], limits: dict, rows: int) -> list[dict]:
    """One alert per metric whose value left its reference thresholds on the worse side (scaled to `rows`, the
    rows measured)."""
    alerts = []
    for metric, value in (values or {}).items():
        value = value["value"] if isinstance(value, dict) else value
        scaled = {**limits[metric], **at(limits[metric], rows)}
        if degraded(metric, value, scaled):
            side = "above" if metric in LOWER_IS_BETTER else "below"
            word = "estimated" if kind == "estimated_performance" else "realized"
            alerts.append(_alert(kind, metric, value, scaled,
                                 f"{word} {metric} {value:.3f} is {side} the reference range {_range(scaled)}"))
    return alerts


def drift_alert(kind: str, measure: dict, what: str) -> list[dict]:
    if not measure["alert"]:
        return []
    scaled = {"lower": measure["lower"], "upper": measure["threshold"]}
    return [_alert(kind, measure["method"], measure["value"], scaled,
                   f"{what} {measure['value']:.3f} is outside the reference range {_range(scaled)}")]


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
