"""The feature store: materialize a spec as a new version of lake.features.NAME and register it.

Registration records the spec, the source datasets with their versions and snapshots
(lineage), entity, timestamp, label, row count and per-feature statistics, in the same
transaction (one snapshot, tagged `features:NAME@VERSION`) as the table itself.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Optional

import duckdb

from core.lake import permissions
from core.data import usecases
from core.data.datasets import Column, VersionedTable, pick_version
from core.errors import InputError
from core.features._build import _query_error, compile_spec
from core.features._spec import FeatureSpec, spec_from_dict
from core.lake import Lake
from core.names import check_name, parse_dataset_ref
from core.data.profile import DatasetProfile, profile_with
from core.progress import Progress, report


@dataclass(frozen=True)
class FeatureSetVersion(VersionedTable):
    name: str
    version: int
    usecase: str
    spec: FeatureSpec
    description: str
    owner: str
    lineage: tuple[dict, ...]
    entity: str
    timestamp: Optional[str]
    label: Optional[str]
    rows: int
    columns: tuple[Column, ...]
    statistics: dict
    created_by: str
    created_at: datetime
    snapshot: Optional[int]
    SCHEMA: ClassVar[str] = "features"

    @property
    def features(self) -> list[str]:
        """The model inputs: every column but the entity, the timestamp and the label."""
        return [c for c in self.column_names if c not in (self.entity, self.timestamp, self.label)]

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "usecase": self.usecase, "spec": self.spec.to_dict(),
                "description": self.description, "owner": self.owner, "lineage": list(self.lineage),
                "entity": self.entity, "timestamp": self.timestamp, "label": self.label, "rows": self.rows,
                "columns": [{"name": c.name, "type": c.type} for c in self.columns], "statistics": self.statistics,
                "created_by": self.created_by, "created_at": self.created_at.isoformat(), "snapshot": self.snapshot}


def tag(name: str, version: int) -> str:
    return f"features:{name}@{version}"


@dataclass(frozen=True)
class _Pending:
    """The table being written, readable by the transaction that writes it."""
    ref: str
    table_sql: str
    columns: tuple


def build(lake: Lake, spec: FeatureSpec, *, actor: str, usecase: Optional[str] = None,
          progress: Optional[Progress] = None) -> FeatureSetVersion:
    """Compute the feature set in DuckDB, write it as the next version and register it, atomically."""
    permissions.require(lake, actor, "build")
    report(progress, 0.05, f"Checking the spec of {spec.name}")
    compiled = compile_spec(lake, spec)
    owner_case = usecase or spec.usecase or compiled.base.usecase
    usecases.get(lake, owner_case)
    table = f'lake.features."{check_name(spec.name)}"'

    def work(cur: duckdb.DuckDBPyConnection) -> int:
        version = cur.execute("SELECT coalesce(max(version), 0) + 1 FROM lake.assay.feature_sets WHERE name = ?",
                              [spec.name]).fetchall()[0][0]
        report(progress, 0.15, f"Building {spec.name} v{version} in DuckDB")
        try:
            cur.execute(f"CREATE OR REPLACE TABLE {table} AS {compiled.sql}")
        except duckdb.Error as exc:
            if "database is locked" in str(exc).lower() or "conflict" in str(exc).lower():
                raise
            raise _query_error(exc) from None
        rows = cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        if rows != compiled.base.rows:
            raise InputError(f"The build gave {rows:,} rows for {compiled.base.rows:,} base rows; a join duplicated "
                             "or lost rows. Check the join keys.")
        described = cur.execute(f"DESCRIBE {table}").fetchall()
        columns = tuple(Column(r[0], r[1]) for r in described)
        report(progress, 0.7, "Computing per-feature statistics")
        stats = profile_with(cur, _Pending(f"{spec.name}@{version}", table, columns))
        cur.execute("INSERT INTO lake.assay.feature_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())", [
            spec.name, version, owner_case, json.dumps(spec.to_dict()), spec.description, actor,
            json.dumps(compiled.lineage), spec.entity, spec.timestamp, spec.label, rows,
            json.dumps([{"name": c.name, "type": c.type} for c in columns]),
            json.dumps(stats.to_dict()), actor])
        return version

    version = lake.write(work, actor=actor, action="build", message=f"build feature set {spec.name}", tag=lambda v: tag(spec.name, v))
    report(progress, 1.0, f"Registered {spec.name}@{version}")
    return get(lake, f"{spec.name}@{version}")


_SELECT = """
    SELECT f.*, s.snapshot_id FROM lake.assay.feature_sets f
    LEFT JOIN (SELECT commit_extra_info, max(snapshot_id) AS snapshot_id FROM lake.snapshots()
               WHERE commit_extra_info LIKE 'features:%' GROUP BY 1) s
      ON s.commit_extra_info = 'features:' || f.name || '@' || f.version
"""


def _from_row(row: tuple) -> FeatureSetVersion:
    (name, version, usecase, spec, description, owner, lineage, entity, timestamp, label, rows, schema, statistics,
     created_by, created_at, snapshot) = row
    return FeatureSetVersion(
        name=name, version=version, usecase=usecase, spec=spec_from_dict(json.loads(spec)), description=description or "",
        owner=owner, lineage=tuple(json.loads(lineage)), entity=entity, timestamp=timestamp, label=label, rows=rows,
        columns=tuple(Column(c["name"], c["type"]) for c in json.loads(schema)), statistics=json.loads(statistics),
        created_by=created_by, created_at=created_at, snapshot=snapshot)


def get(lake: Lake, ref: str) -> FeatureSetVersion:
    parsed = parse_dataset_ref(ref)
    rows = lake.query(_SELECT + " WHERE f.name = ? ORDER BY f.version DESC", [parsed.name])
    return _from_row(pick_version(rows, parsed, what="feature set", listing="features list"))


def versions(lake: Lake, name: str) -> list[FeatureSetVersion]:
    check_name(name, what="feature set name")
    return [_from_row(r) for r in lake.query(_SELECT + " WHERE f.name = ? ORDER BY f.version DESC", [name])]


def latest(lake: Lake, *, usecase: Optional[str] = None, search: str = "") -> list[FeatureSetVersion]:
    """Newest version of each feature set, optionally of one use case and matching `search`
    (in name, description, owner or feature names)."""
    where, params = ("WHERE usecase = ?", [usecase]) if usecase else ("", [])
    rows = lake.query(f"SELECT * FROM ({_SELECT}) {where} "
                      "QUALIFY row_number() OVER (PARTITION BY name ORDER BY version DESC) = 1 ORDER BY name", params)
    found = [_from_row(r) for r in rows]
    needle = search.strip().lower()
    if needle:
        found = [f for f in found if needle in " ".join([f.name, f.description, f.owner, *f.column_names]).lower()]
    return found


def statistics_profile(version: FeatureSetVersion) -> DatasetProfile:
    """The per-feature statistics stored at registration, as a profile (for display)."""
    from core.data.profile import ColumnProfile

    raw = version.statistics
    columns = tuple(ColumnProfile(**{**c, "top_values": tuple(tuple(v) for v in c.get("top_values", ()))})
                    for c in raw["columns"])
    return DatasetProfile(dataset=version.ref, rows=raw["rows"], columns=columns, approximate=raw["approximate"])
