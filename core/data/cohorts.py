"""Cohorts: named, saved filters over a dataset, reusable by every page.

A cohort is a list of conditions (column, operator, value) joined by AND. Conditions are
compiled to a WHERE clause with the column names checked against the dataset and quoted,
and the values passed as parameters: a cohort can never inject SQL.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Optional, Sequence, get_args

import duckdb

from core.errors import InputError, NotFoundError
from core.lake import Lake
from core.names import check_name, quote_identifier

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in", "between", "is null", "is not null"]
OPS: tuple[str, ...] = get_args(Op)
_NO_VALUE = ("is null", "is not null")


@dataclass(frozen=True)
class Condition:
    column: str
    op: Op
    value: Any = None
    or_null: bool = False  # also rows where the column is missing (how a tree sends its imputed rows)

    def __post_init__(self):
        if self.op not in OPS:
            raise InputError(f"Operator {self.op!r} is not supported; use one of {', '.join(OPS)}.")
        if self.op in ("in", "not in") and (not isinstance(self.value, (list, tuple)) or not self.value):
            raise InputError(f"'{self.op}' needs a non-empty list of values for column {self.column!r}.")
        if self.op == "between" and (not isinstance(self.value, (list, tuple)) or len(self.value) != 2):
            raise InputError(f"'between' needs two values [low, high] for column {self.column!r}.")
        if self.op not in _NO_VALUE and self.op not in ("in", "not in", "between") and self.value is None:
            raise InputError(f"Condition on {self.column!r} with '{self.op}' needs a value.")

    def to_dict(self) -> dict:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"column": self.column, "op": self.op, "value": value, **({"or_null": True} if self.or_null else {})}

    def describe(self) -> str:
        if self.op in _NO_VALUE:
            return f"{self.column} {self.op}"
        if self.op == "between":
            text = f"{self.column} between {self.value[0]!r} and {self.value[1]!r}"
        else:
            text = f"{self.column} {self.op} {self.value!r}"
        return text + (" (or missing)" if self.or_null else "")


def conditions_from(raw: Sequence[dict]) -> tuple[Condition, ...]:
    try:
        return tuple(Condition(column=str(c["column"]), op=c["op"], value=c.get("value"),
                               or_null=bool(c.get("or_null", False))) for c in raw)
    except (KeyError, TypeError) as exc:
        raise InputError(f"A cohort condition needs 'column', 'op' and usually 'value' ({exc}).") from None


def describe(conditions: Sequence[Condition]) -> str:
    return " and ".join(c.describe() for c in conditions) or "all rows"


def where_sql(conditions: Sequence[Condition], columns: Sequence[str]) -> tuple[str, list]:
    """A WHERE clause (without the keyword) and its parameters; 'true' for no conditions."""
    known = set(columns)
    parts, params = [], []
    for c in conditions:
        if c.column not in known:
            raise InputError(f"Column {c.column!r} is not in this dataset; the cohort cannot be applied to it.")
        column = quote_identifier(c.column)
        if c.op in _NO_VALUE:
            parts.append(f"{column} {c.op.upper()}")
        elif c.op in ("in", "not in"):
            marks = ", ".join("?" for _ in c.value)
            parts.append(f"{column} {c.op.upper()} ({marks})")
            params += list(c.value)
        elif c.op == "between":
            parts.append(f"{column} BETWEEN ? AND ?")
            params += list(c.value)
        else:
            parts.append(f"{column} {'=' if c.op == '==' else c.op} ?")
            params.append(c.value)
        if c.or_null and c.op not in _NO_VALUE:
            parts[-1] = f"({parts[-1]} OR {column} IS NULL)"
    return (" AND ".join(parts) or "true"), params


@dataclass(frozen=True)
class Cohort:
    name: str
    usecase: str
    dataset: str
    conditions: tuple[Condition, ...]
    description: str
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict:
        return {"name": self.name, "usecase": self.usecase, "dataset": self.dataset,
                "conditions": [c.to_dict() for c in self.conditions], "filter": describe(self.conditions),
                "description": self.description, "created_by": self.created_by,
                "created_at": self.created_at.isoformat()}


def _cohort(*, conditions: list, description: Optional[str], **row) -> Cohort:
    """A cohort from its row (records decodes the conditions)."""
    return Cohort(conditions=conditions_from(conditions), description=description or "", **row)


def save(lake: Lake, name: str, *, dataset: str, conditions: Sequence[Condition], actor: str,
         usecase: str = "default", description: str = "", columns: Optional[Sequence[str]] = None) -> Cohort:
    """Save (or replace) a cohort; when `columns` is given, every condition must name one of them."""
    check_name(name, what="cohort name")
    check_name(dataset, what="dataset name")
    if not conditions:
        raise InputError("A cohort needs at least one condition.")
    if columns is not None:
        where_sql(conditions, columns)
    payload = json.dumps([c.to_dict() for c in conditions], default=str)

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("DELETE FROM lake.assay.cohorts WHERE name = ? AND usecase = ?", [name, usecase])
        cur.execute("INSERT INTO lake.assay.cohorts VALUES (?, ?, ?, ?, ?, ?, now())",
                    [name, usecase, dataset, payload, description, actor])

    lake.write(work, actor=actor, action="save", message=f"save cohort {name}", tag=f"cohort:{usecase}/{name}")
    return get(lake, name, usecase=usecase)


def get(lake: Lake, name: str, *, usecase: str = "default") -> Cohort:
    found = lake.records("SELECT * FROM lake.assay.cohorts WHERE name = ? AND usecase = ?", [name, usecase], into=_cohort,
                         json=("conditions",))
    if not found:
        raise NotFoundError(f"No cohort named {name!r} in use case {usecase!r}.")
    return found[0]


def list_cohorts(lake: Lake, *, usecase: Optional[str] = None, dataset: Optional[str] = None) -> list[Cohort]:
    sql, params = "SELECT * FROM lake.assay.cohorts WHERE true", []
    if usecase:
        sql, params = sql + " AND usecase = ?", params + [usecase]
    if dataset:
        sql, params = sql + " AND dataset = ?", params + [dataset]
    return lake.records(sql + " ORDER BY name", params, into=_cohort, json=("conditions",))


def delete(lake: Lake, name: str, *, actor: str, usecase: str = "default") -> None:
    get(lake, name, usecase=usecase)
    lake.write(lambda cur: cur.execute("DELETE FROM lake.assay.cohorts WHERE name = ? AND usecase = ?",
                                       [name, usecase]),
               actor=actor, action="delete", message=f"delete cohort {name}", tag=f"cohort-deleted:{usecase}/{name}")


def condition_from_text(column: str, op: str, text: str, column_type: str) -> Condition:
    """Build a condition from what a person typed: numbers for numeric columns, comma-separated
    lists for 'in'/'not in', 'low, high' for 'between'."""
    from core.data.profile import column_kind

    kind = column_kind(column_type)

    def one(value: str) -> Any:
        value = value.strip()
        if kind == "numeric":
            try:
                number = float(value)
            except ValueError:
                raise InputError(f"{column!r} is numeric: {value!r} is not a number.") from None
            return int(number) if number.is_integer() and "INT" in column_type.upper() else number
        if kind == "boolean":
            if value.lower() not in ("true", "false"):
                raise InputError(f"{column!r} is true/false: write true or false, not {value!r}.")
            return value.lower() == "true"
        return value

    if op in _NO_VALUE:
        return Condition(column, op)
    text = "" if text is None else str(text)
    if op in ("in", "not in"):
        return Condition(column, op, [one(v) for v in text.split(",") if v.strip()])
    if op == "between":
        parts = [p for p in text.split(",") if p.strip()]
        if len(parts) != 2:
            raise InputError(f"'between' on {column!r} needs two values separated by a comma, like '18, 30'.")
        return Condition(column, op, [one(p) for p in parts])
    if not text.strip():
        raise InputError(f"The condition on {column!r} needs a value.")
    return Condition(column, op, one(text))


def count_rows(lake: Lake, version, conditions: Sequence[Condition]) -> int:
    """How many rows of a dataset version (core.datasets.DatasetVersion) match the conditions."""
    where, params = where_sql(conditions, version.column_names)
    return lake.query(f"SELECT count(*) FROM {version.table_sql} WHERE {where}", params)[0][0]
