"""A stored report as the frames the monitoring page draws (one place, so the page only lays them out)."""
from __future__ import annotations

import pandas as pd


def timeline(report: dict, metric: str) -> pd.DataFrame:
    """One row per chunk, reference chunks first: the estimate with its band and thresholds, the realized value,
    and whether the chunk alerted on this metric."""
    rows = []
    for period, chunks in (("reference", report["reference_chunks"]), ("analysis", report["chunks"])):
        for chunk in chunks:
            estimate = (chunk["estimated"] or {}).get(metric) or {}
            thresholds = estimate.get("thresholds") or [None, None]
            alerted = any(a["metric"] == metric for a in chunk.get("alerts", []))
            rows.append({"position": len(rows), "period": period, "chunk": chunk["chunk"], "start": str(chunk["start"]),
                         "rows": chunk["rows"], "estimated": estimate.get("value"), "lower": estimate.get("lower"),
                         "upper": estimate.get("upper"), "realized": (chunk["realized"] or {}).get(metric),
                         "threshold_lower": thresholds[0], "threshold_upper": thresholds[1], "alert": alerted})
    return pd.DataFrame(rows)


def drift_timeline(report: dict) -> pd.DataFrame:
    """One row per chunk and measure (PCA reconstruction error, domain classifier AUC) with its threshold."""
    rows, position = [], 0
    for period, chunks in (("reference", report["reference_chunks"]), ("analysis", report["chunks"])):
        for chunk in chunks:
            drift = chunk["drift"] or {}
            for key, label in (("multivariate", "PCA reconstruction error"), ("domain_classifier", "domain classifier AUC")):
                measure = drift.get(key) if period == "analysis" else {
                    "value": drift.get("pca" if key == "multivariate" else key), "threshold": None, "alert": False}
                if measure and measure.get("value") is not None:
                    rows.append({"position": position, "period": period, "chunk": chunk["chunk"], "start": str(chunk["start"]),
                                 "measure": label, "value": measure["value"], "threshold": measure.get("threshold"),
                                 "alert": bool(measure.get("alert"))})
            position += 1
    return pd.DataFrame(rows)


def distributions(chunk: dict) -> pd.DataFrame:
    """The reference's and the chunk's share per bin or level, for each feature kept with the chunk."""
    rows = []
    for feature, shown in (chunk.get("distributions") or {}).items():
        bins = shown["bins"]
        labels = bin_starts(bins[:-1]) if shown["kind"] == "numeric" else [str(b) for b in bins]
        for side in ("reference", "current"):
            for order, (label, share) in enumerate(zip(labels, shown[side])):
                rows.append({"feature": feature, "bin": label, "order": order, "side": side, "share": share})
    return pd.DataFrame(rows)


def bin_starts(starts: list) -> list[str]:
    """Each bin's start as a person reads it (3,600 and 14,600, not 3.6e+03; 0.25), with as many significant
    digits as it takes for no two bins to read the same (the chart draws one bar per label)."""
    for digits in range(3, 16):
        labels = [_number(v, digits) for v in starts]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def _number(value: float, digits: int) -> str:
    rounded = float(f"{value:.{digits}g}")
    return f"{rounded:,.0f}" if abs(rounded) >= 1000 else f"{rounded:.{digits}g}"


def alerts_table(report: dict) -> pd.DataFrame:
    return pd.DataFrame([{"alert_id": a["alert_id"], "chunk": c["chunk"], "start": str(c["start"]), "kind": a["kind"],
                          "metric": a["metric"], "value": a["value"], "message": a["message"]}
                         for c in report["chunks"] for a in c.get("alerts", [])])
