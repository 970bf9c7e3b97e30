"""Exports people open in spreadsheets. A cell that starts with =, +, -, @ (or a tab or carriage
return) is run as a formula by Excel and its kin (CSV injection); such text cells get a leading
apostrophe, so they show as the text they are. Numbers are left alone (a negative number is data)."""
from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> bytes:
    """The frame as CSV (UTF-8), with formula-looking text cells and headers neutralized."""
    out = frame.copy()
    out.columns = [neutralize(str(c)) for c in out.columns]
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(neutralize)
    return out.to_csv(index=False).encode("utf-8")
