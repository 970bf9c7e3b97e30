"""Batch scoring: a registered model (NAME@ALIAS or NAME@VERSION) over a dataset version or a Parquet
path (local or s3://), written as a new version of the dataset `scores_MODEL`.

Rows stream out of DuckDB as Arrow record batches through the model's Pipeline, and each scored
batch is spooled to Parquet, so memory stays flat whatever the table size. The input is checked
against the model's signature before any row is scored: a missing column or an impossible type
(a date where a number is expected) is an error. Documented coercions only: integers, decimals and
booleans to numbers; text to numbers where it parses (a row whose text does not parse is
rejected, with the reason counted); anything to text for a categorical feature. Extra columns are
ignored. The predictions and the job's record are written in one transaction: a failed job leaves
no output, and running the same job again writes a new version, never a half one.

Engines: "embedded" (DuckDB in this process, default) and "dask" (dask.distributed over the Parquet files of the
input; a LocalCluster unless a scheduler address is given). Both call the same `score_frame`, so
their predictions are identical. A binary model's `prediction` is its decision at the version's
threshold (core.registry.open_version: the run's, unless set_threshold changed it).
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator, Optional

import numpy as np
import pandas as pd

from core.data import datasets
from core.lake import permissions, scratch
from core.governance import registry
from core import training
from core.errors import InputError
from core.lake import Lake, sql_literal
from core.names import parse_dataset_ref, quote_identifier as q
from core.progress import Progress, report

BATCH_ROWS = 100_000
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                 "FLOAT", "DOUBLE", "DECIMAL", "BOOLEAN")
TEXT_TYPES = ("VARCHAR",)
ENGINES = ("embedded", "dask")


@dataclass(frozen=True)
class Job:
    job_id: str
    usecase: str
    model: str
    model_version: int
    input: str
    output: Optional[str]
    engine: str
    status: str
    rows: int
    scored: int
    rejected: int
    reasons: dict
    seconds: float
    rows_per_second: float
    error: Optional[str]
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class Plan:
    """What a job reads and how each model input is taken from it."""
    version: registry.ModelVersion
    run: training.Run
    source_sql: str
    label: str
    entity: Optional[str]
    casts: dict  # feature -> "numeric" | "parse" | "text"


def plan(lake: Lake, model_ref: str, *, dataset: Optional[str] = None, path: Optional[str] = None,
         entity: Optional[str] = None) -> Plan:
    """Resolve the model and the input and check the input against the model's signature."""
    if bool(dataset) == bool(path):
        raise InputError("Score a dataset version (--dataset NAME[@V]) or a Parquet path (--path FILE|s3://...), not both.")
    version = registry.get(lake, model_ref)
    run = training.get(lake, version.run_id)
    if dataset:
        source = datasets.get(lake, parse_dataset_ref(dataset))
        source_sql, label = source.table_sql, source.ref
    else:
        if not str(path).endswith(".parquet") and "*" not in str(path):
            raise InputError(f"Only Parquet files can be scored by path ({path}); ingest other files first.")
        source_sql, label = f"read_parquet({sql_literal(str(path))})", str(path)
    with lake.reading() as cur:
        try:
            described = {r[0]: r[1] for r in cur.execute(f"DESCRIBE SELECT * FROM {source_sql}").fetchall()}
        except Exception as error:  # a path that does not exist or is not Parquet
            raise InputError(f"Cannot read {label}: {str(error).splitlines()[0][:200]}") from None
    missing = [f["name"] for f in version.signature if f["name"] not in described]
    if missing:
        raise InputError(f"{label} lacks the model's input column(s) {missing}; {version.ref} needs "
                         f"{', '.join(f['name'] for f in version.signature)}. Nothing was scored.")
    casts = {}
    for feature in version.signature:
        kind, found = feature["kind"], described[feature["name"]]
        base = found.split("(")[0]
        if kind == "categorical":
            casts[feature["name"]] = "text"
        elif base in NUMERIC_TYPES:
            casts[feature["name"]] = "numeric"
        elif base in TEXT_TYPES:
            casts[feature["name"]] = "parse"
        else:
            raise InputError(f"{feature['name']} is {found} in {label}, but {version.ref} needs a number there; "
                             "no coercion makes one from the other. Nothing was scored.")
    if entity and entity not in described:
        raise InputError(f"{label} has no entity column {entity!r}.")
    if entity is None:
        ids = [c for c in described if c.endswith("_id") or c == "id"]
        entity = ids[0] if ids else None
    return Plan(version=version, run=run, source_sql=source_sql, label=label, entity=entity, casts=casts)


def model_inputs(casts: dict, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The model's input columns of a batch, coerced as the plan's casts say, and the reason each row is
    rejected (None for rows the model can take). Scoring and monitoring (core.monitoring) share it."""
    reasons = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    X = pd.DataFrame(index=frame.index)
    for column, how in casts.items():
        values = frame[column]
        if how == "parse":
            parsed = pd.to_numeric(values, errors="coerce")
            bad = values.notna() & parsed.isna()
            reasons[bad & reasons.isna()] = f"{column}: not a number"
            X[column] = parsed.astype(float)
        elif how == "numeric":
            X[column] = pd.to_numeric(values, errors="coerce").astype(float)
        else:
            X[column] = values.astype(object).where(values.notna(), None)
    return X, reasons


def score_frame(trained: training.TrainedRun, casts: dict, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Predictions for one batch: a frame of (prediction, probability) and a Series of reasons for the
    rejected rows (None for scored ones). The same function serves every engine and the endpoint."""
    run, model = trained.run, trained.model
    X, reasons = model_inputs(casts, frame)
    ok = reasons.isna().to_numpy()
    out = pd.DataFrame(index=frame.index)
    out["prediction"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    out["probability"] = np.nan
    if ok.any():
        good = X[ok]
        if run.task in ("binary", "multiclass"):
            proba = model.predict_proba(good)
            score = trained.positive_score(proba) if run.task == "binary" else proba.max(axis=1)
            labels = np.asarray([str(c) for c in trained.predicted_labels(proba)], dtype=object)
            out.loc[ok, "prediction"] = labels
            out.loc[ok, "probability"] = score
        else:
            out.loc[ok, "prediction"] = np.asarray(model.predict(good), dtype=float).astype(str)
            out.loc[ok, "probability"] = np.nan
    return out, reasons


def score(lake: Lake, model_ref: str, *, actor: str, dataset: Optional[str] = None, path: Optional[str] = None,
          entity: Optional[str] = None, engine: str = "embedded", scheduler: Optional[str] = None,
          batch_rows: int = BATCH_ROWS, output: Optional[str] = None, progress: Optional[Progress] = None) -> Job:
    """Score the input with the model and write the predictions and the job in one transaction."""
    permissions.require(lake, actor, "score")
    engine = "embedded" if engine == "duckdb" else engine
    if engine not in ENGINES:
        raise InputError(f"Unknown engine {engine!r}; choose embedded or dask.")
    if not isinstance(batch_rows, int) or batch_rows < 1_000:
        raise InputError(f"Batches hold at least 1,000 rows, not {batch_rows!r}.")
    chosen = plan(lake, model_ref, dataset=dataset, path=path, entity=entity)
    version, trained = registry.open_version(lake, chosen.version)  # the model at the version's threshold
    run = trained.run
    job_id = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:10]}"
    scored_at = datetime.now(timezone.utc).replace(tzinfo=None)
    counts = {"rows": 0, "scored": 0, "rejected": 0, "reasons": {}}
    started = time.perf_counter()
    with lake.reading() as cur:
        total = cur.execute(f"SELECT count(*) FROM {chosen.source_sql}").fetchall()[0][0]
    if total == 0:
        raise InputError(f"{chosen.label} has no rows to score.")

    def finish(frame: pd.DataFrame, predictions: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
        counts["rows"] += len(frame)
        rejected = reasons.notna()
        counts["rejected"] += int(rejected.sum())
        counts["scored"] += int((~rejected).sum())
        for reason, n in reasons[rejected].value_counts().items():
            counts["reasons"][reason] = counts["reasons"].get(reason, 0) + int(n)
        out = pd.DataFrame({"row_id": frame["__row_id"].to_numpy()})
        if chosen.entity:
            out[chosen.entity] = frame[chosen.entity].to_numpy()
        out["prediction"] = predictions["prediction"].to_numpy()
        out["probability"] = predictions["probability"].to_numpy(dtype=float)
        out["rejected_reason"] = reasons.to_numpy()
        out["model"] = version.name
        out["model_version"] = version.version
        out["input"] = chosen.label
        out["job_id"] = job_id
        out["scored_at"] = scored_at
        report(progress, 0.05 + 0.8 * counts["rows"] / total, f"Scored {counts['rows']:,} of {total:,} rows")
        return out

    def chunks() -> Iterator[pd.DataFrame]:
        if engine == "dask":
            for frame, predictions, reasons in _dask_batches(lake, chosen, trained, scheduler, batch_rows):
                yield finish(frame, predictions, reasons)
            return
        columns = ", ".join(q(c) for c in dict.fromkeys([*chosen.casts, *([chosen.entity] if chosen.entity else [])]))
        row_id = "rowid" if dataset else "file_row_number"
        source = chosen.source_sql if dataset else chosen.source_sql.replace(")", ", file_row_number = true)", 1)
        with lake.reading() as cur:
            reader = cur.execute(f"SELECT {row_id} AS __row_id, {columns} FROM {source}") \
                .fetch_record_batch(batch_rows)
            for batch in reader:
                frame = batch.to_pandas()
                predictions, reasons = score_frame(trained, chosen.casts, frame)
                yield finish(frame, predictions, reasons)

    output_name = output or f"scores_{version.name}"
    from core.names import check_name

    check_name(output_name, what="output dataset name")

    def record(cur, output_version: int) -> None:
        seconds = time.perf_counter() - started
        cur.execute("INSERT INTO lake.assay.jobs VALUES (?, ?, ?, ?, ?, ?, ?, 'succeeded', ?, ?, ?, ?, ?, ?, NULL, ?, now())",
                    [job_id, run.usecase, version.name, version.version, chosen.label, f"{output_name}@{output_version}",
                     engine, counts["rows"], counts["scored"], counts["rejected"], json.dumps(counts["reasons"]),
                     round(seconds, 3), round(counts["rows"] / seconds, 1) if seconds else None, actor])

    try:
        datasets.ingest_chunks(lake, chunks, name=output_name, actor=actor, usecase=run.usecase,
                               source=f"scoring job {job_id}", description=f"predictions of {version.ref} on {chosen.label}",
                               action="score", message=f"score {chosen.label} with {version.ref}", also=record)
    except Exception as error:
        _record_failure(lake, job_id, run, version, chosen.label, engine, actor, counts, started, error)
        raise
    report(progress, 1.0, f"Job {job_id}: {counts['scored']:,} rows scored, {counts['rejected']:,} rejected")
    return get(lake, job_id)


def _record_failure(lake: Lake, job_id: str, run, version, label: str, engine: str, actor: str, counts: dict,
                    started: float, error: Exception) -> None:
    """A failed job leaves no output, but its attempt is on record."""
    from core.config import redact

    message = redact(str(error).splitlines()[0] if str(error) else type(error).__name__)[:500]
    seconds = time.perf_counter() - started

    def work(cur) -> None:
        cur.execute("INSERT INTO lake.assay.jobs VALUES (?, ?, ?, ?, ?, NULL, ?, 'failed', ?, ?, ?, ?, ?, NULL, ?, ?, now())",
                    [job_id, run.usecase, version.name, version.version, label, engine, counts["rows"], 0, 0,
                     json.dumps(counts["reasons"]), round(seconds, 3), message, actor])

    try:
        lake.write(work, actor=actor, action="score", message=f"score {label} with {version.ref} (failed)", tag=f"job:{job_id}")
    except Exception:
        pass  # the original error matters more than its record


def _dask_batches(lake: Lake, chosen: Plan, trained: training.TrainedRun, scheduler: Optional[str], batch_rows: int):
    """The same scoring over the input's Parquet files on dask.distributed; each file's rows come back
    in order with the row ids the embedded engine gives them."""
    from dask.distributed import Client, LocalCluster

    files = _parquet_files(lake, chosen)
    columns = list(dict.fromkeys([*chosen.casts, *([chosen.entity] if chosen.entity else [])]))
    model_bytes = (lake.config.folder / chosen.version.artifact).read_bytes()
    local = scratch.make_spool(lake.config.folder, "dask")  # worker scratch under the lake, not /tmp
    cluster = None if scheduler else LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                                 dashboard_address=None, local_directory=str(local))
    client = Client(scheduler or cluster)
    try:
        shipped = client.scatter(model_bytes, broadcast=True)
        futures = [client.submit(_score_file, file, offset, columns, chosen.casts, trained.run, trained.threshold, shipped,
                                 pure=False)
                   for file, offset in files]
        for future in futures:
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        scratch.remove(local)


def _score_file(file: str, offset: int, columns: list, casts: dict, run: training.Run, threshold: Optional[float],
                model_bytes: bytes):
    """On a worker: load the model from its checked bytes (skops, trusted types only) and score one file
    at the version's decision threshold."""
    import pyarrow.parquet as pq

    trained = training.TrainedRun(run=run, model=training.model_from_bytes(model_bytes, run), threshold=threshold)
    frame = pq.read_table(file, columns=columns).to_pandas()
    frame.insert(0, "__row_id", np.arange(offset, offset + len(frame)))
    predictions, reasons = score_frame(trained, casts, frame)
    return frame, predictions, reasons


def _parquet_files(lake: Lake, chosen: Plan) -> list[tuple[str, int]]:
    """The input's Parquet files with the row id of each file's first row."""
    with lake.reading() as cur:
        if chosen.source_sql.startswith("read_parquet("):
            pattern = chosen.source_sql[len("read_parquet("):-1]
            rows = cur.execute(f"SELECT file_name, count(*) FROM read_parquet({pattern}, filename = true) "
                               "GROUP BY file_name ORDER BY file_name").fetchall()
            out, offset = [], 0
            for name, n in rows:
                out.append((name, offset))
                offset += n
            return out
        name = chosen.source_sql.split('"')[1]
        snapshot = int(chosen.source_sql.split("VERSION =>")[1].strip(" )"))
        listed = cur.execute("SELECT data_file, delete_file FROM ducklake_list_files('lake', ?, schema => 'datasets', "
                             "snapshot_version => ?)", [name, snapshot]).fetchall()
        if any(d for _, d in listed):
            raise InputError("This dataset version has deleted rows; score it with the embedded engine.")
        # Each data file's first row id, from the DuckLake catalog (rowid = row_id_start + position in the file).
        starts = cur.execute(
            "SELECT f.path, f.row_id_start FROM __ducklake_metadata_lake.ducklake_data_file f "
            "JOIN __ducklake_metadata_lake.ducklake_table t ON t.table_id = f.table_id "
            "JOIN __ducklake_metadata_lake.ducklake_schema s ON s.schema_id = t.schema_id "
            "WHERE t.table_name = ? AND s.schema_name = 'datasets' "
            "AND t.begin_snapshot <= ? AND (t.end_snapshot IS NULL OR t.end_snapshot > ?) "
            "AND f.begin_snapshot <= ? AND (f.end_snapshot IS NULL OR f.end_snapshot > ?)",
            [name, snapshot, snapshot, snapshot, snapshot]).fetchall()
    out = []
    for data_file, _ in listed:
        start = next((first for relative, first in starts if data_file.endswith(relative)), None)
        if start is None:
            raise InputError(f"Could not place {data_file} in the dataset; score it with the embedded engine.")
        out.append((data_file, int(start)))
    return sorted(out, key=lambda f: f[1])


def get(lake: Lake, job_id: str) -> Job:
    found = lake.records("SELECT * FROM lake.assay.jobs WHERE job_id = ?", [job_id], into=_job, json=("reasons",))
    if not found:
        raise InputError(f"No scoring job {job_id!r}.")
    return found[0]


def jobs(lake: Lake, *, usecase: Optional[str] = None, model: Optional[str] = None, limit: int = 100) -> list[Job]:
    sql, params = "SELECT * FROM lake.assay.jobs WHERE true", []
    if usecase:
        sql, params = sql + " AND usecase = ?", params + [usecase]
    if model:
        sql, params = sql + " AND model = ?", params + [model]
    return lake.records(sql + " ORDER BY created_at DESC LIMIT ?", params + [int(limit)], into=_job, json=("reasons",))


def _job(*, reasons: Optional[dict], **row) -> Job:
    return Job(reasons=reasons or {}, **row)
