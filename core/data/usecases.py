"""Use cases: the top-level container every dataset, feature set, run and model belongs to."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

import duckdb

from core.errors import InputError, NotFoundError
from core.lake import Lake
from core.names import check_name

DEFAULT = "default"


@dataclass(frozen=True)
class SuccessMetric:
    metric: str
    target: float
    higher_is_better: bool = True


@dataclass(frozen=True)
class UseCase:
    name: str
    objective: str
    owner: str
    stakeholders: tuple[str, ...] = ()
    data_sources: tuple[str, ...] = ()
    success_metrics: tuple[SuccessMetric, ...] = field(default_factory=tuple)
    created_by: str = ""
    created_at: Optional[datetime] = None

    def to_dict(self) -> dict:
        return {"name": self.name, "objective": self.objective, "owner": self.owner,
                "stakeholders": list(self.stakeholders), "data_sources": list(self.data_sources),
                "success_metrics": [m.__dict__ for m in self.success_metrics],
                "created_by": self.created_by,
                "created_at": self.created_at.isoformat() if self.created_at else None}


def _from_row(row: tuple) -> UseCase:
    return UseCase(name=row[0], objective=row[1] or "", owner=row[2] or "",
                   stakeholders=tuple(json.loads(row[3] or "[]")), data_sources=tuple(json.loads(row[4] or "[]")),
                   success_metrics=tuple(SuccessMetric(**m) for m in json.loads(row[5] or "[]")),
                   created_by=row[6] or "", created_at=row[7])


def list_usecases(lake: Lake) -> list[UseCase]:
    return [_from_row(r) for r in lake.query("SELECT * FROM lake.assay.usecases ORDER BY name = 'default' DESC, name")]


def get(lake: Lake, name: str) -> UseCase:
    rows = lake.query("SELECT * FROM lake.assay.usecases WHERE name = ?", [name])
    if not rows:
        raise NotFoundError(f"No use case named {name!r}. Create it first (`python -m core usecase add {name} "
                            "--objective ...`) or pick one of `python -m core usecases`.")
    return _from_row(rows[0])


def add(lake: Lake, name: str, *, objective: str, actor: str, owner: Optional[str] = None,
        stakeholders: tuple[str, ...] = (), data_sources: tuple[str, ...] = (),
        success_metrics: tuple[SuccessMetric, ...] = ()) -> UseCase:
    check_name(name, what="use case name")
    if not objective or not objective.strip():
        raise InputError("A use case needs an objective: one sentence on what the model is for.")
    for metric in success_metrics:
        if not metric.metric.strip():
            raise InputError("Every success metric needs a name, such as 'roc_auc'.")

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        if cur.execute("SELECT count(*) FROM lake.assay.usecases WHERE name = ?", [name]).fetchall()[0][0]:
            raise InputError(f"A use case named {name!r} already exists; pick another name.")
        cur.execute("INSERT INTO lake.assay.usecases VALUES (?, ?, ?, ?, ?, ?, ?, now())", [
            name, objective.strip(), owner or actor, json.dumps(list(stakeholders)), json.dumps(list(data_sources)),
            json.dumps([m.__dict__ for m in success_metrics]), actor])

    lake.write(work, actor=actor, action="add", message=f"add use case {name}", tag=f"usecase:{name}")
    return get(lake, name)
