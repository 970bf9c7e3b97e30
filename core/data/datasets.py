"""Datasets in the lake: ingest a file or a DataFrame as a new version, list, resolve, read back.

Each ingest of a name replaces the table `lake.datasets.NAME` in one transaction that also
records the version in `lake.assay.dataset_versions`; the snapshot of that transaction is
tagged `dataset:NAME@VERSION`, so every version can be read back with DuckLake time travel.
Bad input raises InputError before or inside the transaction, so the lake stays as it was.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, ClassVar, Iterable, Optional

import duckdb
import pandas as pd

from core.lake import permissions, scratch
from core.data import sources, usecases
from core.errors import InputError, NotFoundError
from core.lake import Lake, sql_literal
from core.names import DatasetRef, check_name, parse_dataset_ref, quote_identifier
from core.progress import Progress, report


@dataclass(frozen=True)
class Column:
    name: str
    type: str


class VersionedTable:
    """What every versioned lake table (a dataset or feature-set version) answers alike."""
    SCHEMA: ClassVar[str] = "datasets"

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def table_sql(self) -> str:
        """FROM-clause text that reads exactly this version (names validated, snapshot an int)."""
        return f'lake.{self.SCHEMA}."{check_name(self.name)}" AT (VERSION => {int(self.snapshot)})'

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class DatasetVersion(VersionedTable):
    name: str
    version: int
    usecase: str
    source: str
    source_kind: str
    rows: int
    columns: tuple[Column, ...]
    digest: str
    description: str
    created_by: str
    created_at: datetime
    snapshot: Optional[int]

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "usecase": self.usecase, "source": self.source,
                "source_kind": self.source_kind, "rows": self.rows,
                "columns": [{"name": c.name, "type": c.type} for c in self.columns],
                "digest": self.digest, "description": self.description, "created_by": self.created_by,
                "created_at": self.created_at.isoformat(), "snapshot": self.snapshot}


def tag(name: str, version: int) -> str:
    return f"dataset:{name}@{version}"


def ingest_path(lake: Lake, path: str | Path, *, name: str, actor: str, usecase: str = "default",
                table: Optional[str] = None, description: str = "", source_label: Optional[str] = None,
                progress: Optional[Progress] = None) -> DatasetVersion:
    """Ingest a CSV, Parquet, JSON-lines file or a table of a DuckDB file as the next version of `name`."""
    permissions.require(lake, actor, "ingest")
    check_name(name, what="dataset name")
    usecases.get(lake, usecase)
    path = Path(path).expanduser()
    report(progress, 0.05, f"Checking {path.name}")
    source = sources.check_file(path, max_mb=lake.config.max_ingest_mb)
    label = source_label or str(path.resolve())
    report(progress, 0.15, "Computing the content digest")
    digest = sources.file_digest(path)
    report(progress, 0.3, f"Writing {name} to the lake")
    if source.kind == "duckdb":
        version = _ingest_duckdb_table(lake, source, table, name=name, actor=actor, usecase=usecase,
                                       description=description, label=label, digest=digest)
    else:
        version = _ingest_file(lake, source, name=name, actor=actor, usecase=usecase,
                               description=description, label=label, digest=digest)
    report(progress, 1.0, f"Ingested {version.rows:,} rows as {version.ref}")
    return version


def ingest_frame(lake: Lake, frame: pd.DataFrame, *, name: str, actor: str, usecase: str = "default",
                 source: str = "dataframe", description: str = "") -> DatasetVersion:
    """Ingest an in-memory DataFrame as the next version of `name`."""
    permissions.require(lake, actor, "ingest")
    if not isinstance(frame, pd.DataFrame):
        raise InputError("Expected a pandas DataFrame.")
    return ingest_chunks(lake, lambda: [frame], name=name, actor=actor, usecase=usecase, source=source,
                         description=description)


def ingest_chunks(lake: Lake, make_chunks: Callable[[], Iterable[pd.DataFrame]], *, name: str, actor: str,
                  usecase: str = "default", source: str = "dataframe", description: str = "",
                  progress: Optional[Progress] = None, expected_chunks: Optional[int] = None,
                  action: str = "ingest", message: Optional[str] = None,
                  also: Optional[Callable[[duckdb.DuckDBPyConnection, int], None]] = None) -> DatasetVersion:
    """Ingest DataFrames produced one after another as one version, with memory flat at one chunk.

    `also(cur, version)` runs inside the same transaction (a scoring job records itself there), and
    `action` (the permission checked and audited, "ingest" unless a scoring job writes) and `message`
    replace "ingest" and "ingest NAME".

    The chunks are spooled to Parquet files first: inserting them one by one inside the lake
    transaction would hold every row in memory until the commit (seen: 9.6 GB for the 10M demo).
    """
    check_name(name, what="dataset name")
    usecases.get(lake, usecase)
    digest = hashlib.sha256()
    with scratch.spool(lake.config.folder) as folder:  # under the lake, owned by this process (core/scratch.py)
        files = []
        for index, chunk in enumerate(make_chunks()):
            if index == 0:
                sources.check_column_names([c if isinstance(c, str) else "" for c in chunk.columns], source=source)
            path = Path(folder) / f"part-{index:05d}.parquet"
            chunk.to_parquet(path, index=False)
            files.append(str(path))
            digest.update(pd.util.hash_pandas_object(chunk, index=False).values.tobytes())
            if expected_chunks:
                report(progress, 0.9 * (index + 1) / expected_chunks, f"{name}: prepared part {index + 1} of {expected_chunks}")
        if not files:
            raise InputError(f"{source}: produced no data; nothing was ingested.")

        def fill(cur: duckdb.DuckDBPyConnection, table: str) -> str:
            cur.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet(?)", [files])
            return f"sha256:{digest.hexdigest()}"

        report(progress, 0.92, f"{name}: writing to the lake")
        return _write_version(lake, fill, name=name, actor=actor, usecase=usecase, description=description,
                              label=source, kind="dataframe", action=action, message=message,
                              also=also)


def _ingest_file(lake: Lake, source: sources.Source, *, digest: str, **kwargs) -> DatasetVersion:
    def attempt(full_sample: bool) -> DatasetVersion:
        def fill(cur: duckdb.DuckDBPyConnection, table: str) -> str:
            as_text = sources.sniffed_boolean(cur, source, full_sample=full_sample)
            cur.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM "
                        f"{source.reader_sql(full_sample=full_sample, as_text=as_text)}", [str(source.path)])
            return digest
        return _write_version(lake, fill, kind=source.kind, **kwargs)
    try:
        return attempt(False)
    except duckdb.ConversionException:
        # Types were guessed from a sample; a later row disagreed. Sniff the whole file instead.
        try:
            return attempt(True)
        except duckdb.Error as exc:
            raise _read_error(source, exc) from None
    except duckdb.Error as exc:
        raise _read_error(source, exc) from None


def _ingest_duckdb_table(lake: Lake, source: sources.Source, table: Optional[str], *, digest: str,
                         **kwargs) -> DatasetVersion:
    alias = f"src_{uuid.uuid4().hex}"
    with lake.reading() as cur:
        try:
            cur.execute(f"ATTACH {sql_literal(str(source.path))} AS {alias} (READ_ONLY)")
        except duckdb.Error as exc:
            raise InputError(f"{source.path.name}: is not a DuckDB database ({_first_line(exc)}).") from None
        try:
            tables = [r[0] for r in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
                "ORDER BY 1", [alias]).fetchall()]
            if not table:
                raise InputError(f"{source.path.name}: name the table to ingest (--table); it has: "
                                 f"{', '.join(tables) or 'no tables'}.")
            if table not in tables:
                raise InputError(f"{source.path.name}: has no table {table!r}; it has: {', '.join(tables) or 'none'}.")

            def fill(cur: duckdb.DuckDBPyConnection, target: str) -> str:
                cur.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {alias}.main.{quote_identifier(table)}")
                return digest
            return _write_version(lake, fill, kind="duckdb", **kwargs)
        finally:
            cur.execute(f"DETACH {alias}")


def _write_version(lake: Lake, fill: Callable[[duckdb.DuckDBPyConnection, str], str], *, name: str, actor: str,
                   usecase: str, description: str, label: str, kind: str, action: str = "ingest",
                   message: Optional[str] = None,
                   also: Optional[Callable[[duckdb.DuckDBPyConnection, int], None]] = None) -> DatasetVersion:
    """Replace lake.datasets.NAME through `fill` (which returns the content digest) and record the version,
    in one transaction, so one snapshot."""
    table = f'lake.datasets."{name}"'

    def work(cur: duckdb.DuckDBPyConnection) -> int:
        version = cur.execute("SELECT coalesce(max(version), 0) + 1 FROM lake.assay.dataset_versions WHERE name = ?",
                              [name]).fetchall()[0][0]
        digest = fill(cur, table)
        described = cur.execute(f"DESCRIBE {table}").fetchall()
        sources.check_column_names([row[0] for row in described], source=label)
        sources.check_column_types(described, source=label)
        rows = cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        if rows == 0:
            raise InputError(f"{label}: has column names but no data rows; nothing was ingested.")
        schema = json.dumps([{"name": r[0], "type": r[1]} for r in described])
        cur.execute("INSERT INTO lake.assay.dataset_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [name, version, usecase, label, kind, rows, len(described), schema, digest, description, actor])
        if also:
            also(cur, version)
        return version

    version = lake.write(work, actor=actor, action=action, message=message or f"ingest {name}", tag=lambda v: tag(name, v))
    return get(lake, DatasetRef(name, version))


_SELECT_VERSIONS = """
    SELECT v.name, v.version, v.usecase, v.source, v.source_kind, v.rows, v.schema, v.digest,
           v.description, v.created_by, v.created_at, s.snapshot_id
    FROM lake.assay.dataset_versions v
    LEFT JOIN (SELECT commit_extra_info, max(snapshot_id) AS snapshot_id FROM lake.snapshots()
               WHERE commit_extra_info LIKE 'dataset:%' GROUP BY 1) s
      ON s.commit_extra_info = 'dataset:' || v.name || '@' || v.version
"""


def _from_row(row: tuple) -> DatasetVersion:
    columns = tuple(Column(c["name"], c["type"]) for c in json.loads(row[6]))
    return DatasetVersion(name=row[0], version=row[1], usecase=row[2], source=row[3], source_kind=row[4],
                          rows=row[5], columns=columns, digest=row[7], description=row[8] or "",
                          created_by=row[9], created_at=row[10], snapshot=row[11])


def pick_version(rows: list[tuple], ref: DatasetRef, *, what: str, listing: str):
    """From rows (name, version, ...) newest first: the version `ref` names, or its newest."""
    if not rows:
        raise NotFoundError(f"No {what} named {ref.name!r}. `python -m core {listing}` lists them.")
    if ref.version is None:
        return rows[0]
    for row in rows:
        if row[1] == ref.version:
            return row
    raise NotFoundError(f"{what.capitalize()} {ref.name!r} has no version {ref.version}; it has versions 1 to {rows[0][1]}.")


def get(lake: Lake, ref: DatasetRef | str) -> DatasetVersion:
    """The version named by `ref` (NAME means the newest version)."""
    ref = parse_dataset_ref(ref) if isinstance(ref, str) else ref
    rows = lake.query(_SELECT_VERSIONS + " WHERE v.name = ? ORDER BY v.version DESC", [ref.name])
    return _from_row(pick_version(rows, ref, what="dataset", listing="datasets"))


def versions(lake: Lake, name: str) -> list[DatasetVersion]:
    check_name(name, what="dataset name")
    return [_from_row(r) for r in lake.query(_SELECT_VERSIONS + " WHERE v.name = ? ORDER BY v.version DESC", [name])]


def latest(lake: Lake, *, usecase: Optional[str] = None) -> list[DatasetVersion]:
    """The newest version of every dataset (of one use case, when given), by name."""
    where, params = ("WHERE v.usecase = ?", [usecase]) if usecase else ("", [])
    rows = lake.query(f"SELECT * FROM ({_SELECT_VERSIONS} {where}) "
                      "QUALIFY row_number() OVER (PARTITION BY name ORDER BY version DESC) = 1 ORDER BY name", params)
    return [_from_row(r) for r in rows]


def read_frame(lake: Lake, version: DatasetVersion, *, limit: Optional[int] = None,
               where: str = "", params: Optional[list] = None, with_row_ids: bool = False,
               sample: Optional[int] = None) -> pd.DataFrame:
    """Rows of a version as a DataFrame (optionally filtered by a cohort's WHERE clause and limited).

    With `sample`, at most that many rows drawn by DuckDB (a seeded reservoir sample of the filtered
    rows), so a large table never reaches pandas whole.

    With `with_row_ids`, rows come in DuckLake row-id order with the id as column `__row_id`:
    the same rows in the same order every time, so a split can be recorded and found again."""
    sql = f"SELECT {'rowid AS __row_id, ' if with_row_ids else ''}* FROM {version.table_sql}"
    if where:
        sql += f" WHERE {where}"
    if sample is not None:
        sql = f"SELECT * FROM ({sql}) USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE (7)"
    if with_row_ids:
        sql += f" ORDER BY {'__row_id' if sample is not None else 'rowid'}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with lake.reading() as cur:
        return cur.execute(sql, list(params or [])).df()


def _read_error(source: sources.Source, exc: duckdb.Error) -> InputError:
    detail = sources.diagnose_csv(source) if source.kind == "csv" else None
    return InputError(f"{source.path.name}: could not be read as {source.kind.upper()}: "
                      f"{detail or _first_line(exc)}. Nothing was written.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
