"""/metrics in Prometheus' text exposition format (version 0.0.4), from the same snapshot as the JSON."""
from __future__ import annotations

from core.operations.serve._stats import BUCKETS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def prometheus(snapshot: dict) -> str:
    lines: list[str] = []

    def family(name: str, kind: str, text: str, samples: list[tuple[dict, float]]) -> None:
        lines.extend([f"# HELP {name} {text}", f"# TYPE {name} {kind}"])
        for labels, value in samples:
            inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{inner}}} {value}" if inner else f"{name} {value}")

    family("assay_endpoint_info", "gauge", "The model version in service and its decision threshold.",
           [({"model": snapshot["model"], "threshold": snapshot["threshold"]}, 1)])
    family("assay_endpoint_requests_total", "counter", "Prediction requests answered, by HTTP status.",
           [({"status": s}, n) for s, n in snapshot["statuses"].items()] or [({"status": "200"}, 0)])
    family("assay_endpoint_errors_total", "counter", "Refused or failed requests (any path), by reason.",
           [({"reason": r}, n) for r, n in sorted(snapshot["errors_by_kind"].items())] or [({"reason": "none"}, 0)])
    family("assay_endpoint_rows_total", "counter", "Rows predicted.", [({}, snapshot["rows"])])
    family("assay_endpoint_predict_calls_total", "counter", "Calls of the model (one per micro-batch).",
           [({}, snapshot["predict_calls"])])
    family("assay_endpoint_batched_requests_total", "counter", "Requests predicted in those calls.",
           [({}, snapshot["batched_requests"])])
    family("assay_endpoint_decisions_total", "counter", "Predictions answered, by predicted class.",
           [({"prediction": p}, n) for p, n in sorted(snapshot["decisions"].items())])
    cumulative, samples = 0, []
    for bound, n in zip([*BUCKETS, "+Inf"], snapshot["latency_buckets"]):
        cumulative += n
        samples.append(({"le": bound}, cumulative))
    name = "assay_endpoint_request_duration_seconds"
    lines.extend([f"# HELP {name} Time from a prediction request's arrival to its answer.", f"# TYPE {name} histogram"])
    lines.extend(f'{name}_bucket{{le="{labels["le"]}"}} {value}' for labels, value in samples)
    lines.extend([f"{name}_sum {snapshot['latency_seconds_sum']}", f"{name}_count {cumulative}"])
    written = snapshot["statistics"]
    family("assay_endpoint_statistics_pending_requests", "gauge", "Requests whose statistics are not in the lake yet.",
           [({}, written["pending_requests"])])
    family("assay_endpoint_statistics_jobs_written_total", "counter", "Statistics windows written to the lake.",
           [({}, written["jobs"])])
    family("assay_endpoint_statistics_write_failures_total", "counter", "Failed writes of statistics (retried).",
           [({}, written["failures"])])
    return "\n".join(lines) + "\n"
