"""Monitoring without labels: a model's performance estimated per chunk of the data it now scores (CBPE for
classifiers, DLE for regressors), realized performance where labels have arrived, multivariate and
per-feature drift, with thresholds from the model's held-out rows chunked the same way, alerts stored per
model and chunk, and a webhook that tells a team about them."""
from __future__ import annotations

from typing import Optional

from core.lake import Lake
from core.monitoring._chunks import MIN_CHUNK_ROWS, MIN_REFERENCE_CHUNKS, PERIODS
from core.monitoring._report import monitor
from core.monitoring._setup import METHODS
from core.monitoring._store import alerts, deliveries, get, latest_alerts, reports, set_webhook
from core.monitoring._views import alerts_table, distributions, drift_timeline, timeline
from core.progress import Progress

__all__ = ["METHODS", "MIN_CHUNK_ROWS", "MIN_REFERENCE_CHUNKS", "PERIODS", "alerts", "alerts_table", "deliveries",
           "distributions", "drift_timeline", "get", "latest_alerts", "monitor", "reports", "retrain_from_alert",
           "set_webhook", "timeline"]


def retrain_from_alert(lake: Lake, alert_id: str, *, actor: str, dataset: Optional[str] = None,
                       progress: Optional[Progress] = None) -> dict:
    """Act on an alert through the usual path (core.operations.retrain): retrain the alerted model on its newest
    data, review the new run, register it as challenger and put it through the gate against the champion."""
    from core.monitoring._store import alert
    from core.operations import retrain

    found = alert(lake, alert_id)
    result = retrain.retrain(lake, found["model"], actor=actor, dataset=dataset, progress=progress)
    return {"alert_id": alert_id, "alert": found["message"], **result}
