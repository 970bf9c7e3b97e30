"""Compile a feature-set spec to one DuckDB query over lake tables, preview it, and check it.

Point-in-time correctness: with a base timestamp, an aggregate only sees source events at or
before that row's timestamp (and inside the window), and an as-of join takes the latest
source row at or before it. Nothing here reads a table into pandas except the preview.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import duckdb
import pandas as pd

from core.data import datasets
from core.errors import InputError
from core.features._expressions import check_expression
from core.features._limits import PREVIEW_MAX_ROWS, bounded_frame
from core.features._spec import FUNCTIONS, FeatureSpec
from core.lake import Lake
from core.names import quote_identifier as q
from core.data.profile import column_kind


@dataclass(frozen=True)
class Compiled:
    sql: str
    base: datasets.DatasetVersion
    sources: tuple[datasets.DatasetVersion, ...]
    output_columns: tuple[str, ...]

    @property
    def lineage(self) -> list[dict]:
        entries = [{"role": "base", "dataset": self.base.name, "version": self.base.version,
                    "snapshot": self.base.snapshot}]
        seen = {self.base.ref}
        for source in self.sources:
            if source.ref not in seen:
                seen.add(source.ref)
                entries.append({"role": "source", "dataset": source.name, "version": source.version,
                                "snapshot": source.snapshot})
        return entries


def compile_spec(lake: Lake, spec: FeatureSpec, *, base_limit: Optional[int] = None) -> Compiled:
    """The query that builds the feature set (with `base_limit`, over the first base rows only)."""
    base = datasets.get(lake, spec.base)
    types = {c.name: c.type for c in base.columns}
    _need(types, spec.entity, f"entity {spec.entity!r}", base.ref)
    if spec.timestamp:
        _need(types, spec.timestamp, f"timestamp {spec.timestamp!r}", base.ref)
        if column_kind(types[spec.timestamp]) != "temporal":
            raise InputError(f"Timestamp {spec.timestamp!r} is {types[spec.timestamp]}, not a date or time.")
    for column in spec.columns:
        _need(types, column, f"column {column!r}", base.ref)
    if spec.label:
        _need(types, spec.label, f"label {spec.label!r}", base.ref)
    kept = [c for c in _unique([spec.entity] + ([spec.timestamp] if spec.timestamp else []) + list(spec.columns))
            if c != spec.label]
    select = [q(c) for c in kept + ([spec.label] if spec.label else [])]
    for name, expression in spec.derived:
        select.append(f"{check_expression(name, expression, base.column_names)} AS {q(name)}")
    limit = f" LIMIT {int(base_limit)}" if base_limit else ""
    ctes = [f"base AS (SELECT {', '.join(select)} FROM {base.table_sql}{limit})"]
    # (table alias, column) of every output, in order: base columns, derived, aggregates, joins, label
    outputs = [("base", c) for c in kept + [n for n, _ in spec.derived]]
    key = [q(spec.entity)] + ([q(spec.timestamp)] if spec.timestamp else [])
    joins, sources = [], []

    for part in ([_aggregate(lake, spec, types, base.ref, key, index, agg) for index, agg in enumerate(spec.aggregates)]
                 + [_join(lake, spec, types, base.ref, index, join) for index, join in enumerate(spec.joins)]):
        sources.append(part.source)
        ctes.append(part.cte)
        joins.append(part.join)
        outputs += part.outputs
    if spec.label:
        outputs.append(("base", spec.label))
    names = [c for _, c in outputs]
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise InputError(f"Feature name(s) {duplicates} would appear twice; rename a derived column or set a "
                         "'prefix' on the aggregate or join.")
    columns = ", ".join(f"{alias}.{q(c)}" for alias, c in outputs)
    sql = f"WITH {', '.join(ctes)} SELECT {columns} FROM base {' '.join(joins)}"
    return Compiled(sql=sql, base=base, sources=tuple(sources), output_columns=tuple(names))


class _Part(NamedTuple):
    """One aggregate or join of a spec: the dataset it reads, its CTE, its join onto base and its outputs."""
    source: object
    cte: str
    join: str
    outputs: list


def _aggregate(lake: Lake, spec: FeatureSpec, types: dict, base_ref: str, key: list, index: int, agg) -> _Part:
    """Aggregates of a source's column per base key (point-in-time, within the window, when the base has a timestamp)."""
    source = datasets.get(lake, agg.source)
    stypes = {c.name: c.type for c in source.columns}
    _need(stypes, agg.entity, f"aggregate entity {agg.entity!r}", source.ref)
    _need(stypes, agg.column, f"aggregate column {agg.column!r}", source.ref)
    _same_key_type(types[spec.entity], stypes[agg.entity], spec.entity, base_ref, agg.entity, source.ref)
    condition = f"s.{q(agg.entity)} = k.{q(spec.entity)}"
    if spec.timestamp:
        if not agg.timestamp:
            raise InputError(f"Aggregate over {source.ref}.{agg.column} needs 'timestamp' (a time column of "
                             f"{source.name}): the base has a timestamp, so every aggregate is point-in-time.")
        _need(stypes, agg.timestamp, f"aggregate timestamp {agg.timestamp!r}", source.ref)
        condition += f" AND s.{q(agg.timestamp)} <= k.{q(spec.timestamp)}"
        if agg.window:
            condition += f" AND s.{q(agg.timestamp)} > k.{q(spec.timestamp)} - {agg.window.sql}"
    elif agg.window:
        raise InputError(f"A window ({agg.window}) needs a base 'timestamp' to count back from.")
    numeric = column_kind(stypes[agg.column]) == "numeric"
    measures, outputs = [], []
    for function in agg.functions:
        if function in ("sum", "avg", "mean", "stddev", "median") and not numeric:
            raise InputError(f"{function} of {source.name}.{agg.column} ({stypes[agg.column]}) needs a numeric column.")
        expr = FUNCTIONS[function].format(c=f"s.{q(agg.column)}")
        measures.append(f"{expr} AS {q(agg.output_name(function))}")
        outputs.append((f"agg_{index}", agg.output_name(function)))
    keys = ", ".join(f"k.{k}" for k in key)
    cte = (f"agg_{index} AS (SELECT {keys}, {', '.join(measures)} "
           f"FROM (SELECT DISTINCT {', '.join(key)} FROM base) k "
           f"LEFT JOIN (SELECT * FROM {source.table_sql}) AS s ON {condition} GROUP BY ALL)")
    match = " AND ".join(f"agg_{index}.{k} IS NOT DISTINCT FROM base.{k}" for k in key)
    return _Part(source, cte, f"LEFT JOIN agg_{index} ON {match}", outputs)


def _join(lake: Lake, spec: FeatureSpec, types: dict, base_ref: str, index: int, join) -> _Part:
    """Columns of a source joined by key (as of the base timestamp, with `as_of`; else on a unique key)."""
    source = datasets.get(lake, join.source)
    stypes = {c.name: c.type for c in source.columns}
    _need(types, join.on, f"join column {join.on!r}", base_ref)
    _need(stypes, join.key, f"join key {join.key!r}", source.ref)
    _same_key_type(types[join.on], stypes[join.key], join.on, base_ref, join.key, source.ref)
    for column in join.columns:
        _need(stypes, column, f"join column {column!r}", source.ref)
    picked = ", ".join(f"{q(c)} AS {q(join.prefix + c)}" for c in join.columns)
    alias = f"j_{index}"
    outputs = [(alias, join.prefix + c) for c in join.columns]
    if join.as_of:
        if not spec.timestamp:
            raise InputError(f"An as-of join on {source.name}.{join.as_of} needs a base 'timestamp'.")
        _need(stypes, join.as_of, f"as_of column {join.as_of!r}", source.ref)
        return _Part(source, f"{alias} AS (SELECT {q(join.key)} AS __key, {q(join.as_of)} AS __at, {picked} "
                             f"FROM {source.table_sql})",
                     f"ASOF LEFT JOIN {alias} ON {alias}.__key = base.{q(join.on)} "
                     f"AND base.{q(spec.timestamp)} >= {alias}.__at", outputs)
    _check_unique_key(lake, source, join.key)
    return _Part(source, f"{alias} AS (SELECT {q(join.key)} AS __key, {picked} FROM {source.table_sql})",
                 f"LEFT JOIN {alias} ON {alias}.__key = base.{q(join.on)}", outputs)


def preview(lake: Lake, spec: FeatureSpec, *, rows: int = 100) -> pd.DataFrame:
    """The first `rows` rows of the feature set, computed live over the first base rows only.

    Anyone may preview (a viewer too), so it is bounded: at most PREVIEW_MAX_ROWS rows and
    PREVIEW_MAX_BYTES, stopped after the lake's query_seconds, within DuckDB's memory limit."""
    if not 1 <= rows <= PREVIEW_MAX_ROWS:
        raise InputError(f"A preview shows 1 to {PREVIEW_MAX_ROWS:,} rows, not {rows:,}.")
    compiled = compile_spec(lake, spec, base_limit=rows)
    with lake.reading() as cur:
        try:
            return bounded_frame(cur, compiled.sql, rows=rows, seconds=lake.config.query_seconds, what="preview")
        except duckdb.Error as exc:
            raise _query_error(exc) from None


def _query_error(exc: duckdb.Error) -> InputError:
    first = str(exc).strip().splitlines()[0]
    return InputError(f"The feature set does not compute: {first[:400]}. Check the types in the derived expressions.")


def _need(types: dict, column: Optional[str], what: str, where: str) -> None:
    if column not in types:
        raise InputError(f"{what.capitalize()} is not a column of {where}; it has {', '.join(list(types)[:25])}.")


def _same_key_type(left: str, right: str, lname: str, lwhere: str, rname: str, rwhere: str) -> None:
    def family(duck_type: str) -> str:
        kind = column_kind(duck_type)
        if kind == "numeric":
            return "integer" if "INT" in duck_type.upper() else "decimal"
        return kind
    if family(left) != family(right):
        raise InputError(f"Key types differ: {lwhere}.{lname} is {left} but {rwhere}.{rname} is {right}; "
                         "convert one of them so the keys can be matched.")


def _check_unique_key(lake: Lake, source: datasets.DatasetVersion, key: str) -> None:
    rows, distinct = lake.query(f"SELECT count(*), count(DISTINCT {q(key)}) FROM {source.table_sql}")[0]
    if rows != distinct:
        raise InputError(f"{source.ref} has {rows - distinct:,} repeated value(s) of {key!r}, so a plain join would "
                         "duplicate rows: use 'as_of' for a changing source, or an aggregate.")


def _unique(items: list) -> list:
    seen: list = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
