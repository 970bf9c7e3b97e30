"""Monitoring reports in the lake: the report, every chunk (reference and analysis) and every alert written in
one transaction; webhook deliveries recorded beside them; and the reads the pages and the CLI use."""
from __future__ import annotations

import json
from typing import Optional

from core.errors import NotFoundError
from core.lake import Lake, settings


def write(lake: Lake, setup, result: dict, reference: list, judged: list, distributions: list, *, actor: str) -> None:
    version, report_id = setup.version, result["report_id"]
    usecase = setup.run.usecase
    chunk_rows = [(report_id, "reference", r["chunk"], _text(r["start"]), _text(r["end"]), r["rows"], r["labelled"],
                   _json(r["estimated"]), _json(r["realized"]),
                   _json({"pca": r["pca"], "domain_classifier": r["domain_classifier"]}), None) for r in reference]
    chunk_rows += [(report_id, "analysis", r["chunk"], _text(r["start"]), _text(r["end"]), r["rows"], r["labelled"],
                    _json(r["estimated"]), _json(r["realized"]), _json(r["drift"]), _json(shown))
                   for r, shown in zip(judged, distributions)]
    alert_rows = [(f"{report_id}-{r['chunk']}-{i}", report_id, usecase, version.name, version.version, r["chunk"],
                   _text(r["start"]), a["kind"], a["metric"], a["value"], a["lower"], a["upper"], a["message"])
                  for r in judged for i, a in enumerate(r["alerts"])]
    stored = {k: v for k, v in result.items() if k != "chunks"}

    def work(cur) -> None:
        cur.execute("INSERT INTO lake.assay.monitoring_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [report_id, usecase, version.name, version.version, result["current"], result["method"],
                     _json(result["chunking"]), _json(result["metrics"]), _json(result["reference"]),
                     len(judged), result["alerts"], _json(stored), actor])
        cur.executemany("INSERT INTO lake.assay.monitoring_chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chunk_rows)
        if alert_rows:
            cur.executemany("INSERT INTO lake.assay.monitoring_alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                            alert_rows)

    lake.write(work, actor=actor, action="monitor", message=f"monitor {version.ref} on {result['current']}",
               tag=f"monitor:{report_id}", details={"chunks": len(judged), "alerts": result["alerts"]})


def record_delivery(lake: Lake, setup, report_id: str, outcome: dict, *, actor: str) -> None:
    def work(cur) -> None:
        cur.execute("INSERT INTO lake.assay.monitoring_webhooks VALUES (?, ?, ?, ?, ?, now())",
                    [report_id, outcome["url"], outcome["ok"], outcome["status"], outcome["error"]])

    lake.write(work, actor=actor, action="monitor", message=f"monitor {setup.version.ref}: webhook "
               f"{'delivered' if outcome['ok'] else 'failed'}", tag=f"monitor:{report_id}:webhook",
               details={"ok": outcome["ok"], "status": outcome["status"]})


def reports(lake: Lake, *, model: Optional[str] = None, usecase: Optional[str] = None, limit: int = 100) -> list[dict]:
    """The newest reports first: id, model version, current set, method, chunks, alerts, when."""
    sql, params = ("SELECT report_id, model, model_version, current, method, chunks, alerts, created_by, created_at "
                   "FROM lake.assay.monitoring_reports WHERE true"), []
    if model:
        sql, params = sql + " AND model = ?", params + [model]
    if usecase:
        sql, params = sql + " AND usecase = ?", params + [usecase]
    rows = lake.query(sql + " ORDER BY created_at DESC LIMIT ?", params + [int(limit)])
    names = ("report_id", "model", "model_version", "current", "method", "chunks", "alerts", "created_by", "created_at")
    return [dict(zip(names, r)) for r in rows]


def get(lake: Lake, report_id: str) -> dict:
    """A stored report with its reference and analysis chunks (each with its feature distributions) and alerts."""
    rows = lake.query("SELECT result, created_by, created_at FROM lake.assay.monitoring_reports WHERE report_id = ?",
                      [report_id])
    if not rows:
        raise NotFoundError(f"No monitoring report {report_id!r}; `python -m core monitor-reports` lists them.")
    result = {**json.loads(rows[0][0]), "created_by": rows[0][1], "created_at": rows[0][2]}
    chunks = lake.query("SELECT period, chunk, chunk_start, chunk_end, rows, labelled, estimated, realized, drift, "
                        "distributions FROM lake.assay.monitoring_chunks WHERE report_id = ? ORDER BY period DESC, chunk",
                        [report_id])
    result["reference_chunks"], result["chunks"] = [], []
    for period, chunk, start, end, n, labelled, estimated, realized, drift, shown in chunks:
        entry = {"chunk": chunk, "start": start, "end": end, "rows": n, "labelled": labelled,
                 "estimated": json.loads(estimated), "realized": json.loads(realized), "drift": json.loads(drift)}
        if period == "reference":
            result["reference_chunks"].append(entry)
        else:
            result["chunks"].append({**entry, "distributions": json.loads(shown or "{}")})
    listed = alerts(lake, report_id=report_id)
    for entry in result["chunks"]:
        entry["alerts"] = [a for a in listed if a["chunk"] == entry["chunk"]]
    result["webhook"] = deliveries(lake, report_id)
    return result


def alerts(lake: Lake, *, report_id: Optional[str] = None, model: Optional[str] = None, alert_id: Optional[str] = None,
           limit: int = 1000) -> list[dict]:
    sql, params = ("SELECT alert_id, report_id, model, model_version, chunk, chunk_start, kind, metric, value, lower, "
                   "upper, message, created_at FROM lake.assay.monitoring_alerts WHERE true"), []
    for column, value in (("report_id", report_id), ("model", model), ("alert_id", alert_id)):
        if value:
            sql, params = sql + f" AND {column} = ?", params + [value]
    names = ("alert_id", "report_id", "model", "model_version", "chunk", "chunk_start", "kind", "metric", "value",
             "lower", "upper", "message", "created_at")
    order = " ORDER BY created_at DESC, report_id, chunk, CAST(regexp_extract(alert_id, '(\\d+)$') AS INTEGER) LIMIT ?"
    rows = lake.query(sql + order, params + [int(limit)])  # a chunk's alerts in the order they were raised
    return [dict(zip(names, r)) for r in rows]


def alert(lake: Lake, alert_id: str) -> dict:
    found = alerts(lake, alert_id=alert_id, limit=1)
    if not found:
        raise NotFoundError(f"No monitoring alert {alert_id!r}; `python -m core monitor-reports --report ID` lists a "
                            "report's alerts.")
    return found[0]


def deliveries(lake: Lake, report_id: str) -> list[dict]:
    rows = lake.query("SELECT url, ok, status, error, sent_at FROM lake.assay.monitoring_webhooks WHERE report_id = ? "
                      "ORDER BY sent_at", [report_id])
    return [dict(zip(("url", "ok", "status", "error", "sent_at"), r)) for r in rows]


def latest_alerts(lake: Lake, *, usecase: Optional[str] = None) -> list[dict]:
    """Per model version, its newest monitoring report when that report raised alerts (for Lifecycle)."""
    sql = ("SELECT model, model_version, report_id, current, alerts, created_at FROM lake.assay.monitoring_reports "
           + ("WHERE usecase = ? " if usecase else "")
           + "QUALIFY row_number() OVER (PARTITION BY model, model_version ORDER BY created_at DESC) = 1 "
           "ORDER BY model, model_version")
    rows = lake.query(sql, [usecase] if usecase else [])
    return [{"model": f"{m}@{v}", "report_id": r, "current": c, "alerts": n, "created_at": t}
            for m, v, r, c, n, t in rows if n]


def set_webhook(lake: Lake, url: Optional[str], *, actor: str) -> dict:
    """Store (or with None, clear) the webhook told about alerts; configuration, so an admin's action."""
    from core.monitoring._alerts import WEBHOOK_SETTING, check_url, shown_url

    value = check_url(url) if url else ""
    settings.put(lake, WEBHOOK_SETTING, value, actor=actor)
    return {"webhook": shown_url(value) if value else None}


def _json(value) -> str:
    return json.dumps(value, default=str, allow_nan=False)


def _text(value) -> Optional[str]:
    return None if value is None else str(value)
