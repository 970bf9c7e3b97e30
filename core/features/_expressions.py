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
from core.features._limits import MAX_GROWTH, MAX_TEXT_LENGTH

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
    growth, added = _size(name, node["select_list"][0])
    if growth > MAX_GROWTH or added > MAX_TEXT_LENGTH:
        raise InputError(f"Derived column {name!r} can make a value up to {growth:,.0f} times as long as a base value "
                         f"plus {added:,.0f} characters; the limit is {MAX_GROWTH} times plus {MAX_TEXT_LENGTH:,} "
                         "characters. Nest fewer replace/concat calls or use shorter constants.")
    return canonical.removeprefix("SELECT ").strip()


# Size of a value as (growth, added): at most growth * (longest base value) + added characters.
# Functions not listed return at most the longest of their arguments (or a short number, date or flag).
Size = tuple[float, float]


def _size(name: str, node: dict) -> Size:
    kind = node.get("class")
    if kind == "COLUMN_REF":
        return (1.0, 0.0)
    if kind == "CONSTANT":
        value = node.get("value", {})
        return (0.0, 0.0 if value.get("is_null") else float(len(str(value.get("value")))))
    if kind in ("COMPARISON", "CONJUNCTION", "BETWEEN"):
        return (0.0, 8.0)
    if kind == "CAST":  # a number or date written out as text: a few dozen characters at most
        growth, added = _size(name, node["child"])
        return (growth, added + 64)
    if kind == "CASE":
        branches = [c["then_expr"] for c in node.get("case_checks", [])] + [node["else_expr"]]
        return _longest([_size(name, b) for b in branches])
    children = node.get("children", [])
    sizes = [_size(name, c) for c in children]
    function = str(node.get("function_name", "")).lower() if kind == "FUNCTION" else ""
    if function in ("lpad", "rpad"):
        return (0.0, float(_constant_length(name, function, children[1] if len(children) > 1 else None)))
    if function == "concat_ws" and len(sizes) > 2:  # the separator (first) goes between every two values
        return _sum(sizes[1:] + [sizes[0]] * (len(sizes) - 2))
    if function in ("||", "concat", "concat_ws"):
        return _sum(sizes)
    if function == "replace" and len(sizes) == 3:  # each match of the search text (>= 1 char) becomes the replacement
        replacement = _fixed_length(name, function, sizes[2])
        searched = children[1].get("value", {}).get("value") if children[1].get("class") == "CONSTANT" else None
        factor = max(1.0, replacement / max(len(searched) if isinstance(searched, str) else 1, 1))
        return (sizes[0][0] * factor, sizes[0][1] * factor)
    if function == "regexp_replace" and len(sizes) >= 3:
        # with 'g', a pattern may match (even empty) at every position, and \0..\9 copy a match back;
        # without it, only the first match is replaced
        replacement = _fixed_length(name, function, sizes[2])
        flags = children[3] if len(children) > 3 else {"class": "CONSTANT", "value": {"value": ""}}
        every = flags.get("class") != "CONSTANT" or "g" in str(flags.get("value", {}).get("value") or "")
        factor = 1.0 + (2 * replacement if every else replacement / 2)
        return (sizes[0][0] * factor, sizes[0][1] * factor + replacement)
    return _longest(sizes) if sizes else (0.0, 64.0)


def _constant_length(name: str, function: str, node: dict | None) -> int:
    value = node.get("value", {}) if node and node.get("class") == "CONSTANT" else {}
    number = value.get("value")
    if not isinstance(number, int) or isinstance(number, bool):
        raise InputError(f"Derived column {name!r}: {function}'s length must be a whole number written in the "
                         f"expression (at most {MAX_TEXT_LENGTH:,}), not computed.")
    if number > MAX_TEXT_LENGTH:
        raise InputError(f"Derived column {name!r}: {function}'s length {number:,} is above the limit of "
                         f"{MAX_TEXT_LENGTH:,} characters.")
    return max(number, 0)


def _fixed_length(name: str, function: str, size: Size) -> float:
    """The longest a replacement can be; refused when it depends on a column (quadratic growth)."""
    if size[0]:
        raise InputError(f"Derived column {name!r}: {function}'s replacement must be written in the expression, "
                         "not taken from a column (the value could grow with the square of its length).")
    return size[1]


def _sum(sizes: list[Size]) -> Size:
    return (sum(s[0] for s in sizes), sum(s[1] for s in sizes))


def _longest(sizes: list[Size]) -> Size:
    return (max(s[0] for s in sizes), max(s[1] for s in sizes))


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
            # DuckDB parses trim(x) as main.trim(x): the built-in schema is fine, any other is not
            if node.get("schema") not in ("", None, "main") or node.get("catalog") or function not in ALLOWED_FUNCTIONS:
                raise InputError(f"Derived column {name!r}: function {function!r} is not allowed. Allowed: "
                                 f"{', '.join(sorted(f for f in ALLOWED_FUNCTIONS if f.isalpha() or '_' in f))}.")
            if node.get("distinct") or node.get("filter") or node.get("order_bys", {}).get("orders"):
                raise InputError(f"Derived column {name!r}: aggregate options are not allowed in an expression.")
    for value in node.values():
        if isinstance(value, (dict, list)):
            _walk(name, value, known)
