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


_JSON = ("stakeholders", "data_sources", "success_metrics")


def _usecase(*, name: str, objective: Optional[str], owner: Optional[str], stakeholders: Optional[list],
             data_sources: Optional[list], success_metrics: Optional[list], created_by: Optional[str],
             created_at: Optional[datetime]) -> UseCase:
    """A use case from its row (records decodes the JSON columns; NULL reads as empty)."""
    return UseCase(name=name, objective=objective or "", owner=owner or "", stakeholders=tuple(stakeholders or ()),
                   data_sources=tuple(data_sources or ()),
                   success_metrics=tuple(SuccessMetric(**m) for m in success_metrics or ()),
                   created_by=created_by or "", created_at=created_at)


def list_usecases(lake: Lake) -> list[UseCase]:
    return lake.records("SELECT * FROM lake.assay.usecases ORDER BY name = 'default' DESC, name", into=_usecase, json=_JSON)


def get(lake: Lake, name: str) -> UseCase:
    found = lake.records("SELECT * FROM lake.assay.usecases WHERE name = ?", [name], into=_usecase, json=_JSON)
    if not found:
        raise NotFoundError(f"No use case named {name!r}. Create it first (`python -m core usecase add {name} "
                            "--objective ...`) or pick one of `python -m core usecases`.")
    return found[0]


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
