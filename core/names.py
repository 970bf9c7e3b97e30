"""Validation of the names users give to things, and parsing of NAME@VERSION references.

Names become SQL identifiers (table names in the lake), so they are checked against a
strict pattern and never pasted raw into SQL by any other route.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from core.errors import InputError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def check_name(name: str, *, what: str = "name") -> str:
    """Return `name` if it is a safe identifier, else raise an InputError saying how to fix it."""
    if not isinstance(name, str) or not _NAME.match(name):
        shown = name if isinstance(name, str) and len(name) <= 80 else f"{str(name)[:80]}..."
        raise InputError(
            f"{what.capitalize()} {shown!r} is not allowed: use 1 to 63 lowercase letters, digits "
            "and underscores, starting with a letter (for example 'credit_applications')."
        )
    return name


def suggest_name(text: str) -> str:
    """A safe name derived from free text such as a file name ('My Data-2024.csv' -> 'my_data_2024')."""
    stem = re.sub(r"\.(csv|tsv|txt|parquet|pq|jsonl?|ndjson|duckdb|db|gz)$", "", text.strip().lower())
    stem = re.sub(r"\.(csv|tsv|txt|jsonl?|ndjson)$", "", stem)
    slug = re.sub(r"[^a-z0-9]+", "_", stem).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"data_{slug}".rstrip("_")
    return slug[:63]


def quote_identifier(name: str) -> str:
    """Double-quote an identifier for DuckDB, escaping embedded quotes.

    Used for column names that come from data files; table names go through check_name.
    """
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class DatasetRef:
    name: str
    version: Optional[int] = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


def parse_dataset_ref(text: str) -> DatasetRef:
    """Parse 'NAME' or 'NAME@VERSION' (VERSION a positive integer)."""
    name, sep, version = str(text).partition("@")
    check_name(name, what="dataset name")
    if not sep:
        return DatasetRef(name)
    if not version.isdigit() or int(version) < 1:
        raise InputError(f"Version {version!r} in {text!r} is not a positive whole number: use NAME@1, NAME@2, ...")
    return DatasetRef(name, int(version))
