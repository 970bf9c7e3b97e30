"""What a crash leaves behind, found and (on request) removed: `python -m core doctor [--repair]`.

A job killed mid-write (kill -9, out of memory, a power cut) cannot clean up after itself. The lake
stays consistent (a write is one transaction), but debris stays on disk:
- Parquet files in the data path that no snapshot references (DuckLake writes the files, then commits);
  found and removed with DuckLake's own `ducklake_delete_orphaned_files`;
- files DuckLake already scheduled for deletion (`ducklake_cleanup_old_files`);
- model artifacts (LAKE/artifacts/*.skops) whose run was never recorded;
- spool folders and open-markers in LAKE/tmp/ of processes that no longer run (core/scratch.py);
- a demo whose build stopped half-way (core/demo.py `state`): completed by building it again.

Nothing a running process may still own is touched: a file counts as debris only when it is older than
the moment the earliest other live process opened the lake (each job opens the lake before writing),
and a spool folder only when its owner process is gone.

Snapshots are not expired. Dataset and feature-set versions are tagged snapshots read with time travel,
runs record the snapshot of their input, and the audit trail is checked against the snapshot history,
so expiring old snapshots would break what the lake promises; the report says how many there are.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

from core.lake import audit, permissions, scratch
from core.data import demo
from core.lake import Lake
from core.progress import Progress, report

ARTIFACT_FOLDER = "artifacts"


def _cutoff(lake: Lake) -> float:
    """Files last changed before this moment (epoch seconds) cannot belong to a running job."""
    since = scratch.live_since(lake.config.folder)
    return min(since, time.time()) if since is not None else time.time()


def _orphan_files(lake: Lake, cutoff: float) -> tuple[list[dict], list[dict]]:
    """Untracked files in the data path, by DuckLake's own listing: (debris last changed before the
    cutoff, newer ones a live job may still commit)."""
    with lake.reading() as cur:
        every = [row[0] for row in cur.execute(
            "SELECT path FROM ducklake_delete_orphaned_files('lake', dry_run => true, cleanup_all => true)").fetchall()]
        old = {row[0] for row in cur.execute(
            "SELECT path FROM ducklake_delete_orphaned_files('lake', dry_run => true, older_than => to_timestamp(?))",
            [cutoff]).fetchall()}
    debris, recent = [], []
    for path in every:
        (debris if path in old else recent).append({"path": path, "bytes": _size(path)})
    return debris, recent


def _size(path: str) -> Optional[int]:
    try:
        return os.stat(path).st_size
    except OSError:
        return None  # an s3:// path, or gone meanwhile


def _scheduled_files(lake: Lake) -> list[str]:
    with lake.reading() as cur:
        return [row[0] for row in cur.execute(
            "SELECT path FROM ducklake_cleanup_old_files('lake', dry_run => true, cleanup_all => true)").fetchall()]


def _orphan_artifacts(lake: Lake, cutoff: float) -> tuple[list[dict], list[dict]]:
    """Artifacts no run or model version names: (older than the cutoff, newer: a training job may be committing)."""
    folder = Path(lake.config.folder) / ARTIFACT_FOLDER
    if not folder.is_dir():
        return [], []
    named = {row[0] for row in lake.query(
        "SELECT artifact FROM lake.assay.runs UNION SELECT artifact FROM lake.assay.model_versions")}
    old, recent = [], []
    for path in sorted(folder.iterdir()):
        relative = str(path.relative_to(lake.config.folder))
        if not path.is_file() or relative in named:
            continue
        info = path.stat()
        (old if info.st_mtime < cutoff else recent).append({"path": str(path), "bytes": info.st_size})
    return old, recent


def _snapshots(lake: Lake) -> dict:
    total, tagged = lake.query("SELECT count(*), count(commit_extra_info) FROM lake.snapshots()")[0]
    return {"total": int(total), "tagged": int(tagged), "expired": 0,
            "note": "snapshots are kept: versions are tagged snapshots and the audit trail is checked against them"}


def _spool(lake: Lake) -> tuple[list[dict], list[dict]]:
    """Spool folders under LAKE/tmp/: (owner gone, owner running). Open-markers are bookkeeping, not listed."""
    dead, live = [], []
    for entry in scratch.entries(lake.config.folder):
        if entry.path.is_dir():
            (live if entry.alive else dead).append({"path": str(entry.path), "bytes": entry.bytes, "pid": entry.pid})
    return dead, live


def examine(lake: Lake) -> dict:
    """The report: what is debris (removable) and what is left alone because a live process may own it."""
    cutoff = _cutoff(lake)
    files, files_recent = _orphan_files(lake, cutoff)
    artifacts, artifacts_recent = _orphan_artifacts(lake, cutoff)
    spool, spool_live = _spool(lake)
    state = demo.state(lake)
    scheduled = _scheduled_files(lake)
    found = {
        "orphan_files": files,
        "scheduled_files": scheduled,
        "orphan_artifacts": artifacts,
        "spool": spool,
        "demo": state,
        "left_alone": {"recent_files": files_recent, "recent_artifacts": artifacts_recent, "live_spool": spool_live},
        "snapshots": _snapshots(lake),
        "audit": audit.verify(lake),
    }
    found["debris"] = (len(files) + len(scheduled) + len(artifacts) + len(spool)
                       + (1 if state["state"] == "incomplete" else 0))
    found["debris_bytes"] = sum((e["bytes"] or 0) for e in files + artifacts + spool)
    return found


def repair(lake: Lake, *, actor: str, progress: Optional[Progress] = None) -> dict:
    """Remove the debris `examine` finds (never what a live process may own) and complete a half-built demo.
    Deleting files is an administrator's act, and it is recorded in the audit trail."""
    permissions.require(lake, actor, "repair")
    found = examine(lake)
    cutoff = _cutoff(lake)
    removed: dict = {"orphan_files": 0, "scheduled_files": 0, "orphan_artifacts": 0, "spool": 0, "demo": None}
    report(progress, 0.1, "Removing spool folders of processes that are gone")
    removed["spool"] = sum(1 for e in scratch.sweep(lake.config.folder) if not e.path.name.startswith("open-"))
    report(progress, 0.3, "Deleting untracked data files (DuckLake: ducklake_delete_orphaned_files)")
    with lake.reading() as cur:
        removed["orphan_files"] = len(cur.execute(
            "SELECT path FROM ducklake_delete_orphaned_files('lake', older_than => to_timestamp(?))",
            [cutoff]).fetchall())
        report(progress, 0.5, "Deleting files scheduled for deletion (DuckLake: ducklake_cleanup_old_files)")
        removed["scheduled_files"] = len(cur.execute(
            "SELECT path FROM ducklake_cleanup_old_files('lake', older_than => to_timestamp(?))", [cutoff]).fetchall())
    for entry in found["orphan_artifacts"]:
        Path(entry["path"]).unlink(missing_ok=True)
        removed["orphan_artifacts"] += 1
    if found["demo"]["state"] == "incomplete":
        report(progress, 0.6, "Completing the half-built demo")
        scaled = (lambda f, m: progress(0.6 + 0.35 * f, m)) if progress else None
        removed["demo"] = demo.repair(lake, actor=actor, progress=scaled)
    if any(removed[k] for k in ("orphan_files", "scheduled_files", "orphan_artifacts", "spool")):
        counts = {k: v for k, v in removed.items() if k != "demo"}
        lake.write(lambda cur: None, actor=actor, action="repair", message="repair lake debris (doctor)", tag="doctor",
                   details={**counts, "bytes": found["debris_bytes"]})
    report(progress, 1.0, "Done")
    after = examine(lake)
    return {"repaired": removed, "before": _summary(found), "after": _summary(after), "audit": after["audit"]}


def _summary(found: dict) -> dict:
    return {"orphan_files": len(found["orphan_files"]), "scheduled_files": len(found["scheduled_files"]),
            "orphan_artifacts": len(found["orphan_artifacts"]),
            "spool": len(found["spool"]),
            "demo": found["demo"]["state"], "debris": found["debris"], "debris_bytes": found["debris_bytes"]}
