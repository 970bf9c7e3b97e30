"""The lake: a DuckLake catalog (SQLite by default, Postgres by configuration) plus Parquet files.

One `Lake` object holds one DuckDB database with the lake attached as `lake`; every call
takes its own cursor (DuckDB connections are not thread-safe, Streamlit serves each
session in its own thread). Writes go through `Lake.write`, which runs a function inside
one transaction (so one DuckLake snapshot) and retries it when another process holds the
catalog ("database is locked") or committed a conflicting change first.
"""
from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar

import duckdb

from core.config import LakeConfig, load_config
from core.errors import AssayError, LakeBusyError

T = TypeVar("T")
_RETRYABLE = ("database is locked", "conflict", "busy")
_RETRY_SECONDS = 60.0


def _extension_directory() -> Optional[str]:
    """Folder of the DuckDB extensions shipped as PyPI packages (duckdb-ext-*), if installed."""
    try:
        import duckdb_ext  # namespace package installed by duckdb-ext-ducklake and friends
    except ImportError:
        return None
    for base in duckdb_ext.__path__:
        folder = Path(base) / "extensions"
        if folder.is_dir():
            return str(folder)
    return None


def sql_literal(text: str) -> str:
    """A SQL string literal, for the few statements (ATTACH, CREATE SECRET) that take no parameters."""
    return "'" + str(text).replace("'", "''") + "'"


def _load_extensions(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> None:
    folder = _extension_directory()
    if folder:
        # Offline: the extensions come from the pip packages, never from the network.
        con.execute("SET extension_directory = ?", [folder])
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
    for name in names:
        if not folder:
            con.execute(f"INSTALL {name}")
        con.execute(f"LOAD {name}")


def _s3_secret(env: dict) -> str:
    options = ["TYPE s3"]
    for key, option in (("AWS_ACCESS_KEY_ID", "KEY_ID"), ("AWS_SECRET_ACCESS_KEY", "SECRET"),
                        ("AWS_SESSION_TOKEN", "SESSION_TOKEN"), ("AWS_REGION", "REGION")):
        if env.get(key):
            options.append(f"{option} {sql_literal(env[key])}")
    endpoint = env.get("AWS_ENDPOINT_URL", "")
    if endpoint:
        host = endpoint.split("://", 1)[-1].rstrip("/")
        options += [f"ENDPOINT {sql_literal(host)}", "URL_STYLE 'path'",
                    f"USE_SSL {'false' if endpoint.startswith('http://') else 'true'}"]
    return "CREATE OR REPLACE SECRET assay_s3 (" + ", ".join(options) + ")"


def is_retryable(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, duckdb.Error) and any(marker in text for marker in _RETRYABLE)


class Lake:
    """The lake at one configuration. Cheap to share between threads; each call takes a cursor."""

    def __init__(self, config: LakeConfig):
        self.config = config
        self._database: Optional[duckdb.DuckDBPyConnection] = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, folder: Optional[str | Path] = None) -> "Lake":
        lake = cls(load_config(folder))
        lake.cursor().close()  # attach and migrate now, so configuration errors surface here
        return lake

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import os

        from core import migrations

        config = self.config
        if config.catalog_kind == "sqlite":
            _prepare_sqlite_catalog(Path(config.catalog.split(":", 1)[1]))
        if not config.uses_s3:
            Path(config.data_path).mkdir(parents=True, exist_ok=True)
        # Bounded: a query that needs more memory than the limit spills to the lake's temp folder or
        # fails with DuckDB's out-of-memory error, instead of taking the machine (see config._limits).
        limits = {"temp_directory": str(config.folder / "duckdb_tmp")}
        if config.memory_limit_bytes:
            limits["memory_limit"] = f"{config.memory_limit_bytes // 2**20}MiB"
        if config.threads:
            limits["threads"] = config.threads
        con = duckdb.connect(config=limits)
        extensions = ["ducklake", "sqlite" if config.catalog_kind == "sqlite" else "postgres"]
        if config.uses_s3:
            extensions.append("httpfs")
        _load_extensions(con, extensions)
        if config.uses_s3:
            con.execute(_s3_secret(dict(os.environ)))
        try:
            con.execute(f"ATTACH {sql_literal('ducklake:' + config.catalog)} AS lake "
                        f"(DATA_PATH {sql_literal(config.data_path)})")
        except duckdb.Error as error:
            from core.config import redact

            con.close()
            raise AssayError(f"Could not open the lake's catalog ({config.describe()['catalog']}): "
                             f"{redact(str(error).splitlines()[0])[:300]}") from None
        migrations.apply(self, con)
        return con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._database is None:
                self._database = self._connect()
            return self._database.cursor()

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.reading() as cur:
            return cur.execute(sql, list(params)).fetchall()

    def write(self, work: Callable[[duckdb.DuckDBPyConnection], T], *, actor: str, message: str,
              tag: Optional[str | Callable[[T], str]] = None,
              details: Optional[dict | Callable[[T], dict]] = None) -> T:
        """Run `work(cursor)` in one transaction, recorded as one snapshot with author, message and tag.

        `tag` (or `tag(result)`, when the tag depends on what `work` decided, such as a version
        number) is stored as the snapshot's extra info and found again by `snapshot_for_tag`.

        `work` may run more than once: when the commit meets a lock or a conflicting change
        from another writer, everything is rolled back and run again, so `work` must read
        what it depends on (next version numbers, existence checks) inside the transaction.

        Every write also appends an entry to the audit trail (core.audit) in the same transaction:
        the action is the message's first word, the object the tag, with `details` (or
        `details(result)`) and the message. The snapshot's commit message then names that entry
        (seq and hash), which `audit.verify` holds against the chain.
        """
        from core import audit, identity, permissions

        action = message.split(" ", 1)[0]

        def audited(cur: duckdb.DuckDBPyConnection) -> T:
            permissions.require(self, actor, action, cur=cur)
            result = work(cur)
            label = tag(result) if callable(tag) else tag
            extra = details(result) if callable(details) else (details or {})
            audit.append(cur, actor=actor, action=action, obj=label or "",
                         details={"message": message, **extra, **identity.context()})  # channel and OS user
            return result

        try:
            return self._write_with(lambda: self.cursor(), audited, actor=actor, message=message, tag=tag)
        except permissions.PermissionDenied as denied:
            permissions.record_denial(self, actor, action, f"{denied} ({message})")
            raise

    def _write_with(self, open_cursor, work, *, actor, message, tag):
        from core import audit

        deadline = time.monotonic() + _RETRY_SECONDS
        delay = 0.01
        while True:
            cur = open_cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                with audit.recording(cur) as appended:
                    result = work(cur)
                label = tag(result) if callable(tag) else tag
                # The snapshot names the audit entries it carries, so `audit verify` can hold one against the other.
                cur.execute("CALL lake.set_commit_message(?, ?, extra_info => ?)",
                            [actor, audit.commit_message(message, appended), label])
                cur.execute("COMMIT")
                return result
            except BaseException as error:
                _rollback(cur)
                if not is_retryable(error):
                    raise
                if time.monotonic() > deadline:
                    raise LakeBusyError(
                        "The lake stayed busy with another writer for a minute; nothing was written. Try again."
                    ) from error
            finally:
                cur.close()
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)

    def snapshot_for_tag(self, tag: str) -> Optional[int]:
        rows = self.query("SELECT max(snapshot_id) FROM lake.snapshots() WHERE commit_extra_info = ?", [tag])
        return rows[0][0] if rows else None

    def current_snapshot(self) -> int:
        return self.query("SELECT max(snapshot_id) FROM lake.snapshots()")[0][0]

    def close(self) -> None:
        with self._lock:
            if self._database is not None:
                self._database.close()
                self._database = None


def _prepare_sqlite_catalog(path: Path) -> None:
    """Put the SQLite catalog in WAL mode, so readers (the app) never block a writer (a CLI job)."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as db:
        if db.execute("PRAGMA journal_mode").fetchall()[0][0] != "wal":
            db.execute("PRAGMA journal_mode=WAL")
    db.close()


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the failed COMMIT already ended the transaction
