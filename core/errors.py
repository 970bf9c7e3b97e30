"""Exceptions that carry a message a person can act on.

Every error a user can cause is raised as an `AssayError` (or a subclass); the CLI
prints its message as `{"error": ...}` and the pages show it with `st.error`.
"""
from __future__ import annotations


class AssayError(Exception):
    """A problem the user can fix; the message says what was wrong and what to do."""


class InputError(AssayError):
    """Bad input: a file, a name, a column or an option that cannot be used."""


class NotFoundError(AssayError):
    """A named object (dataset, version, use case, cohort) does not exist."""


class LakeBusyError(AssayError):
    """The catalog stayed locked by another writer for longer than the retry budget."""
