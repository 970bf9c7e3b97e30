"""Where a change comes from: the channel (cli, app, endpoint, or a direct Python call) and the
operating-system user of the process. `Lake.write` puts both into every audit entry's details, so
the record says not only which account acted but through what and from which login.

The channel is set per thread of work (a contextvar: the app's gate sets "app" on every rerun, the
CLI "cli" around one command) with a process default underneath (the endpoint's server threads
start with an empty context, so `serve` sets it for the process while it runs).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Optional

CHANNELS = ("cli", "app", "endpoint", "python")
_channel: ContextVar[Optional[str]] = ContextVar("assay_channel", default=None)
_process = {"channel": "python"}


def os_user() -> str:
    """The process's real user (from the user id, not from $USER, which anyone can set)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def channel() -> str:
    return _channel.get() or _process["channel"]


def set_channel(name: str) -> None:
    """The channel for the rest of this thread's work (the app's gate calls it on every rerun)."""
    _channel.set(_check(name))


@contextmanager
def using(name: str, *, process: bool = False) -> Iterator[None]:
    """Work done inside is recorded under this channel (process-wide with `process=True`)."""
    if process:
        before, _process["channel"] = _process["channel"], _check(name)
        try:
            yield
        finally:
            _process["channel"] = before
        return
    token = _channel.set(_check(name))
    try:
        yield
    finally:
        _channel.reset(token)


def context() -> dict:
    """What every audit entry carries about its origin."""
    return {"channel": channel(), "os_user": os_user()}


def _check(name: str) -> str:
    if name not in CHANNELS:
        raise ValueError(f"unknown channel {name!r}")
    return name
