"""Experiment tracking in the lake: one row per run (input, split, algorithm, metrics, who, when,
code version) with its curves, and the model artifact in skops format with its SHA-256.

Artifacts live in LAKE/artifacts/RUN_ID.skops. Loading checks the hash first (a changed file
is refused) and lets skops rebuild only the types on an explicit trusted list: never pickle.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from core.config import PROJECT_ROOT
from core.errors import AssayError, InputError, NotFoundError
from core.lake import Lake, records
from core.training._held_out import record_held_out

# skops rebuilds scikit-learn and numpy types it knows; these are the others our models contain.
TRUSTED_TYPES = frozenset({
    "collections.OrderedDict", "numpy.dtype", "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor", "core.training._pipelines.FrameCleaner", "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "core.training._mitigated.GroupThresholdModel", "core.training._mitigated.MixtureModel",
})


class ArtifactError(AssayError):
    """A model artifact is missing, changed since it was recorded, or holds untrusted types."""


@dataclass(frozen=True)
class Run:
    run_id: str
    batch_id: str
    usecase: str
    input_kind: str
    input_name: str
    input_version: int
    input_snapshot: int
    target: str
    task: str
    positive: Any
    classes: Optional[list]
    split: dict
    algorithm: str
    params: dict
    features: list[dict]
    sensitive: list[str]
    excluded: list[str]
    warnings: list[str]
    metrics: dict
    train_rows: int
    test_rows: int
    duration_seconds: float
    code_version: str
    artifact: str
    artifact_sha256: str
    created_by: str
    created_at: datetime

    @property
    def input_ref(self) -> str:
        return f"{self.input_name}@{self.input_version}"

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.features]

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items()}
        out["created_at"] = self.created_at.isoformat()
        out["input"] = f"{self.input_kind}:{self.input_ref}"
        return out


def code_version() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if done.returncode != 0:
        return "unknown"
    return done.stdout.strip() + ("+modified" if dirty.stdout.strip() else "")


def artifact_folder(lake: Lake) -> Path:
    folder = lake.config.folder / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_artifact(lake: Lake, run_id: str, model: Any) -> tuple[str, str]:
    import skops.io as sio

    data = sio.dumps(model)
    path = artifact_folder(lake) / f"{run_id}.skops"
    path.write_bytes(data)
    return str(path.relative_to(lake.config.folder)), hashlib.sha256(data).hexdigest()


def load_model(lake: Lake, run: Run) -> Any:
    """The run's Pipeline, after checking the artifact's SHA-256 and the types it holds."""
    path = lake.config.folder / run.artifact
    try:
        data = path.read_bytes()
    except OSError:
        raise ArtifactError(f"The model file of run {run.run_id} is missing ({path}).") from None
    return model_from_bytes(data, run)


def model_from_bytes(data: bytes, run: Run) -> Any:
    """The run's Pipeline from its artifact's bytes (wherever they were read), hash and types checked."""
    import skops.io as sio

    digest = hashlib.sha256(data).hexdigest()
    if digest != run.artifact_sha256:
        raise ArtifactError(f"The model file of run {run.run_id} changed after it was recorded (SHA-256 {digest[:12]}… "
                            f"instead of {run.artifact_sha256[:12]}…); it is not loaded.")
    untrusted = set(sio.get_untrusted_types(data=data))
    unknown = sorted(untrusted - TRUSTED_TYPES)
    if unknown:
        raise ArtifactError(f"The model file of run {run.run_id} holds types outside the trusted list: {unknown}.")
    return sio.loads(data, trusted=sorted(untrusted))


def save_run(lake: Lake, run: dict, model: Any, curves: pd.DataFrame, test_row_ids, *, actor: str, action: str,
             message: str) -> Run:
    """Save the model's artifact, then record the run (with its artifact and hash) in one write; a failed write
    leaves no artifact behind (no half-written run)."""
    artifact, digest = save_artifact(lake, run["run_id"], model)
    run = {**run, "artifact": artifact, "artifact_sha256": digest}
    try:
        lake.write(lambda cur: record(cur, run, curves, test_row_ids), actor=actor, action=action, message=message,
                   tag=f"run:{run['run_id']}")
    except BaseException:
        (lake.config.folder / artifact).unlink(missing_ok=True)
        raise
    return get(lake, run["run_id"])


def record(cur, run: dict, curves: pd.DataFrame, test_row_ids=()) -> None:
    """Insert a run, its curves and the lake row ids of its held-out rows (inside the caller's transaction)."""
    columns = ["run_id", "batch_id", "usecase", "input_kind", "input_name", "input_version", "input_snapshot", "target",
               "task", "positive", "classes", "split", "algorithm", "params", "features", "sensitive", "excluded",
               "warnings", "metrics", "train_rows", "test_rows", "duration_seconds", "code_version", "artifact",
               "artifact_sha256", "created_by"]
    values = [json.dumps(run[c], default=str) if c in _JSON else run[c] for c in columns]
    values[columns.index("positive")] = None if run["positive"] is None else json.dumps(run["positive"], default=str)
    cur.execute(f"INSERT INTO lake.assay.runs VALUES ({', '.join('?' for _ in columns)}, now())", values)
    frame = curves.assign(run_id=run["run_id"])[["run_id", "curve", "label", "x", "y", "threshold"]]
    cur.register("run_curves_frame", frame)
    cur.execute("INSERT INTO lake.assay.run_curves SELECT * FROM run_curves_frame")
    cur.unregister("run_curves_frame")
    record_held_out(cur, run["run_id"], test_row_ids)


_JSON = ("classes", "split", "params", "features", "sensitive", "excluded", "warnings", "metrics", "positive")


def get(lake: Lake, run_id: str) -> Run:
    if not isinstance(run_id, str) or not run_id.strip():
        raise InputError("Give a run id (`python -m core runs` lists them).")
    with lake.reading() as cur:
        return read(cur, run_id.strip())


def read(cur, run_id: str) -> Run:
    """One run, read with the caller's cursor (inside its reading or transaction)."""
    found = records(cur, "SELECT * FROM lake.assay.runs WHERE run_id = ?", [run_id], into=Run, json=_JSON)
    if not found:
        raise NotFoundError(f"No run {run_id!r}. `python -m core runs` lists the runs.")
    return found[0]


def list_runs(lake: Lake, *, usecase: Optional[str] = None, input_name: Optional[str] = None) -> list[Run]:
    sql, params = "SELECT * FROM lake.assay.runs WHERE true", []
    if usecase:
        sql, params = sql + " AND usecase = ?", params + [usecase]
    if input_name:
        sql, params = sql + " AND input_name = ?", params + [input_name]
    return lake.records(sql + " ORDER BY created_at DESC, algorithm", params, into=Run, json=_JSON)


def curves(lake: Lake, run_ids: list[str]) -> pd.DataFrame:
    if not run_ids:
        return pd.DataFrame(columns=["run_id", "curve", "label", "x", "y", "threshold"])
    marks = ", ".join("?" for _ in run_ids)
    with lake.reading() as cur:
        return cur.execute(f"SELECT * FROM lake.assay.run_curves WHERE run_id IN ({marks}) ORDER BY run_id, curve, x",
                           run_ids).df()
