"""The lake: a DuckLake catalog (SQLite by default, Postgres by configuration) plus Parquet files.

One `Lake` object holds one DuckDB database with the lake attached as `lake`; every call
takes its own cursor (DuckDB connections are not thread-safe, Streamlit serves each
session in its own thread). Writes go through `Lake.write`, which runs a function inside
one transaction (so one DuckLake snapshot) and retries it when another process holds the
catalog ("database is locked") or committed a conflicting change first.
"""
from __future__ import annotations

import json as _json
import random
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

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


def records(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = (), *,
            into: Callable[..., T] = dict, json: Iterable[str] = ()) -> list[T]:
    """A query's rows as objects: `into(**row)` with each row's columns by name, the `json` columns decoded
    (NULL stays None). One reader instead of a `dict(zip(names, row))` copy per table."""
    result = cur.execute(sql, list(params))
    names = [d[0] for d in result.description]
    decoded = [n for n in names if n in set(json)]
    out = []
    for row in result.fetchall():
        data = dict(zip(names, row))
        for name in decoded:
            if data[name] is not None:
                data[name] = _json.loads(data[name])
        out.append(into(**data))
    return out


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
    def open(cls, folder: Optional[str | Path] = None, *, sweep: bool = True) -> "Lake":
        """Open (or create) the lake. `sweep` removes what killed jobs left in LAKE/tmp/ (`doctor` opens
        without it, to report the leftovers before removing them)."""
        from core.lake import scratch

        lake = cls(load_config(folder))
        _prepare_private_folders(lake.config)
        lake.cursor().close()  # attach and migrate now, so configuration errors surface here
        _restrict_catalog_files(lake.config)
        scratch.register_open(lake.config.folder)
        if sweep:
            scratch.sweep(lake.config.folder)
        return lake

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import os

        from core.lake import migrations

        config = self.config
        if config.catalog_kind == "sqlite":
            _prepare_sqlite_catalog(Path(config.catalog.split(":", 1)[1]))
        if not config.uses_s3:
            Path(config.data_path).mkdir(parents=True, exist_ok=True)
        # Bounded: a query that needs more memory than the limit spills to the lake's temp folder or
        # fails with DuckDB's out-of-memory error, instead of taking the machine (see config._limits).
        from core.lake import scratch

        limits = {"temp_directory": str(scratch.spill_folder(config.folder))}  # per process, swept if killed
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
            con.execute(f"ATTACH {sql_literal('ducklake:' + config.catalog)} AS lake ({_data_path_option(con, config)})")
        except duckdb.Error as error:
            from core.config import redact

            con.close()
            if any(marker in str(error) for marker in _DAMAGED):
                raise AssayError(f"The lake's catalog ({config.describe()['catalog']}) is damaged: {_DAMAGED_ADVICE}") from None
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

    def records(self, sql: str, params: Sequence[Any] = (), *, into: Callable[..., T] = dict,
                json: Iterable[str] = ()) -> list[T]:
        """A query's rows as objects (see `records`), read with a cursor of its own."""
        with self.reading() as cur:
            return records(cur, sql, params, into=into, json=json)

    def write(self, work: Callable[[duckdb.DuckDBPyConnection], T], *, actor: str, action: str, message: str,
              tag: Optional[str | Callable[[T], str]] = None,
              details: Optional[dict | Callable[[T], dict]] = None) -> T:
        """Run `work(cursor)` in one transaction, recorded as one snapshot with author, message and tag.

        `tag` (or `tag(result)`, when the tag depends on what `work` decided, such as a version
        number) is stored as the snapshot's extra info and found again by `snapshot_for_tag`.

        `work` may run more than once: when the commit meets a lock or a conflicting change
        from another writer, everything is rolled back and run again, so `work` must read
        what it depends on (next version numbers, existence checks) inside the transaction.

        Every write also appends an entry to the audit trail (core.audit) in the same transaction:
        the action is `action` (the permission the actor needs, named by the caller, never read from the
        message), the object the tag, with `details` (or
        `details(result)`) and the message. The snapshot's commit message then names that entry
        (seq and hash), which `audit.verify` holds against the chain.
        """
        from core.lake import audit, identity, permissions

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
        from core.lake import audit

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
    try:
        with sqlite3.connect(path, timeout=30) as db:
            _chmod_own(path, 0o600)  # before the -wal and -shm files exist: SQLite gives them the database's mode
            if db.execute("PRAGMA journal_mode").fetchall()[0][0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
        db.close()
    except sqlite3.DatabaseError as error:
        if "locked" in str(error).lower() or "busy" in str(error).lower():
            raise LakeBusyError(f"The lake's catalog {path} stayed locked by another process; try again.") from None
        raise AssayError(f"The lake's catalog {path} is damaged ({error}): {_DAMAGED_ADVICE}") from None


_DAMAGED = ("malformed", "not a database", "database corrupt")
_DAMAGED_ADVICE = ("nothing was changed. Restore catalog.sqlite from a backup (the Parquet files in the lake's files/ "
                   "folder are untouched), or move the lake folder aside to start a new lake; `python -m core doctor` "
                   "checks a lake once it opens.")


# Lakes hold password hashes and personal data: the folders are private to their owner (0700) and the
# catalog files 0600. Parquet files are written by DuckDB with the process umask; the 0700 folder is
# what keeps them private (changing the umask of a threaded server for every write would race).
_PRIVATE_FOLDERS = ("", "artifacts", "tmp")


def _prepare_private_folders(config: LakeConfig) -> None:
    folder = Path(config.folder)
    created = not folder.exists()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in _PRIVATE_FOLDERS:
        path = folder / name
        if name:
            path.mkdir(mode=0o700, exist_ok=True)
        if name or created or (folder / "catalog.sqlite").exists():  # never chmod a folder that is not a lake
            _chmod_own(path, 0o700)
    if not config.uses_s3:
        data = Path(config.data_path)
        fresh = not data.exists()
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        if fresh or folder in data.resolve().parents:
            _chmod_own(data, 0o700)


def _restrict_catalog_files(config: LakeConfig) -> None:
    """Take group and other permissions off the SQLite catalog and its -wal/-shm files (older lakes had 0644)."""
    if config.catalog_kind != "sqlite":
        return
    path = Path(config.catalog.split(":", 1)[1])
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            _chmod_own(candidate, 0o600)


def _chmod_own(path: Path, mode: int) -> None:
    import os

    try:
        if path.stat().st_uid == os.getuid():
            os.chmod(path, mode)
    except OSError:
        pass  # not ours to change (a shared mount): leave it


def _data_path_option(con: duckdb.DuckDBPyConnection, config: LakeConfig) -> str:
    """The DATA_PATH options of the ATTACH, so that a lake keeps opening after its folder is moved or copied.

    DuckLake stores the data path in its catalog at creation and refuses another one unless told to
    override. A data path inside the lake folder is stored relative to it ('files/'), and each open passes
    the absolute path it resolves to now, with OVERRIDE_DATA_PATH. Lakes made before this stored an
    absolute path: one that ends like the configured path inside the lake (same tail, folder moved) is
    overridden the same way; any other mismatch is left to DuckLake to refuse, as before."""
    configured = config.data_path
    plain = f"DATA_PATH {sql_literal(configured)}"
    if config.catalog_kind != "sqlite" or config.uses_s3:
        return plain
    folder = Path(config.folder).resolve()
    try:
        relative = Path(configured).resolve().relative_to(folder).as_posix().rstrip("/") + "/"
    except ValueError:
        return plain  # a data path outside the lake folder stays absolute
    override = f"DATA_PATH {sql_literal(configured)}, OVERRIDE_DATA_PATH true"
    stored = _stored_data_path(con, Path(config.catalog.split(":", 1)[1]))
    if stored is None:  # a new lake: create its catalog with the relative path, then open it at the absolute one
        con.execute(f"ATTACH {sql_literal('ducklake:' + config.catalog)} AS lake_init (DATA_PATH {sql_literal(relative)})")
        con.execute("DETACH lake_init")
        return override
    if stored.rstrip("/") == configured.rstrip("/"):
        return plain
    if not Path(stored).is_absolute():
        if (folder / stored).resolve() == Path(configured).resolve():
            return override
        return plain  # DuckLake explains the mismatch
    if stored.rstrip("/").endswith("/" + relative.rstrip("/")):
        return override  # an older lake, copied or moved: its files are at the same place inside the folder
    return plain


def _stored_data_path(con: duckdb.DuckDBPyConnection, catalog: Path) -> Optional[str]:
    """The data path recorded in a SQLite DuckLake catalog, or None before the catalog is initialised.
    Read through DuckDB's own SQLite (the library DuckLake uses): a second SQLite library opening the file
    in this process would not see the first one's locks."""
    tables = con.execute("SELECT name FROM sqlite_scan(?, 'sqlite_master') WHERE name = 'ducklake_metadata'",
                         [str(catalog)]).fetchall()
    if not tables:
        return None
    rows = con.execute("SELECT value FROM sqlite_scan(?, 'ducklake_metadata') WHERE key = 'data_path'",
                       [str(catalog)]).fetchall()
    return rows[0][0] if rows else None



def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the failed COMMIT already ended the transaction
