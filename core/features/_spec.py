"""The feature-set spec: a declarative description (YAML or JSON, same schema) of a feature set.

    name: applicant_features
    description: ...
    base: applications            # dataset NAME or NAME@VERSION: one row per entity/event
    entity: applicant_id
    timestamp: applied_at          # optional: makes every aggregate and as-of join point-in-time
    columns: [age, income, sex]    # kept as they are
    derived:                       # one SQL scalar expression over base columns each
      debt_to_income: debt / nullif(income, 0)
    aggregates:                    # from related datasets, per entity
      - source: transactions
        entity: applicant_id
        timestamp: tx_at
        column: amount
        functions: [count, sum, avg, max]
        window: 90 days            # only events in the window before the base timestamp
    joins:                         # one row per key, or the latest row at or before the timestamp
      - source: bureau
        on: applicant_id           # base column (default: the entity)
        key: applicant_id          # source column (default: same name as `on`)
        columns: [score]
        as_of: reported_at         # optional: ASOF join on this source timestamp
    label: defaulted               # optional target column carried along
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

import yaml

from core.errors import InputError
from core.features._limits import MAX_EXPRESSION_CHARS, check_counts, parse_yaml
from core.names import check_name, parse_dataset_ref

FUNCTIONS = {"count": "count({c})", "sum": "sum({c})", "avg": "avg({c})", "mean": "avg({c})", "min": "min({c})",
             "max": "max({c})", "stddev": "stddev_samp({c})", "median": "median({c})",
             "count_distinct": "count(DISTINCT {c})"}
_WINDOW = re.compile(r"^\s*(\d{1,5})\s*(minute|hour|day|week|month|year)s?\s*$", re.IGNORECASE)
_SPEC_KEYS = {"name", "description", "base", "entity", "timestamp", "columns", "derived", "aggregates", "joins",
              "label", "usecase"}
_AGG_KEYS = {"source", "entity", "timestamp", "column", "functions", "window", "prefix"}
_JOIN_KEYS = {"source", "on", "key", "columns", "as_of", "prefix"}


@dataclass(frozen=True)
class Window:
    amount: int
    unit: str  # minute, hour, day, week, month, year

    @property
    def sql(self) -> str:
        return f"INTERVAL {int(self.amount)} {self.unit.upper()}"

    @property
    def suffix(self) -> str:
        return f"{self.amount}{self.unit[0] if self.unit != 'month' else 'mo'}"

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'s' if self.amount != 1 else ''}"


@dataclass(frozen=True)
class Aggregate:
    source: str
    entity: str
    column: str
    functions: tuple[str, ...]
    timestamp: Optional[str] = None
    window: Optional[Window] = None
    prefix: Optional[str] = None

    def output_name(self, function: str) -> str:
        stem = self.prefix or f"{parse_dataset_ref(self.source).name}_{self.column}"
        return f"{stem}_{function}" + (f"_{self.window.suffix}" if self.window else "")

    def to_dict(self) -> dict:
        out = {"source": self.source, "entity": self.entity, "column": self.column, "functions": list(self.functions)}
        if self.timestamp:
            out["timestamp"] = self.timestamp
        if self.window:
            out["window"] = str(self.window)
        if self.prefix:
            out["prefix"] = self.prefix
        return out


@dataclass(frozen=True)
class Join:
    source: str
    on: str
    key: str
    columns: tuple[str, ...]
    as_of: Optional[str] = None
    prefix: str = ""

    def to_dict(self) -> dict:
        out = {"source": self.source, "on": self.on, "key": self.key, "columns": list(self.columns)}
        if self.as_of:
            out["as_of"] = self.as_of
        if self.prefix:
            out["prefix"] = self.prefix
        return out


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    base: str
    entity: str
    description: str = ""
    timestamp: Optional[str] = None
    columns: tuple[str, ...] = ()
    derived: tuple[tuple[str, str], ...] = ()
    aggregates: tuple[Aggregate, ...] = ()
    joins: tuple[Join, ...] = ()
    label: Optional[str] = None
    usecase: Optional[str] = None

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"name": self.name, "description": self.description, "base": self.base,
                               "entity": self.entity}
        if self.usecase:
            out["usecase"] = self.usecase
        if self.timestamp:
            out["timestamp"] = self.timestamp
        out["columns"] = list(self.columns)
        if self.derived:
            out["derived"] = dict(self.derived)
        if self.aggregates:
            out["aggregates"] = [a.to_dict() for a in self.aggregates]
        if self.joins:
            out["joins"] = [j.to_dict() for j in self.joins]
        if self.label:
            out["label"] = self.label
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def parse_window(text: Any) -> Window:
    match = _WINDOW.match(str(text))
    if not match:
        raise InputError(f"Window {text!r} does not parse: write a whole number and a unit, such as '90 days', "
                         "'12 hours', '6 months' or '1 year'.")
    return Window(int(match.group(1)), match.group(2).lower())


def load_spec(text: str) -> FeatureSpec:
    """Parse YAML or JSON text (JSON is YAML) into a checked spec."""
    return spec_from_dict(parse_yaml(text))


def spec_from_dict(raw: Any) -> FeatureSpec:
    if not isinstance(raw, dict):
        raise InputError("A feature-set spec is a mapping with at least name, base and entity.")
    _no_unknown(raw, _SPEC_KEYS, "the spec")
    for key in ("name", "base", "entity"):
        if not raw.get(key):
            raise InputError(f"The spec needs '{key}'.")
    check_name(str(raw["name"]), what="feature set name")
    parse_dataset_ref(str(raw["base"]))
    derived = raw.get("derived") or {}
    if not isinstance(derived, dict):
        raise InputError("'derived' maps new column names to expressions, e.g. {debt_to_income: debt / income}.")
    for name, expression in derived.items():
        check_name(str(name), what="derived column name")
        if not isinstance(expression, (str, int, float)) or not str(expression).strip():
            raise InputError(f"Derived column {name!r} needs an expression.")
        if len(str(expression)) > MAX_EXPRESSION_CHARS:
            raise InputError(f"Derived column {name!r} is {len(str(expression)):,} characters long; an expression may "
                             f"have at most {MAX_EXPRESSION_CHARS:,}.")
    check_counts(len(derived), len(_list(raw.get("aggregates"), "aggregates")), len(_list(raw.get("joins"), "joins")))
    return FeatureSpec(
        name=str(raw["name"]), base=str(raw["base"]), entity=str(raw["entity"]),
        description=str(raw.get("description") or ""), timestamp=raw.get("timestamp") or None,
        columns=tuple(str(c) for c in _list(raw.get("columns"), "columns")),
        derived=tuple((str(k), str(v)) for k, v in derived.items()),
        aggregates=tuple(_aggregate(a, raw) for a in _list(raw.get("aggregates"), "aggregates")),
        joins=tuple(_join(j, raw) for j in _list(raw.get("joins"), "joins")),
        label=raw.get("label") or None, usecase=raw.get("usecase") or None)


def _aggregate(raw: Any, spec: dict) -> Aggregate:
    if not isinstance(raw, dict):
        raise InputError("Each aggregate is a mapping with source, column and functions.")
    _no_unknown(raw, _AGG_KEYS, "an aggregate")
    for key in ("source", "column", "functions"):
        if not raw.get(key):
            raise InputError(f"An aggregate needs '{key}'.")
    parse_dataset_ref(str(raw["source"]))
    functions = tuple(str(f).lower() for f in _list(raw["functions"], "functions"))
    unknown = [f for f in functions if f not in FUNCTIONS]
    if unknown:
        raise InputError(f"Aggregate function(s) {unknown} are not supported; use {sorted(FUNCTIONS)}.")
    if raw.get("prefix"):
        check_name(str(raw["prefix"]), what="aggregate prefix")
    return Aggregate(source=str(raw["source"]), entity=str(raw.get("entity") or spec["entity"]),
                     column=str(raw["column"]), functions=functions, timestamp=raw.get("timestamp") or None,
                     window=parse_window(raw["window"]) if raw.get("window") else None, prefix=raw.get("prefix"))


def _join(raw: Any, spec: dict) -> Join:
    if not isinstance(raw, dict):
        raise InputError("Each join is a mapping with source and columns.")
    _no_unknown(raw, _JOIN_KEYS, "a join")
    if not raw.get("source") or not raw.get("columns"):
        raise InputError("A join needs 'source' and 'columns'.")
    parse_dataset_ref(str(raw["source"]))
    on = str(raw.get("on") or spec["entity"])
    prefix = str(raw.get("prefix") or "")
    if prefix:
        check_name(prefix, what="join prefix")
    return Join(source=str(raw["source"]), on=on, key=str(raw.get("key") or on),
                columns=tuple(str(c) for c in _list(raw["columns"], "join columns")), as_of=raw.get("as_of") or None,
                prefix=prefix)


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [value]
    if not isinstance(value, list):
        raise InputError(f"'{what}' must be a list.")
    return value


def _no_unknown(raw: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(map(str, raw)) - allowed)
    if unknown:
        raise InputError(f"Unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}.")


def spec_json(spec: FeatureSpec) -> str:
    return json.dumps(spec.to_dict(), sort_keys=False)


def parse_derived_lines(text: str) -> dict[str, str]:
    """'name = expression' per line (blank lines and lines starting with # skipped) -> {name: expression}."""
    derived: dict[str, str] = {}
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        name, sep, expression = line.partition("=")
        if not sep or not expression.strip() or expression.strip().startswith("="):
            raise InputError(f"Derived line {number}: write 'name = expression', e.g. 'debt_to_income = debt / income'.")
        name = name.strip()
        check_name(name, what="derived column name")
        if name in derived:
            raise InputError(f"Derived line {number}: {name!r} is defined twice.")
        derived[name] = expression.strip()
    return derived
