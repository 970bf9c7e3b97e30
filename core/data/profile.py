"""Profiles, distributions, target balance and correlations of a dataset version, in DuckDB SQL.

Nothing here pulls a whole table into pandas: every figure is an aggregate computed by
DuckDB over the lake's Parquet files, so the explorer stays responsive on 10M rows.
Counts and missing values are always exact; above `EXACT_LIMIT` rows, distinct counts and
quantiles use DuckDB's estimators (HyperLogLog, t-digest) and the profile says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Optional, Protocol, Sequence

import pandas as pd

from core.data.datasets import DatasetVersion
from core.errors import InputError
from core.lake import Lake
from core.names import quote_identifier
from core.progress import Progress, report

Kind = Literal["numeric", "boolean", "temporal", "categorical", "other"]
EXACT_LIMIT = 1_000_000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
COLUMN_BATCH = 50  # columns summarised per query: memory grows with the batch, not the table width
LONG_CELLS = 2_000_000  # a wide table (or cohort) of at most this many cells is summarised in long form
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")


def column_kind(duckdb_type: str) -> Kind:
    t = duckdb_type.upper()
    if t.startswith(_NUMERIC):
        return "numeric"
    if t == "BOOLEAN":
        return "boolean"
    if t.startswith(("DATE", "TIMESTAMP", "TIME")):
        return "temporal"
    if t.startswith(("VARCHAR", "ENUM")) or t == "UUID":
        return "categorical"
    return "other"


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    type: str
    kind: Kind
    count: int
    missing: int
    missing_share: float
    distinct: Optional[int]
    min: Any = None
    max: Any = None
    mean: Optional[float] = None
    std: Optional[float] = None
    quantiles: dict = field(default_factory=dict)
    top_values: tuple = ()

    def to_dict(self) -> dict:
        return {k: _plain(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class DatasetProfile:
    dataset: str
    rows: int
    columns: tuple[ColumnProfile, ...]
    approximate: bool
    cohort: str = "all rows"

    def identifiers(self) -> list[str]:
        """Columns that look like row identifiers (a distinct integer or text value on every row)."""
        return [c.name for c in self.columns
                if self.rows > 1 and c.distinct == self.rows and c.missing == 0 and c.kind in ("numeric", "categorical")
                and not c.type.upper().startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL"))]

    def column(self, name: str) -> ColumnProfile:
        for c in self.columns:
            if c.name == name:
                return c
        raise InputError(f"Column {name!r} is not in {self.dataset}.")

    def table(self, columns: Optional[Sequence[str]] = None) -> pd.DataFrame:
        """One row per column (or per column named in `columns`): the overview a person scans first."""
        chosen = self.columns if columns is None else [self.column(name) for name in columns]
        return pd.DataFrame([{
            "column": c.name, "type": c.type, "missing": c.missing, "missing %": round(100 * c.missing_share, 2),
            "distinct": c.distinct, "min": _short(c.min), "max": _short(c.max),
            "mean": _short(c.mean), "median": _short(c.quantiles.get("0.5")),
            "top values": ", ".join(f"{_short(v)} ({n:,})" for v, n in c.top_values[:3]),
        } for c in chosen], columns=["column", "type", "missing", "missing %", "distinct", "min", "max", "mean",
                                     "median", "top values"])

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "rows": self.rows, "approximate": self.approximate,
                "cohort": self.cohort, "columns": [c.to_dict() for c in self.columns]}


@dataclass(frozen=True)
class ColumnPage:
    """One page of a table's columns, for views that cannot draw 10,000 of them at once."""
    columns: tuple[str, ...]
    page: int  # 1-based
    pages: int
    matches: int  # columns matching the search, on all pages

    @property
    def first(self) -> int:
        return 0 if not self.columns else (self.page - 1) * PAGE_COLUMNS + 1


PAGE_COLUMNS = 50


def column_page(names: Sequence[str], *, search: str = "", page: int = 1) -> ColumnPage:
    """The columns whose name contains `search` (any case), PAGE_COLUMNS at a time; a page past the end
    gives the last page."""
    needle = search.strip().lower()
    matched = [n for n in names if needle in n.lower()]
    pages = max(1, math.ceil(len(matched) / PAGE_COLUMNS))
    page = min(max(1, int(page)), pages)
    start = (page - 1) * PAGE_COLUMNS
    return ColumnPage(columns=tuple(matched[start:start + PAGE_COLUMNS]), page=page, pages=pages, matches=len(matched))


class TableVersion(Protocol):
    """What a profile needs of a dataset or feature-set version."""
    ref: str
    table_sql: str
    columns: tuple


def profile(lake: Lake, version: TableVersion, *, where: str = "true", params: Sequence = (),
            top: int = 5, cohort: str = "all rows", progress: Optional[Progress] = None) -> DatasetProfile:
    """Per-column profile of one version (optionally of the rows matching a cohort's WHERE clause)."""
    with lake.reading() as cur:
        return profile_with(cur, version, where=where, params=params, top=top, cohort=cohort, progress=progress)


def profile_with(cur, version: TableVersion, *, where: str = "true", params: Sequence = (), top: int = 5,
                 cohort: str = "all rows", progress: Optional[Progress] = None) -> DatasetProfile:
    """The same, on a given cursor (for a table written in a transaction that has not committed yet).

    Columns are summarised `COLUMN_BATCH` at a time, each batch one scan of only its own columns,
    so memory stays flat as tables grow wide (one query over 10,000 columns took 15 GB). A wide table of
    few cells (at most LONG_CELLS) is summarised in long form instead: DuckDB's cost there is per aggregate in
    the query, not per row, and 10,000 columns took 52 s in batches."""
    rows = cur.execute(f"SELECT count(*) FROM {version.table_sql} WHERE {where}", list(params)).fetchall()[0][0]
    approximate = rows > EXACT_LIMIT
    columns = list(version.columns)
    if len(columns) > COLUMN_BATCH and rows * len(columns) <= LONG_CELLS:
        return DatasetProfile(dataset=version.ref, rows=rows, approximate=approximate, cohort=cohort,
                              columns=_profile_long(cur, version.table_sql, columns, where, params, rows, approximate,
                                                    top, progress))
    profiles: list[ColumnProfile] = []
    for start in range(0, len(columns), COLUMN_BATCH):
        batch = columns[start:start + COLUMN_BATCH]
        report(progress, start / max(len(columns), 1), f"Profiling columns {start + 1:,} to {start + len(batch):,}")
        profiles += _profile_batch(cur, version.table_sql, batch, where, params, rows, approximate, top)
    return DatasetProfile(dataset=version.ref, rows=rows, columns=tuple(profiles), approximate=approximate,
                          cohort=cohort)


def _aggregates(q: str, kind: Kind, approximate: bool) -> list[str]:
    """The figures of one column (`q`, quoted), in the order `_column_profile` reads them."""
    exprs = [f"count({q})", f"approx_count_distinct({q})" if approximate else f"count(DISTINCT {q})"]
    if kind == "numeric":
        quantile = "approx_quantile" if approximate else "quantile_cont"
        exprs += [f"min({q})::DOUBLE", f"max({q})::DOUBLE", f"avg({q})::DOUBLE", f"stddev_samp({q})::DOUBLE",
                  f"{quantile}({q}::DOUBLE, {list(QUANTILES)})"]
    elif kind in ("temporal", "boolean", "categorical"):
        exprs += [f"min({q})", f"max({q})"]
    return exprs


def _profile_long(cur, table_sql: str, columns: list, where: str, params: Sequence, rows: int, approximate: bool,
                  top: int, progress: Optional[Progress]) -> tuple[ColumnProfile, ...]:
    """The same figures, one query per column type: the columns of that type unpivoted into (name, value) and
    grouped by name, so the query holds each aggregate once rather than once per column. UNPIVOT leaves out
    missing values, as the aggregates do; a column with none left reads as all missing."""
    by_type: dict[str, list] = {}
    for column in columns:
        by_type.setdefault(column.type, []).append(column)
    found, tops = {}, {}
    for done, (type_, group) in enumerate(by_type.items()):
        report(progress, done / len(by_type), f"Profiling {len(group):,} {type_} column(s)")
        kind = column_kind(type_)
        names = ", ".join(quote_identifier(c.name) for c in group)
        long = (f"(UNPIVOT (SELECT {names} FROM {table_sql} WHERE {where}) ON {names} "
                "INTO NAME column_name VALUE value)")
        for name, *values in cur.execute(f"SELECT column_name, {', '.join(_aggregates('value', kind, approximate))} "
                                         f"FROM {long} GROUP BY column_name", list(params)).fetchall():
            found[name] = values
        if kind in ("boolean", "categorical"):
            for name, value, n in cur.execute(
                    f"SELECT column_name, text, n FROM (SELECT column_name, CAST(value AS VARCHAR) AS text, count(*) AS n "
                    f"FROM {long} GROUP BY ALL) "
                    f"QUALIFY row_number() OVER (PARTITION BY column_name ORDER BY n DESC, text) <= {int(top)} "
                    "ORDER BY 1, n DESC, text", list(params)).fetchall():
                tops.setdefault(name, []).append((value == "true" if kind == "boolean" else value, n))
    empty = {kind: [0, 0] + [None] * (len(_aggregates("v", kind, approximate)) - 2)
             for kind in ("numeric", "boolean", "temporal", "categorical", "other")}
    return tuple(_column_profile(c.name, c.type, column_kind(c.type), rows,
                                 found.get(c.name, empty[column_kind(c.type)]), tuple(tops.get(c.name, ())))
                 for c in columns)


def _profile_batch(cur, table_sql: str, batch: list, where: str, params: Sequence, rows: int, approximate: bool,
                   top: int) -> list[ColumnProfile]:
    names = ", ".join(quote_identifier(c.name) for c in batch)
    source = f"(SELECT {names} FROM {table_sql} WHERE {where})"
    selects, layout = [], []
    for column in batch:
        kind = column_kind(column.type)
        exprs = _aggregates(quote_identifier(column.name), kind, approximate)
        layout.append((column, kind, len(exprs)))
        selects += exprs
    values = cur.execute(f"SELECT {', '.join(selects)} FROM {source}", list(params)).fetchall()[0]
    counted = [c for c, kind, _ in layout if kind in ("boolean", "categorical")]
    tops = _top_values(cur, source, params, counted, top) if counted else {}
    profiles, at = [], 0
    for column, kind, width in layout:
        chunk = values[at:at + width]
        at += width
        profiles.append(_column_profile(column.name, column.type, kind, rows, chunk, tops.get(column.name, ())))
    return profiles


def _column_profile(name, type_, kind, rows, chunk, top_values) -> ColumnProfile:
    count, distinct = chunk[0], chunk[1]
    extra: dict = {}
    if kind == "numeric":
        quantiles = chunk[6] or [None] * len(QUANTILES)
        extra = dict(min=chunk[2], max=chunk[3], mean=chunk[4], std=chunk[5],
                     quantiles={str(q): v for q, v in zip(QUANTILES, quantiles)})
    elif len(chunk) > 2:
        extra = dict(min=chunk[2], max=chunk[3])
    return ColumnProfile(name=name, type=type_, kind=kind, count=count, missing=rows - count,
                         missing_share=(rows - count) / rows if rows else 0.0, distinct=distinct,
                         top_values=top_values, **extra)


def _top_values(cur, source: str, params: Sequence, columns: list, top: int) -> dict[str, tuple]:
    """The `top` most frequent values of each boolean or text column of a batch, in one query (each
    branch reads its own column; values as text, booleans turned back into True/False)."""
    parts = [f"SELECT {i} AS i, CAST({quote_identifier(c.name)} AS VARCHAR) AS value, count(*) AS n FROM {source} "
             f"WHERE {quote_identifier(c.name)} IS NOT NULL GROUP BY 2" for i, c in enumerate(columns)]
    found = cur.execute(f"SELECT i, value, n FROM ({' UNION ALL '.join(parts)}) "
                        f"QUALIFY row_number() OVER (PARTITION BY i ORDER BY n DESC, value) <= {int(top)} "
                        "ORDER BY i, n DESC, value", list(params) * len(columns)).fetchall()
    out: dict[str, list] = {}
    for i, value, n in found:
        column = columns[i]
        if column_kind(column.type) == "boolean":
            value = value == "true"
        out.setdefault(column.name, []).append((value, n))
    return {name: tuple(values) for name, values in out.items()}


def histogram(lake: Lake, version: DatasetVersion, column: str, *, bins: int = 30, where: str = "true",
              params: Sequence = (), top: int = 20) -> pd.DataFrame:
    """Distribution of one column: equal-width bins for numbers and times, top values for the rest.

    Numeric/temporal result columns: bin_start, bin_end, count; others: value, count (with
    '(other)' for values outside the top and '(missing)' for nulls).
    """
    kind = column_kind(_type_of(version, column))
    q = quote_identifier(column)
    source = f"(SELECT * FROM {version.table_sql} WHERE {where})"
    with lake.reading() as cur:
        if kind in ("numeric", "temporal"):
            value = f"epoch({q})" if kind == "temporal" else f"{q}::DOUBLE"
            frame = cur.execute(f"""
                WITH v AS (SELECT {value} AS x FROM {source} WHERE {q} IS NOT NULL),
                     r AS (SELECT min(x) AS lo, max(x) AS hi FROM v)
                SELECT lo, hi, CASE WHEN hi = lo THEN 0
                                    ELSE least(floor((x - lo) / ((hi - lo) / {int(bins)})), {int(bins) - 1}) END AS bin,
                       count(*) AS count
                FROM v, r GROUP BY ALL ORDER BY bin""", list(params)).df()
            if frame.empty:
                return pd.DataFrame({"bin_start": [], "bin_end": [], "count": []})
            lo, hi = float(frame["lo"].iloc[0]), float(frame["hi"].iloc[0])
            width = (hi - lo) / bins if hi > lo else 1.0
            out = pd.DataFrame({"bin_start": lo + frame["bin"] * width, "bin_end": lo + (frame["bin"] + 1) * width,
                                "count": frame["count"].astype("int64")})
            if kind == "temporal":
                out["bin_start"] = pd.to_datetime(out["bin_start"], unit="s")
                out["bin_end"] = pd.to_datetime(out["bin_end"], unit="s")
            return out
        frame = cur.execute(f"""
            WITH c AS (SELECT CAST({q} AS VARCHAR) AS value, count(*) AS count FROM {source} GROUP BY 1),
                 ranked AS (SELECT *, row_number() OVER (ORDER BY value IS NULL, count DESC, value) AS r FROM c)
            SELECT CASE WHEN value IS NULL THEN '(missing)' WHEN r <= {int(top)} THEN value ELSE '(other)' END AS value,
                   sum(count)::BIGINT AS count
            FROM ranked GROUP BY 1 ORDER BY count DESC""", list(params)).df()
        return frame


def target_balance(lake: Lake, version: DatasetVersion, target: str, group: str, *, where: str = "true",
                   params: Sequence = (), max_groups: int = 20) -> pd.DataFrame:
    """Counts and shares of each target value within each group (numbers binned when they have many values)."""
    for column in (target, group):
        _type_of(version, column)
    if target == group:
        raise InputError("Pick a group column other than the target.")
    t, g = quote_identifier(target), quote_identifier(group)
    source = f"(SELECT * FROM {version.table_sql} WHERE {where})"
    group_expr = f"CAST({g} AS VARCHAR)"
    with lake.reading() as cur:
        kind = column_kind(_type_of(version, group))
        distinct = cur.execute(f"SELECT count(DISTINCT {g}) FROM {source}", list(params)).fetchall()[0][0]
        if kind == "numeric" and distinct > max_groups:
            lo, hi = cur.execute(f"SELECT min({g})::DOUBLE, max({g})::DOUBLE FROM {source}", list(params)).fetchall()[0]
            width = (hi - lo) / 5 or 1.0
            edges = [lo + i * width for i in range(6)]
            labels = " ".join(f"WHEN {i} THEN '{_short(edges[i])} to {_short(edges[i + 1])}'" for i in range(5))
            # least() skips NULLs, so missing values are caught first
            group_expr = f"CASE WHEN {g} IS NULL THEN NULL ELSE CASE least(floor(({g} - {lo}) / {width}), 4)::INTEGER {labels} END END"
        elif distinct > max_groups:
            raise InputError(f"{group!r} has {distinct:,} distinct values; pick a column with at most {max_groups}.")
        frame = cur.execute(f"""
            SELECT coalesce({group_expr}, '(missing)') AS "group", coalesce(CAST({t} AS VARCHAR), '(missing)') AS target,
                   count(*) AS count, min({g}) AS first_value
            FROM {source} GROUP BY ALL""", list(params)).df()
    # groups in the order of their values (bins low to high), missing last
    frame["order"] = frame.groupby("group")["first_value"].transform("min")
    frame = frame.sort_values(["order", "target"], na_position="last").drop(columns=["first_value", "order"])
    frame = frame.reset_index(drop=True)
    frame["share"] = frame["count"] / frame.groupby("group")["count"].transform("sum")
    return frame


def correlations(lake: Lake, version: DatasetVersion, *, columns: Optional[Sequence[str]] = None,
                 where: str = "true", params: Sequence = (), limit: int = 30,
                 exclude: Sequence[str] = ()) -> pd.DataFrame:
    """Pearson correlation of every pair of numeric columns (long form: a, b, correlation)."""
    numeric = [c.name for c in version.columns if column_kind(c.type) == "numeric" and c.name not in exclude]
    chosen = [c for c in (columns or numeric) if c in numeric][:limit]
    if len(chosen) < 2:
        return pd.DataFrame({"a": [], "b": [], "correlation": []})
    pairs = [(a, b) for i, a in enumerate(chosen) for b in chosen[i:]]
    exprs = [f"corr({quote_identifier(a)}::DOUBLE, {quote_identifier(b)}::DOUBLE)" for a, b in pairs]
    with lake.reading() as cur:
        values = cur.execute(f"SELECT {', '.join(exprs)} FROM {version.table_sql} WHERE {where}",
                             list(params)).fetchall()[0]
    records = []
    for (a, b), value in zip(pairs, values):
        value = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        records.append({"a": a, "b": b, "correlation": value})
        if a != b:
            records.append({"a": b, "b": a, "correlation": value})
    return pd.DataFrame(records)


def _type_of(version: DatasetVersion, column: str) -> str:
    for c in version.columns:
        if c.name == column:
            return c.type
    raise InputError(f"Column {column!r} is not in {version.ref}; it has {', '.join(version.column_names[:20])}.")


def _plain(value: Any) -> Any:
    """JSON-ready values (dates as ISO text, decimals as floats, NaN as None)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _short(value: Any) -> str:
    """Text for the overview table, whose columns mix numbers, dates and words."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        if value.is_integer() or abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
