"""The lake: configuration, migrations, retried writes and concurrent writers."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from core.data import datasets
from core.lake import migrations
from core.config import load_config
from core.errors import InputError
from core.lake import Lake, is_retryable

from support import ROOT, write_csv


def test_open_creates_catalog_files_and_applies_every_migration(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    assert (tmp_path / "lake" / "catalog.sqlite").is_file()
    applied = [row[0] for row in lake.query("SELECT version FROM lake.assay.migrations ORDER BY 1")]
    assert applied == [step[0] for step in migrations.STEPS]
    lake.close()
    again = Lake.open(tmp_path / "lake")  # reopening applies nothing twice
    assert again.query("SELECT count(*) FROM lake.assay.migrations")[0][0] == len(migrations.STEPS)
    assert again.query("SELECT count(*) FROM lake.assay.usecases WHERE name = 'default'")[0][0] == 1
    again.close()


def test_sqlite_catalog_is_in_wal_mode(lake):
    import sqlite3

    path = lake.config.catalog.split(":", 1)[1]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchall()[0][0] == "wal"


def test_config_from_environment_and_file(tmp_path):
    folder = tmp_path / "lk"
    folder.mkdir()
    (folder / "assay.toml").write_text('data_path = "s3://bucket/prefix"\nmax_ingest_mb = 5\n')
    config = load_config(folder, env={})
    assert config.data_path == "s3://bucket/prefix/" and config.uses_s3 and config.max_ingest_mb == 5
    config = load_config(folder, env={"ASSAY_CATALOG": "postgres:dbname=assay host=db password=hunter2",
                                      "ASSAY_DATA_PATH": "/x/files"})
    assert config.catalog_kind == "postgres" and config.data_path == "/x/files/"
    assert "hunter2" not in str(config.describe())
    with pytest.raises(InputError, match="not supported"):
        load_config(folder, env={"ASSAY_CATALOG": "mysql:whatever"})
    with pytest.raises(InputError, match="whole number"):
        load_config(folder, env={"ASSAY_MAX_INGEST_MB": "lots"})
    (folder / "assay.toml").write_text("catalogue = 1\n")
    with pytest.raises(InputError, match="unknown keys"):
        load_config(folder, env={})


def test_failed_work_rolls_back_and_is_not_retried(lake):
    calls = []

    def work(cur):
        calls.append(1)
        cur.execute("CREATE TABLE lake.datasets.half_done AS SELECT 1 AS x")
        raise InputError("stop here")

    before = lake.current_snapshot()
    with pytest.raises(InputError):
        lake.write(work, actor="t", action="fails", message="fails")
    assert calls == [1]
    assert lake.current_snapshot() == before
    assert not lake.query("SELECT * FROM duckdb_tables() WHERE table_name = 'half_done'")


def test_write_is_retried_when_the_catalog_is_locked(lake):
    import duckdb

    attempts = []

    def work(cur):
        attempts.append(1)
        if len(attempts) < 3:
            raise duckdb.TransactionException("Failed to commit DuckLake transaction: database is locked")
        cur.execute("INSERT INTO lake.assay.settings VALUES ('k', 'v', now())")
        return "done"

    assert lake.write(work, actor="t", action="retry", message="retry", tag="test:retry") == "done"
    assert len(attempts) == 3
    assert lake.snapshot_for_tag("test:retry") == lake.current_snapshot()
    assert is_retryable(duckdb.TransactionException("Transaction conflict on table"))
    assert not is_retryable(ValueError("database is locked"))


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from core.data import datasets
    from core.lake import Lake
    lake = Lake.open({lake!r})
    for i in range({count}):
        datasets.ingest_path(lake, {csv!r}, name="shared", actor=sys.argv[1])
        datasets.ingest_path(lake, {csv!r}, name="own_" + sys.argv[1], actor=sys.argv[1])
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    """The app and a CLI job writing together: every ingest lands as its own version."""
    folder = tmp_path / "lake"
    Lake.open(folder).close()
    csv = write_csv(tmp_path / "rows.csv", "a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(2000)))
    count = 8
    script = WRITER.format(root=str(ROOT), lake=str(folder), count=count, csv=str(csv))
    procs = [subprocess.Popen([sys.executable, "-c", script, who], stderr=subprocess.PIPE, text=True)
             for who in ("app", "cli")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    lake = Lake.open(folder)
    shared = datasets.versions(lake, "shared")
    assert [v.version for v in shared] == list(range(2 * count, 0, -1))
    assert {v.created_by for v in shared} == {"app", "cli"}
    for who in ("app", "cli"):
        assert len(datasets.versions(lake, f"own_{who}")) == count
    for version in shared:  # every version is readable through its own snapshot
        assert version.snapshot is not None
        assert lake.query(f"SELECT count(*) FROM {version.table_sql}")[0][0] == 2000
    from core.lake import audit

    chain = audit.verify(lake)  # 32 writes from two processes: one unbroken chain, no fork
    assert chain["ok"] and chain["entries"] == 4 * count, chain
    lake.close()
