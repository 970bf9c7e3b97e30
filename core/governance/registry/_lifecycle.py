"""Where versions stand and where they came from: lineage (datasets -> feature set -> run -> version -> reviews,
scoring jobs), the audited history of a model, and the lifecycle of a use case's versions."""
from __future__ import annotations

import json
from typing import Optional

from core import review, training
from core.lake import Lake
from core.governance.registry._signoffs import approval_status, describe_must_fix, signoffs
from core.governance.registry._versions import _all_version_runs, get, list_models, versions


def lineage(lake: Lake, ref: str) -> dict:
    """What this version came from: dataset versions → feature set → run → model version (→ reviews)."""
    version = get(lake, ref)
    run = training.get(lake, version.run_id)
    nodes = [{"id": f"model:{version.ref}", "kind": "model version", "label": version.ref},
             {"id": f"run:{run.run_id}", "kind": "run", "label": f"{run.algorithm} {run.run_id}"}]
    edges = [(f"run:{run.run_id}", f"model:{version.ref}")]
    base = run.params.get("base_run") if isinstance(run.params, dict) else None
    if base:
        nodes.append({"id": f"run:{base}", "kind": "run", "label": f"base run {base}"})
        edges.append((f"run:{base}", f"run:{run.run_id}"))
    source = f"{run.input_kind}:{run.input_ref}"
    nodes.append({"id": source, "kind": run.input_kind.replace("_", " "), "label": run.input_ref})
    edges.append((source, f"run:{run.run_id}"))
    if run.input_kind == "feature_set":
        from core import features

        feature_set = features.get(lake, run.input_ref)
        for parent in feature_set.lineage:
            ref_text = f"{parent['dataset']}@{parent['version']}"
            nodes.append({"id": f"dataset:{ref_text}", "kind": "dataset", "label": ref_text})
            edges.append((f"dataset:{ref_text}", source))
    for r in review.list_reviews(lake, run_id=run.run_id):
        nodes.append({"id": f"review:{r.review_id}", "kind": "review", "label": f"review {r.review_id}"})
        edges.append((f"run:{run.run_id}", f"review:{r.review_id}"))
    jobs = lake.query("SELECT job_id, output, input FROM lake.assay.jobs WHERE model = ? AND model_version = ? "
                      "AND status = 'succeeded' AND output IS NOT NULL ORDER BY created_at DESC LIMIT 5",
                      [version.name, version.version])
    for job_id, output, source in jobs:
        nodes.append({"id": f"job:{job_id}", "kind": "scoring job", "label": f"{source} → {output}"})
        edges.append((f"model:{version.ref}", f"job:{job_id}"))
    return {"nodes": nodes, "edges": [{"from": a, "to": b} for a, b in edges]}


def history(lake: Lake, name: str) -> list[dict]:
    from core.lake import audit

    return [e for e in audit.entries(lake, limit=500, obj=f"model:{name}@")]


def lifecycle(lake: Lake, usecase: Optional[str] = None) -> dict:
    """Where every model version of a use case stands, what awaits approval, and the runs not registered."""
    from core.lake import audit

    models = list_models(lake, usecase=usecase)
    promotions = audit.entries(lake, limit=10_000, action="promote")
    once_champion = {(e["object"].removeprefix("model:")) for e in promotions if e["details"].get("alias") == "champion"}
    stages, pending = [], []
    open_by_model: dict = {}
    for model in models:
        for version in versions(lake, model["name"]):
            status = approval_status(lake, version.ref)
            if "champion" in version.aliases:
                stage = "champion"
            elif version.ref in once_champion:
                stage = "retired"
            elif version.gate.get("status") == "failed":
                stage = "failed gate"
            elif status["approved"]:
                stage = "approved"
            elif signoffs(lake, version.ref):
                stage = "awaiting sign-off"
            else:
                stage = "registered"
            last_job = lake.query("SELECT created_at, rows FROM lake.assay.jobs WHERE model = ? AND model_version = ? "
                                  "ORDER BY created_at DESC LIMIT 1", [version.name, version.version])
            last_drift = lake.query("SELECT result FROM lake.assay.drift_reports WHERE model = ? AND model_version = ? "
                                    "ORDER BY created_at DESC LIMIT 1", [version.name, version.version])
            drift_alert = bool(last_drift) and json.loads(last_drift[0][0]).get("retrain_recommended", False)
            entry = {"model": version.ref, "stage": stage, "aliases": list(version.aliases), "task": version.task,
                     "gate": version.gate.get("status"), "review_id": version.review_id,
                     "approved": status["approved"], "open_must_fix": len(status["open_must_fix"]),
                     "attention": _attention(stage, status), "last_scoring": last_job[0][0] if last_job else None,
                     "drift_alert": drift_alert, "created_by": version.created_by, "created_at": version.created_at}
            stages.append(entry)
            open_by_model[version.ref] = status["open_must_fix"]
            if stage in ("registered", "awaiting sign-off", "approved"):
                missing = [role for role, r in status["roles"].items() if not r["met"]]
                if missing:
                    pending.append({"model": version.ref, "waiting_for": missing})
    runs = training.list_runs(lake, usecase=usecase)
    reviewed = {r.run_id for r in review.list_reviews(lake, usecase=usecase)}
    in_registry = {v["run_id"] for v in _all_version_runs(lake)}
    unregistered = [{"run_id": r.run_id, "algorithm": r.algorithm, "stage": "reviewed" if r.run_id in reviewed else "trained",
                     "created_at": r.created_at} for r in runs if r.run_id not in in_registry]
    blocked = [{"model": v["model"], "stage": v["stage"], "attention": v["attention"], "items": open_by_model[v["model"]]}
               for v in stages if open_by_model[v["model"]]]
    return {"versions": stages, "pending_approvals": pending, "unregistered_runs": unregistered,
            "open_must_fix": blocked,  # runs reviewed counts every reviewed run, the registered ones (the champion's) too
            "runs": {"trained": len(runs), "reviewed": sum(r.run_id in reviewed for r in runs)}}


def _attention(stage: str, status: dict) -> str:
    """What a decision-maker must see beside the stage: 'Approved, but 1 must-fix action open: ...'."""
    items = status["open_must_fix"]
    if not items:
        return ""
    head = {"champion": "Champion and approved" if status["approved"] else "Champion",
            "approved": "Approved"}.get(stage, stage.capitalize())
    return f"{head}, but {len(items)} must-fix action{'s' if len(items) > 1 else ''} open: {describe_must_fix(items)}"
