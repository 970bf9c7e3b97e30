"""Parsing helpers shared by the command groups: strict JSON options, comma lists, spec files, and the
sane bounds of every numeric option."""
from __future__ import annotations

import argparse
import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from core import features
from core.errors import InputError


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def strict_json(text: str, flag: str) -> Any:
    """json.loads that refuses NaN and Infinity (Python's json accepts them; no range or threshold can use them)."""
    def refuse(constant: str) -> None:
        raise InputError(f"{flag}: {constant} is not a number a range or threshold can use; give finite numbers.")
    return json.loads(text, parse_constant=refuse)


def json_arg(text: Optional[str], flag: str, example: str) -> Optional[dict]:
    if not text:
        return None
    try:
        value = strict_json(text, flag)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InputError(f"{flag} takes a JSON object, such as '{example}'.")
    return value


def read_spec(path: str) -> str:
    """The spec file's text, read no further than one byte past the limit load_spec enforces."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(features.MAX_SPEC_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the spec file {path}: {getattr(exc, 'strerror', None) or exc}.") from None


# Sane bounds of the numeric options, checked after parsing (argparse checks only the type): option -> (low, high).
# A value outside (or NaN/Infinity in any float option) is refused with the option's name and its range.
_BOUNDS: dict[str, tuple[float, float]] = {
    "seed": (0, 2**32 - 1), "test_size": (0.01, 0.99), "train.threshold": (0.0, 1.0), "search_seconds": (0, 86_400),
    "cf_rows": (1, 100_000), "cf_count": (1, 50), "explain_rows": (1, 10_000_000), "bootstrap": (0, 10_000),
    "eps": (0.000001, 1.0), "first": (1, 100_000), "count": (1, 50), "cost": (-1e12, 1e12), "k": (2, 1_000_000),
    "batch_rows": (1_000, 10_000_000), "limit": (1, 100_000), "share": (0.000001, 1.0), "port": (1, 65_535),
}


def check_bounds(args: argparse.Namespace) -> None:
    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            flag = "-k" if name == "k" else "--" + name.replace("_", "-")
            if isinstance(item, float) and not math.isfinite(item):
                raise InputError(f"{flag}: {item} is not a finite number.")
            bounds = _BOUNDS.get(f"{getattr(args, 'command', '')}.{name}") or _BOUNDS.get(name)
            if bounds:
                low, high = bounds
                if not low <= item <= high:
                    whole = isinstance(item, int)
                    raise InputError(f"{flag} must be {'a whole number ' if whole else ''}from {low:,} to {high:,}, "
                                     f"not {item:,}.")


def json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):
        return value.item()
    return str(value)
