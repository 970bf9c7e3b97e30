"""Validation of derived-feature expressions: one scalar SQL expression over base columns.

DuckDB parses the expression (json_serialize_sql) and we walk the syntax tree: only column
references to the base dataset, constants, operators, CASE, CAST and a list of scalar
functions are allowed. No statements, subqueries, table functions (read_csv, read_parquet),
window or aggregate functions, and nothing that reads files, settings or the environment.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

import duckdb

from core.errors import InputError

ALLOWED_FUNCTIONS = frozenset({
    # operators as DuckDB names them
    "+", "-", "*", "/", "//", "%", "^", "**", "||", "~~", "!~~", "~~*", "!~~*", "&", "|", "<<", ">>",
    # arithmetic
    "abs", "round", "floor", "ceil", "ceiling", "sqrt", "cbrt", "exp", "ln", "log", "log10", "log2", "pow", "power",
    "sign", "greatest", "least", "trunc", "mod", "isnan", "isinf", "isfinite", "divide",
    # missing values
    "coalesce", "nullif", "ifnull",
    # text
    "lower", "upper", "length", "strlen", "substr", "substring", "trim", "ltrim", "rtrim", "concat", "concat_ws",
    "replace", "contains", "starts_with", "ends_with", "prefix", "suffix", "left", "right", "lpad", "rpad",
    "regexp_matches", "regexp_replace", "regexp_extract", "split_part", "strpos", "instr", "reverse", "md5", "hash",
    # dates and times
    "date_part", "datepart", "date_diff", "datediff", "date_sub", "datesub", "date_trunc", "datetrunc", "year",
    "month", "day", "dayofweek", "dayofyear", "week", "quarter", "hour", "minute", "epoch", "epoch_ms", "make_date",
    "last_day", "age",
})
_ALLOWED_CLASSES = frozenset({"COLUMN_REF", "CONSTANT", "FUNCTION", "OPERATOR", "CASE", "CAST", "COMPARISON",
                              "CONJUNCTION", "BETWEEN"})
_EMPTY_CLAUSES = ("where_clause", "having", "qualify", "sample")


def check_expression(name: str, expression: str, columns: Iterable[str]) -> str:
    """Return the expression, rewritten by DuckDB from its checked syntax tree (so no comment or
    stray text survives), if it is a safe scalar expression over `columns`; raise InputError otherwise."""
    text = str(expression).strip()
    if ";" in text:
        raise InputError(f"Derived column {name!r}: semicolons are not allowed; write one expression.")
    with duckdb.connect() as con:
        serialized = con.execute("SELECT json_serialize_sql(?)", ["SELECT " + text]).fetchall()[0][0]
        tree = json.loads(serialized)
        canonical = None if tree.get("error") else con.execute("SELECT json_deserialize_sql(?)", [serialized]).fetchall()[0][0]
    if tree.get("error"):
        raise InputError(f"Derived column {name!r}: {tree.get('error_message', 'does not parse')}.")
    statements = tree["statements"]
    node = statements[0]["node"] if len(statements) == 1 else None
    if (node is None or node.get("type") != "SELECT_NODE" or len(node.get("select_list", [])) != 1
            or node.get("from_table", {}).get("type") != "EMPTY" or node.get("group_expressions")
            or node.get("modifiers") or node.get("cte_map", {}).get("map") or any(node.get(k) for k in _EMPTY_CLAUSES)):
        raise InputError(f"Derived column {name!r}: must be one scalar expression over the base columns "
                         "(no FROM, WHERE, GROUP BY or second statement).")
    known = {c.lower(): c for c in columns}
    _walk(name, node["select_list"][0], known)
    return canonical.removeprefix("SELECT ").strip()


def _walk(name: str, node: Any, known: dict) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(name, item, known)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("class")
    if kind is not None:
        if kind not in _ALLOWED_CLASSES:
            what = {"SUBQUERY": "subqueries", "WINDOW": "window and aggregate functions",
                    "STAR": "'*'"}.get(kind, kind.lower())
            raise InputError(f"Derived column {name!r}: {what} are not allowed in an expression.")
        if kind == "COLUMN_REF":
            parts = node.get("column_names", [])
            if len(parts) != 1 or parts[0].lower() not in known:
                shown = ".".join(parts)
                raise InputError(f"Derived column {name!r}: unknown column {shown!r}; the base has "
                                 f"{', '.join(sorted(known.values())[:25])}.")
        if kind == "FUNCTION":
            function = str(node.get("function_name", "")).lower()
            if node.get("schema") or node.get("catalog") or function not in ALLOWED_FUNCTIONS:
                raise InputError(f"Derived column {name!r}: function {function!r} is not allowed. Allowed: "
                                 f"{', '.join(sorted(f for f in ALLOWED_FUNCTIONS if f.isalpha() or '_' in f))}.")
            if node.get("distinct") or node.get("filter") or node.get("order_bys", {}).get("orders"):
                raise InputError(f"Derived column {name!r}: aggregate options are not allowed in an expression.")
    for value in node.values():
        if isinstance(value, (dict, list)):
            _walk(name, value, known)
