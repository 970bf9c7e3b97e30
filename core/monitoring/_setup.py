"""What a monitor run needs, checked before any row is read: the model version at its decision threshold, the
current set against the model's signature, the method and metrics, the chunking, and the labels' join."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import duckdb

from core.data import datasets
from core.errors import InputError
from core.governance import registry
from core.lake import Lake
from core.monitoring import _cbpe, _chunks, _dle
from core.monitoring._outputs import has_probabilities
from core.names import parse_dataset_ref, quote_identifier as q
from core.operations import scoring

METHODS = ("auto", "cbpe", "dle", "realized")
LABEL_COLUMN = "__label"


@dataclass(frozen=True)
class Setup:
    version: registry.ModelVersion
    trained: object  # training.TrainedRun
    casts: dict
    method: str
    metrics: tuple
    spec: _chunks.Chunking
    current: datasets.DatasetVersion
    labels: Optional[datasets.DatasetVersion]
    entity: Optional[str]
    truth_column: Optional[str]  # where the current chunk's labels are (None: not known)
    probabilities: bool
    warnings: tuple

    @property
    def run(self):
        return self.trained.run

    @property
    def numeric(self) -> list[str]:
        return [f["name"] for f in self.version.signature if f["kind"] == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [f["name"] for f in self.version.signature if f["kind"] != "numeric"]


def prepare(lake: Lake, model_ref: str, *, current: str, spec: _chunks.Chunking, labels: Optional[str],
            entity: Optional[str], metrics: Optional[list], method: str) -> Setup:
    chosen = scoring.plan(lake, model_ref, dataset=current)  # the current set against the model's signature
    version, trained = registry.open_version(lake, chosen.version)
    run = trained.run
    current_version = datasets.get(lake, parse_dataset_ref(current))
    described = {c.name: c.type for c in current_version.columns}
    if spec.timestamp:
        _chunks.check_timestamp(described, spec.timestamp, current_version.ref)
    probabilities = has_probabilities(trained)
    method = _method(method, run.task, probabilities, version.ref)
    labels_version, warnings = None, []
    if labels or entity:
        labels_version, joined = _check_labels(lake, current_version, described, labels, entity, run.target)
        if joined < current_version.rows:
            warnings.append(f"{labels_version.ref} labels {joined:,} of the {current_version.rows:,} rows of "
                            f"{current_version.ref}; realized performance covers the chunks with at least "
                            f"{_cbpe.MIN_LABELLED} labelled rows.")
    truth = LABEL_COLUMN if labels_version else (run.target if run.target in described else None)
    if method == "realized" and truth is None:
        raise InputError(f"--method realized needs labels: {current_version.ref} has no {run.target!r} column; join "
                         "them with --labels NAME@V --entity COL.")
    return Setup(version=version, trained=trained, casts=chosen.casts, method=method,
                 metrics=_metrics(metrics, method, run.task), spec=spec, current=current_version, labels=labels_version,
                 entity=entity, truth_column=truth, probabilities=probabilities, warnings=tuple(warnings))


def _method(method: str, task: str, probabilities: bool, ref: str) -> str:
    if method not in METHODS:
        raise InputError(f"--method is one of {', '.join(METHODS)}, not {method!r}.")
    classifier = task in ("binary", "multiclass")
    if method == "auto":
        method = ("cbpe" if probabilities else "none") if classifier else "dle"
    if method in ("cbpe", "none") and classifier and not probabilities:
        raise InputError(f"{ref} gives no class probabilities, and CBPE needs them (it estimates performance from "
                         "calibrated probabilities). Use --method dle (direct loss estimation: accuracy estimated from "
                         "the inputs and decisions) or --method realized (performance only where labels have arrived, "
                         "with --labels NAME@V --entity COL). Nothing was written.")
    if method == "cbpe" and not classifier:
        raise InputError(f"CBPE estimates a classifier's performance; {ref} is a {task} model: use --method dle "
                         "(MAE and RMSE) or realized.")
    return method


def _metrics(asked: Optional[list], method: str, task: str) -> tuple:
    classifier = task in ("binary", "multiclass")
    if method == "dle":
        allowed = _dle.CLASSIFIER_METRICS if classifier else _dle.REGRESSION_METRICS
    else:
        allowed = _cbpe.METRICS if classifier else _dle.REGRESSION_METRICS
    if not asked:
        return tuple(allowed)
    unknown = [m for m in asked if m not in allowed]
    if unknown:
        raise InputError(f"--metrics {','.join(unknown)}: {method} on a {task} model measures "
                         f"{', '.join(allowed)}.")
    return tuple(dict.fromkeys(asked))


def _check_labels(lake: Lake, current: datasets.DatasetVersion, described: dict, labels: Optional[str],
                  entity: Optional[str], target: str) -> tuple:
    if not labels or not entity:
        raise InputError("Labels are joined by an id: give both --labels NAME@V and --entity COL.")
    found = datasets.get(lake, parse_dataset_ref(labels))
    columns = found.column_names
    if entity not in described:
        raise InputError(f"{current.ref} has no column {entity!r} to join the labels by.")
    missing = [c for c in (entity, target) if c not in columns]
    if missing:
        raise InputError(f"{found.ref} lacks {missing}: labels need the id column {entity!r} and the outcome {target!r}.")
    key = q(entity)
    try:
        with lake.reading() as cur:
            repeated = cur.execute(f"SELECT count(*) - count(DISTINCT {key}) FROM {found.table_sql}").fetchall()[0][0]
            joined = cur.execute(f"SELECT count(*) FROM {current.table_sql} WHERE {key} IN "
                                 f"(SELECT {key} FROM {found.table_sql} WHERE {q(target)} IS NOT NULL)").fetchall()[0][0]
    except duckdb.Error as error:
        raise InputError(f"{found.ref} cannot be joined to {current.ref} by {entity}: "
                         f"{str(error).splitlines()[0][:200]}") from None
    if repeated:
        raise InputError(f"{found.ref} holds {repeated:,} duplicate {entity} value(s); keep one label per id.")
    if joined == 0:
        raise InputError(f"The labels in {found.ref} join no row of {current.ref} by {entity} (no id in common, or "
                         f"no {target!r} value for those that match): check --entity and the labels' version. "
                         "Nothing was written.")
    return found, int(joined)


def stream_sql(setup: Setup) -> str:
    """The current set's columns the monitor needs (the labels joined by id), in chunk order."""
    spec, run = setup.spec, setup.run
    names = list(dict.fromkeys([*setup.casts, *([spec.timestamp] if spec.timestamp else []),
                                *([run.target] if setup.truth_column == run.target else [])]))
    row = _chunks.ROW_COLUMN
    select = [f"c.{row}"] + [f"c.{q(n)}" for n in names]
    source = f"(SELECT rowid AS {row}, * FROM {setup.current.table_sql}) AS c"
    if setup.labels:
        key = q(setup.entity)
        select.append(f"l.{q(run.target)} AS {LABEL_COLUMN}")
        source += (f" LEFT JOIN (SELECT {key}, {q(run.target)} FROM {setup.labels.table_sql}) l "
                   f"ON c.{key} = l.{key}")
    order = f" ORDER BY c.{row}" if setup.labels else ""  # a scan keeps the rows' order (DuckDB's insertion order)
    if spec.period:
        select.append(f"date_trunc('{spec.period}', c.{q(spec.timestamp)}) AS {_chunks.PERIOD_COLUMN}")
        order = f" ORDER BY {_chunks.PERIOD_COLUMN}, c.{q(spec.timestamp)}, c.{row}"
    # without ORDER BY the rows stream as they are read; a sort (a join, or time) holds the whole set in DuckDB
    return f"SELECT {', '.join(select)} FROM {source}{order}"
