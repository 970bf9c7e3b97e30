"""What one feature spec may cost: its text, its YAML, its expressions, and a live preview.

A viewer can type a spec into the app and preview it, so none of these may grow without bound:
the YAML is parsed without aliases (a 392-byte alias bomb grew to 3.7 GB), the expressions'
size-producing functions have constant, bounded lengths (checked in _expressions), and a
preview is limited in rows, bytes and seconds on top of DuckDB's memory limit (core.config).
"""
from __future__ import annotations

import threading
import uuid
from typing import Any

import duckdb
import pandas as pd
import yaml

from core.errors import InputError

MAX_SPEC_BYTES = 64 * 1024
MAX_YAML_DEPTH = 20
MAX_EXPRESSION_CHARS = 2_000
MAX_DERIVED = 200
MAX_AGGREGATES = 50
MAX_JOINS = 20
MAX_TEXT_LENGTH = 10_000  # characters an expression may add to a value (lpad/rpad lengths, constants)
MAX_GROWTH = 16  # times a value may grow through nested replace/concat/regexp_replace
PREVIEW_MAX_ROWS = 1_000
PREVIEW_MAX_BYTES = 64 * 2**20


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases (each one can double what the text holds) and with a
    nesting limit (the pure-Python composer recurses once per level)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise InputError(f"YAML aliases (*name) are not allowed in a feature spec (line {mark.line + 1}): "
                             "write the value out where it is needed.")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise InputError(f"The spec nests deeper than {MAX_YAML_DEPTH} levels; a feature spec needs 4.")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_yaml(text: str) -> Any:
    """The YAML or JSON text of a spec, parsed within MAX_SPEC_BYTES and without aliases."""
    size = len(str(text).encode("utf-8", errors="replace"))
    if size > MAX_SPEC_BYTES:
        raise InputError(f"The spec is {size:,} bytes; a feature spec may be at most {MAX_SPEC_BYTES:,}. "
                         "Split it into several feature sets.")
    try:
        return yaml.load(text, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InputError(f"The spec is not valid YAML or JSON: {str(exc).splitlines()[0]}") from None


def check_counts(derived: int, aggregates: int, joins: int) -> None:
    for count, limit, what in ((derived, MAX_DERIVED, "derived columns"), (aggregates, MAX_AGGREGATES, "aggregates"),
                               (joins, MAX_JOINS, "joins")):
        if count > limit:
            raise InputError(f"The spec has {count:,} {what}; a feature set may have at most {limit:,}. "
                             "Split it into several feature sets.")


def bounded_frame(cur: duckdb.DuckDBPyConnection, sql: str, *, rows: int, seconds: float, what: str) -> pd.DataFrame:
    """The first `rows` rows of `sql`, computed within `seconds` and PREVIEW_MAX_BYTES.

    DuckDB has no per-query timeout, and a streamed result cannot be interrupted, so the rows are
    first materialized into a temporary table (interrupted from a timer thread when too slow), then
    measured, then handed to pandas."""
    table = f"preview_{uuid.uuid4().hex}"
    timer = threading.Timer(seconds, cur.interrupt)
    timer.start()
    try:
        cur.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM ({sql}) LIMIT {int(rows)}")
    except duckdb.InterruptException:
        raise InputError(f"The {what} took longer than {seconds:g} s and was stopped: simplify the expressions or "
                         "aggregates, or build the feature set (a build has no time limit).") from None
    except duckdb.OutOfMemoryException:
        raise InputError(f"The {what} needs more memory than DuckDB's limit (ASSAY_MEMORY_LIMIT) and was stopped: "
                         "use fewer or smaller derived columns.") from None
    finally:
        timer.cancel()
    try:
        arrow = cur.execute(f"SELECT * FROM temp.{table}").fetch_arrow_table()
        if arrow.nbytes > PREVIEW_MAX_BYTES:
            raise InputError(f"The {what} is {arrow.nbytes / 2**20:,.0f} MiB for {arrow.num_rows:,} rows; a preview may "
                             f"be at most {PREVIEW_MAX_BYTES // 2**20} MiB: use fewer or smaller derived columns.")
        return arrow.to_pandas()
    finally:
        cur.execute(f"DROP TABLE IF EXISTS temp.{table}")
