"""Exports people open in spreadsheets. A cell whose first visible character is =, +, -, @ (or the
full-width forms spreadsheets also accept) is run as a formula by Excel and its kin (CSV injection),
and so is one that starts with a tab, carriage return or line feed; spreadsheets skip leading spaces
and line breaks before a formula, so those are looked through. Such text cells get a leading
apostrophe, so they show as the text they are. Numbers are left alone (a negative number is data).
A cell with a line break inside is quoted, so it cannot start a row of its own."""
from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
CONTROL_STARTS = ("\t", "\r", "\n")


def is_formula_like(value: str) -> bool:
    return value.startswith(CONTROL_STARTS) or value.lstrip().startswith(FORMULA_STARTS)


def neutralize(value):
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> bytes:
    """The frame as CSV (UTF-8), with formula-looking text cells and headers neutralized."""
    out = frame.copy()
    out.columns = [neutralize(str(c)) for c in out.columns]
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(neutralize)
    # RFC 4180 line ends (CRLF): the csv writer then quotes every cell holding a CR or LF. With bare LF line
    # ends a CR inside a cell went out unquoted, and a spreadsheet starts a new row there ("x\r=cmd()").
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
