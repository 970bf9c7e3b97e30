"""A monitor run: the reference (the model's held-out rows, chunked the same way) gives the calibration, the
loss models, the drift models and every threshold; then the current set streams through chunk by chunk, each
judged and kept as a small summary; everything is written in one transaction, and the webhook is told."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from core import training
from core.data import datasets
from core.errors import InputError
from core.lake import Lake, permissions, settings
from core.monitoring import _alerts, _cbpe, _chunks, _dle, _store
from core.monitoring._multivariate import (DOMAIN_ROWS, DRIFT_ROWS, DomainClassifier, Encoder, PCADrift, as_text,
                                           feature_drift, feature_statistics)
from core.monitoring._outputs import Outputs, model_outputs
from core.monitoring._setup import Setup, prepare, stream_sql
from core.progress import Progress, report

REFERENCE_ROWS = 500_000  # a seeded sample of the held-out rows beyond this (DuckDB draws it)
PCA_FOLDS = 5  # the reference chunks' PCA errors are measured with a PCA fitted without their fold


@dataclass
class Reference:
    X: pd.DataFrame
    estimator: object
    pca: PCADrift
    domain: DomainClassifier
    limits: dict  # metric (and "pca", "domain_classifier", "features") -> thresholds
    chunks: list  # the reference chunks' records, for the timeline
    label: str
    compare_rows: int  # the reference rows a chunk's features are compared with (as each reference chunk's were)


def monitor(lake: Lake, model_ref: str, *, current: str, actor: str, chunk_size: Optional[int] = None,
            timestamp: Optional[str] = None, chunk_period: Optional[str] = None, labels: Optional[str] = None,
            entity: Optional[str] = None, metrics: Optional[list] = None, method: str = "auto",
            progress: Optional[Progress] = None) -> dict:
    """Estimate and (where labels have arrived) measure the model's performance per chunk of the current set,
    with multivariate and per-feature drift and alerts; persist the report; return what the CLI prints."""
    permissions.require(lake, actor, "monitor")
    spec = _chunks.chunking(size=chunk_size, timestamp=timestamp, period=chunk_period)
    setup = prepare(lake, model_ref, current=current, spec=spec, labels=labels, entity=entity, metrics=metrics,
                    method=method)
    report(progress, 0.05, f"Fitting {setup.method} and the drift measures on the reference")
    reference = _reference(lake, setup)
    skipped: list = []
    judged, distributions = [], []
    total = max(setup.current.rows, 1)
    seen = 0
    for index, chunk in enumerate(_chunks.stream(lake, stream_sql(setup), [], spec, skipped=skipped)):
        record, shown = _judge(setup, reference, chunk, index)
        judged.append(record)
        distributions.append(shown)
        seen += record["rows"]
        report(progress, 0.1 + 0.8 * min(seen / total, 1.0), f"Chunk {index + 1}: {seen:,} of {total:,} rows")
    if not judged:
        raise InputError(f"{setup.current.ref} has no chunk of at least {_chunks.MIN_CHUNK_ROWS} rows "
                         f"({spec.label()}); nothing was written.")
    report_id = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:10]}"
    warnings = list(setup.warnings) + [f"{s['start']}: {s['rows']} row(s), below the minimum chunk of "
                                       f"{_chunks.MIN_CHUNK_ROWS}; left out" for s in skipped]
    result = {"report_id": report_id, "model": setup.version.ref, "current": setup.current.ref, "method": setup.method,
              "metrics": list(setup.metrics), "chunking": spec.describe(),
              "reference": {"source": reference.label, "chunks": len(reference.chunks),
                            "chunk_rows": reference.limits["pca"]["rows"],
                            "thresholds": {k: {"lower": v["lower"], "upper": v["upper"]}
                                           for k, v in reference.limits.items() if k != "features"}},
              "chunks": [_printed(r) for r in judged], "skipped": skipped, "warnings": warnings,
              "alerts": sum(len(r["alerts"]) for r in judged)}
    _store.write(lake, setup, result, reference.chunks, judged, distributions, actor=actor)
    result["webhook"] = _notify(lake, setup, result, actor)
    report(progress, 1.0, f"{len(judged)} chunk(s), {result['alerts']} alert(s)")
    return result


def _reference(lake: Lake, setup: Setup) -> Reference:
    run, trained, spec = setup.run, setup.trained, setup.spec
    source, _ = training.evaluation_source(lake, run, None)
    where, params = trained.held_out_filter()
    frame = datasets.read_frame(lake, source, where=where, params=params, with_row_ids=True, sample=REFERENCE_ROWS)
    label = f"{len(frame):,} held-out rows of {run.input_ref}"
    if spec.timestamp and spec.timestamp not in frame.columns:
        raise InputError(f"The reference ({label}) has no column {spec.timestamp!r} to chunk by time; chunk by size "
                         "with --chunk-size N.")
    chunks, _ = _chunks.split_reference(frame, spec)
    if len(chunks) < _chunks.MIN_REFERENCE_CHUNKS:
        hint = f"--chunk-size {len(frame) // _chunks.MIN_REFERENCE_CHUNKS:,} or less" if spec.size else "a shorter --chunk-period"
        raise InputError(f"The reference ({label}) makes {len(chunks)} chunk(s) of {spec.label()} with at least "
                         f"{_chunks.MIN_CHUNK_ROWS} rows; thresholds need at least {_chunks.MIN_REFERENCE_CHUNKS}. "
                         f"Use smaller chunks ({hint}). Nothing was written.")
    spans = [(c.start, c.end, c.frame.index, len(c.frame)) for c in chunks]  # the rows, not copies of them
    del chunks
    whole = model_outputs(trained, setup.casts, frame, run.target, probabilities=setup.probabilities)
    del frame
    estimator = _estimator(setup, whole)
    X = as_text(whole.X, setup.categorical)  # the inputs as the drift measures read them
    encoder = Encoder(setup.numeric, setup.categorical).fit(X)
    pca, domain = PCADrift(encoder).fit(X), DomainClassifier(encoder, X)
    records, held_out_pca = [], _held_out_pca(encoder, X, [rows for _, _, rows, _ in spans])
    for index, (start, end, rows, size) in enumerate(spans):
        out = whole.take(rows, size)  # the reference is scored once
        rest, inputs = X.drop(index=out.X.index), X.loc[out.X.index]  # a chunk is compared with the rest
        records.append({"chunk": index, "start": start, "end": end, "rows": out.rows,
                        "labelled": int(out.labelled.sum()), "estimated": _estimate(setup, estimator, out),
                        "realized": _realized(setup, out),
                        "pca": held_out_pca[index % len(held_out_pca)].error(inputs),
                        "domain_classifier": domain.auc(inputs, exclude=out.X.index),
                        "features": feature_statistics(rest, inputs, setup.version.signature, index, len(rest))})
    limits = _limits(setup, records, len(whole.X) - np.mean([r["rows"] for r in records]))
    if len(records) < _alerts.ROBUST_CHUNKS:
        limits = _robust(setup, limits, whole, pca.row_errors(X))
    for r in records:  # the reference's own estimates, with their bands, for the timeline
        r["estimated"] = _banded(r["estimated"], limits, r["rows"])
    compare_rows = int(len(whole.X) - np.mean([r["rows"] for r in records]))
    return Reference(X=X, estimator=estimator, pca=pca, domain=domain, limits=limits, chunks=records, label=label,
                     compare_rows=compare_rows)


def _held_out_pca(encoder: Encoder, X: pd.DataFrame, chunks: list) -> list:
    """PCA fitted without each fold of reference chunks (chunk i, given by its rows' index, in fold i % PCA_FOLDS):
    a reference chunk's reconstruction error is measured out of sample, as a current chunk's is; in sample it is
    lower (the PCA fitted its rows), which put the reference range below a random sample's errors."""
    folds = min(PCA_FOLDS, len(chunks))
    left_out = [pd.Index(np.concatenate([rows.to_numpy() for rows in chunks[fold::folds]])) for fold in range(folds)]
    return [PCADrift(encoder).fit(X.drop(index=rows, errors="ignore")) for rows in left_out]


def _limits(setup: Setup, records: list, compare_rows: float) -> dict:
    """Every threshold from the reference chunks: each metric's realized values, the drift measures, and each
    feature's drift statistic (a p-value or a distance, by the test the drift report picks for this reference).
    `compare_rows`: the reference rows each reference chunk was compared with (the two-sample measures' partner)."""
    rows = [r["rows"] for r in records]
    limits = {m: _alerts.thresholds([(r["realized"] or {}).get(m) for r in records], m, [r["labelled"] for r in records])
              for m in setup.metrics}
    limits["pca"] = _alerts.thresholds([r["pca"] for r in records], "pca", rows)
    limits["domain_classifier"] = _alerts.thresholds([r["domain_classifier"] for r in records], "domain_classifier",
                                                     [min(n, DOMAIN_ROWS) for n in rows],
                                                     partner=min(compare_rows, DOMAIN_ROWS))
    limits["features"] = {}
    for name, found in records[0]["features"].items():
        values = [r["features"][name]["value"] for r in records]
        if found["test"] in ("ks", "chi_square"):
            limits["features"][name] = _alerts.p_value_limits(values, len(records[0]["features"]))
        else:  # distances are skewed: their range is taken on log scale
            logs = [None if v is None else float(np.log(max(v, 1e-9))) for v in values]
            limits["features"][name] = _alerts.thresholds(logs, "log_distance", [min(n, DRIFT_ROWS) for n in rows],
                                                          partner=min(compare_rows, DRIFT_ROWS))
    return limits


def _robust(setup: Setup, limits: dict, whole: Outputs, errors: np.ndarray) -> dict:
    """Few reference chunks: each sd floored by one that does not rest on them (see core.monitoring._alerts):
    the row averages' sd over SPREAD_CHUNKS seeded bootstrap samples of a reference chunk's size drawn from the
    whole reference (a random sample of the population at that size, whatever the reference's size), the domain
    classifier's null sd."""
    rng = np.random.default_rng(0)
    size = max(int(round(limits["pca"]["rows"])), 1)
    groups = [rng.integers(0, len(whole.X), size) for _ in range(_alerts.SPREAD_CHUNKS)]
    realized, labelled = [], []
    for group in groups:
        part = whole.take(whole.X.index[group], len(group), inputs=False)
        realized.append(_realized(setup, part) or {})
        labelled.append(int(part.labelled.sum()))
    out = {**limits}
    for metric in setup.metrics:
        floor = _alerts.spread_sd([r.get(metric) for r in realized], labelled, limits[metric])
        out[metric] = _alerts.robust(limits[metric], floor)
    out["pca"] = _alerts.robust(limits["pca"], _alerts.spread_sd([float(errors[g].mean()) for g in groups],
                                                                   [len(g) for g in groups], limits["pca"]))
    domain = limits["domain_classifier"]
    null = _alerts.null_auc_sd(domain["rows"], domain["partner"]) if domain.get("rows") else None
    out["domain_classifier"] = _alerts.robust(domain, null)
    return out


def _estimator(setup: Setup, reference: Outputs):
    run = setup.run
    if reference.labelled.sum() < _cbpe.MIN_LABELLED:
        raise InputError(f"The model's held-out rows have fewer than {_cbpe.MIN_LABELLED} labels; nothing to fit on.")
    if setup.method == "cbpe":
        binary = setup.trained.positive_index if run.task == "binary" else None
        return _cbpe.CBPE(len(run.classes), binary).fit(reference)
    if setup.method == "dle":
        return _dle.DLE(setup.numeric, setup.categorical, setup.metrics).fit(reference)
    return None


def _estimate(setup: Setup, estimator, out: Outputs) -> dict:
    return estimator.estimate(out, setup.metrics) if estimator is not None else {}


def _realized(setup: Setup, out: Outputs) -> Optional[dict]:
    run = setup.run
    if run.task in ("binary", "multiclass"):
        binary = setup.trained.positive_index if run.task == "binary" else None
        return _cbpe.realized(out, setup.metrics, classes=len(run.classes), binary_index=binary)
    return _dle.realized(out, setup.metrics)


def _banded(estimated: dict, limits: dict, rows: int) -> dict:
    out = {}
    for metric, value in estimated.items():
        lower, upper = _alerts.band(value, limits[metric], rows)
        scaled = _alerts.at(limits[metric], rows)
        out[metric] = {"value": value, "lower": lower, "upper": upper, "alert": _alerts.degraded(metric, value, scaled),
                       "thresholds": [scaled["lower"], scaled["upper"]]}
    return out


def _judge(setup: Setup, reference: Reference, chunk: _chunks.Chunk, index: int) -> tuple[dict, dict]:
    """One chunk of the current set: its estimates with bands, realized metrics, drift and alerts."""
    out = model_outputs(setup.trained, setup.casts, chunk.frame, setup.truth_column, probabilities=setup.probabilities)
    limits, rows = reference.limits, len(out.X)
    estimated = _banded(_estimate(setup, reference.estimator, out), limits, rows)
    realized = _realized(setup, out)
    inputs = as_text(out.X, setup.categorical)
    pca = _measure("pca_reconstruction_error", reference.pca.error(inputs), _alerts.at(limits["pca"], rows))
    domain = _measure("domain_classifier_auc", reference.domain.auc(inputs),
                      _alerts.at(limits["domain_classifier"], min(rows, DOMAIN_ROWS)), upper_only=True)
    scaled = {k: _alerts.at(v, min(rows, DRIFT_ROWS)) for k, v in limits["features"].items()}
    features, shown = feature_drift(reference.X, inputs, setup.version.signature, index, scaled, reference.compare_rows)
    drifted = [f["feature"] for f in features if f["drifted"]]
    alerts = (_alerts.performance_alerts("estimated_performance", estimated, limits, rows)
              + _alerts.performance_alerts("realized_performance", realized, limits, int(out.labelled.sum()))
              + _alerts.drift_alert("multivariate_drift", pca, "PCA reconstruction error")
              + _alerts.drift_alert("domain_classifier", domain, "domain classifier ROC AUC")
              + _alerts.feature_alert(drifted))
    record = {"chunk": index, "start": chunk.start, "end": chunk.end, "rows": out.rows, "labelled": int(out.labelled.sum()),
              "estimated": estimated, "realized": realized,
              "drift": {"multivariate": pca, "domain_classifier": domain, "features_drifted": drifted, "features": features},
              "alerts": alerts}
    return record, shown


def _measure(method: str, value: float, scaled: dict, *, upper_only: bool = False) -> dict:
    return {"method": method, "value": value, "threshold": scaled["upper"], "lower": scaled["lower"],
            "alert": _alerts.outside(value, scaled, upper_only=upper_only)}


def _printed(record: dict) -> dict:
    """A chunk as the CLI prints it: the per-feature statistics stay in the lake."""
    drift = {k: v for k, v in record["drift"].items() if k != "features"}
    return {**record, "drift": drift}


def _notify(lake: Lake, setup: Setup, result: dict, actor: str) -> Optional[dict]:
    """Tell the webhook (when one is set and there are alerts); its outcome is recorded, never raised."""
    url = settings.get(lake, _alerts.WEBHOOK_SETTING)
    if not url or not result["alerts"]:
        return None
    alerted = [{"chunk": c["chunk"], "start": c["start"], "end": c["end"], "alerts": c["alerts"]}
               for c in result["chunks"] if c["alerts"]]
    body = {"event": "assay.monitoring.alerts", "report_id": result["report_id"], "model": result["model"],
            "current": result["current"], "method": result["method"], "alerts": result["alerts"], "chunks": alerted}
    outcome = {"url": _alerts.shown_url(url), **_alerts.send(url, body)}
    _store.record_delivery(lake, setup, result["report_id"], outcome, actor=actor)
    return outcome
