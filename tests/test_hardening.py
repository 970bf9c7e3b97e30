"""Issue 16, items 3, 7, 8 and 9: outputs that cannot be aimed at the lake, no debris after a crash,
the inputs the README promises to refuse, and a lake that is private and can be copied."""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.governance import accounts
from core.data import datasets, demo
from core.operations import doctor
from core import export, outputs, review
from core.lake import scratch
from core.cli import main
from core.errors import InputError
from core.lake import Lake
from core.lake.permissions import PermissionDenied

from support import credit_model, ROOT, lake_state


def cli(lake_folder: Path, *args: str) -> tuple[int, dict]:
    out = io.StringIO()
    code = main(["--lake", str(lake_folder), *args], out=out)
    return code, json.loads(out.getvalue())


def catalog_of(lake: Lake) -> Path:
    return Path(lake.config.catalog.split(":", 1)[1])


# ---- item 3: --out --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A lake with a trained run and a small review, so `report` has something real to write."""
    lake, run = credit_model(tmp_path_factory.mktemp("reviewed") / "lake", rows=2_000, algorithm="logistic", actor="alice")
    made = review.create(lake, run_id=run.run_id, actor="alice", components=["overview"])
    yield lake, made
    lake.close()


def test_out_never_follows_a_link_to_the_catalog(reviewed, tmp_path):
    lake, made = reviewed
    catalog = catalog_of(lake)
    link = tmp_path / "LINK.html"
    link.symlink_to(catalog)
    before_bytes, before = catalog.read_bytes()[:100], lake_state(lake)
    code, answer = cli(lake.config.folder, "report", made.review_id, "--out", str(link))
    assert code == 2 and "symbolic link" in answer["error"]
    code, answer = cli(lake.config.folder, "report", made.review_id, "--out", str(link), "--force")
    assert code == 2 and "symbolic link" in answer["error"]  # --force replaces files, never follows links
    assert catalog.read_bytes()[:100] == before_bytes and lake_state(lake) == before
    assert link.is_symlink() and os.readlink(link) == str(catalog)
    reopened = Lake.open(lake.config.folder)
    assert reopened.query("SELECT count(*) FROM lake.assay.reviews")[0][0] == 1
    reopened.close()


def test_out_never_overwrites_without_force_and_replaces_by_rename(reviewed, tmp_path):
    lake, made = reviewed
    target = tmp_path / "r.html"
    target.write_text("keep me")
    code, answer = cli(lake.config.folder, "report", made.review_id, "--out", str(target))
    assert code == 2 and "already exists" in answer["error"] and "--force" in answer["error"]
    assert target.read_text() == "keep me"
    code, answer = cli(lake.config.folder, "report", made.review_id, "--out", str(target), "--force")
    assert code == 0 and answer["bytes"] == target.stat().st_size and "<html" in target.read_text().lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary file left beside it
    fresh = tmp_path / "new.html"
    code, answer = cli(lake.config.folder, "report", made.review_id, "--out", str(fresh))
    assert code == 0 and answer["out"] == str(fresh) and fresh.read_text().startswith(target.read_text()[:50])


def test_out_never_lands_inside_the_lake(reviewed, tmp_path):
    lake, made = reviewed
    before = lake_state(lake)
    folder = lake.config.folder
    for inside in (folder / "report.html", folder / "artifacts" / "x.html", folder / "files" / "y.html",
                   folder / "tmp" / ".." / "z.html", folder / "catalog.sqlite.html"):
        code, answer = cli(folder, "report", made.review_id, "--out", str(inside), "--force")
        assert code == 2 and "inside the lake" in answer["error"], inside
        assert not inside.exists()
    aside = tmp_path / "aside"
    aside.symlink_to(folder)  # a linked folder leads inside the lake too
    code, answer = cli(folder, "scorecard", "nomodel@1", "--out", str(aside / "card.html"))
    assert code == 2 and "inside the lake" in answer["error"]
    code, answer = cli(folder, "report", made.review_id, "--out", str(tmp_path / "missing" / "r.html"))
    assert code == 2 and "does not exist" in answer["error"]
    assert lake_state(lake) == before


def test_write_output_unlinks_a_hard_link_rather_than_writing_through_it(lake, tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("precious")
    twin = tmp_path / "out.html"
    os.link(precious, twin)
    outputs.write_output(twin, b"<html>new</html>", lake=lake, force=True)
    assert precious.read_text() == "precious" and twin.read_bytes() == b"<html>new</html>"
    with pytest.raises(InputError, match="already exists"):
        outputs.write_output(twin, b"again", lake=lake)


# ---- item 7: crash debris, doctor, the demo --------------------------------------------------------------------

def _process_start(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[19]


def test_spool_is_under_the_lake_and_only_dead_owners_are_swept(tmp_path):
    folder = tmp_path / "lake"
    Lake.open(folder).close()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    left = folder / "tmp" / f"spool-{dead_pid}-123-abcd"
    left.mkdir()
    (left / "part-00000.parquet").write_bytes(b"x" * 1000)
    parent = os.getppid()
    live = folder / "tmp" / f"spool-{parent}-{_process_start(parent)}-beef"
    live.mkdir()
    reused = folder / "tmp" / f"spool-{parent}-1-cafe"  # the parent's pid, but another start time: a dead owner
    reused.mkdir()
    Lake.open(folder).close()
    assert not left.exists() and not reused.exists() and live.exists()
    with scratch.spool(folder) as spool:
        assert spool.parent == folder / "tmp" and spool.name.startswith(f"spool-{os.getpid()}-")
        assert stat.S_IMODE(spool.stat().st_mode) == 0o700
    assert not spool.exists()


def test_duckdb_spills_under_the_lake(lake):
    spill = lake.query("SELECT current_setting('temp_directory')")[0][0]
    assert Path(spill).parent == lake.config.folder / "tmp" and Path(spill).name.startswith(f"duckdb-{os.getpid()}-")


def test_ingest_spools_under_the_lake_not_in_the_system_temp(lake, monkeypatch, tmp_path):
    seen = []
    real = scratch.make_spool

    def watch(lake_folder, kind="spool"):
        seen.append(real(lake_folder, kind))
        return seen[-1]

    monkeypatch.setattr(scratch, "make_spool", watch)
    datasets.ingest_frame(lake, pd.DataFrame({"a": [1, 2, 3]}), name="spooled", actor="t")
    assert len(seen) == 1 and seen[0].parent == lake.config.folder / "tmp" and not seen[0].exists()


@pytest.mark.slow
def test_kill_9_mid_demo_then_doctor_finds_and_repairs_the_debris(tmp_path):
    folder = tmp_path / "lake"
    job = subprocess.Popen([sys.executable, "-m", "core", "--lake", str(folder), "demo", "--rows", "200000"],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    for line in job.stderr:  # kill while the transactions are being written, after applications committed
        if "transactions: writing to the lake" in line or time.monotonic() > deadline:
            break
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=60)
    assert job.returncode == -signal.SIGKILL

    code, found = cli(folder, "doctor")
    assert code == 0, found
    # The kill lands during the transactions' commit; on a fast machine that commit may just have finished.
    partial = found["demo"]["partial"]
    assert found["demo"]["state"] == "incomplete" and partial in (["applications@1"], ["applications@1", "transactions@1"])
    left = {Path(e["path"]).name.split("-")[0]: e["bytes"] for e in found["spool"]}
    assert "demo" in left  # the build's marker
    if partial == ["applications@1"]:
        assert sorted(left) == ["demo", "spool"] and left["spool"] > 0  # and the ingest's spool
    assert found["audit"]["ok"] is True
    assert found["debris"] == len(found["orphan_files"]) + len(found["spool"]) + 1
    print("\nkill -9 debris:", json.dumps({k: found[k] for k in ("orphan_files", "spool", "demo", "debris",
                                                                   "debris_bytes")}))

    code, repaired = cli(folder, "doctor", "--repair")
    assert code == 0, repaired
    assert repaired["repaired"]["orphan_files"] == len(found["orphan_files"])
    assert repaired["repaired"]["spool"] == len(found["spool"])
    assert repaired["repaired"]["demo"]["replaced"] == partial
    assert repaired["after"] == {"orphan_files": 0, "scheduled_files": 0, "orphan_artifacts": 0, "spool": 0,
                                 "demo": "complete", "debris": 0, "debris_bytes": 0}
    assert not any((folder / "tmp").glob("spool-*"))
    lake = Lake.open(folder)
    try:
        assert demo.state(lake)["state"] == "complete"
        assert {v.name: v.rows for v in datasets.latest(lake)}["applications"] == 200_000
        code, verified = cli(folder, "audit", "verify")
        assert code == 0 and verified["ok"] is True
    finally:
        lake.close()


def test_doctor_removes_untracked_files_and_orphan_artifacts_but_not_what_a_live_process_may_own(lake):
    datasets.ingest_frame(lake, pd.DataFrame({"a": [1, 2]}), name="kept", actor="t")
    tracked = next(Path(lake.config.data_path).rglob("*.parquet"))
    stray = tracked.with_name("ducklake-stray.parquet")
    shutil.copy(tracked, stray)
    artifacts = lake.config.folder / "artifacts"
    old_artifact, new_artifact = artifacts / "20260101-dead.skops", artifacts / "20260101-busy.skops"
    old_artifact.write_bytes(b"model")
    long_ago = time.time() - 3600
    for path in (stray, old_artifact):
        os.utime(path, (long_ago, long_ago))
    # another live process (our parent) opened the lake a minute ago: newer files may be its own
    parent = os.getppid()
    marker = lake.config.folder / "tmp" / f"open-{parent}-{_process_start(parent)}"
    marker.touch()
    os.utime(marker, (time.time() - 60, time.time() - 60))
    new_artifact.write_bytes(b"being committed")
    found = doctor.examine(lake)
    assert [e["path"] for e in found["orphan_files"]] == [str(stray)]
    assert [e["path"] for e in found["orphan_artifacts"]] == [str(old_artifact)]
    assert [e["path"] for e in found["left_alone"]["recent_artifacts"]] == [str(new_artifact)]
    repaired = doctor.repair(lake, actor="local:admin")
    assert repaired["repaired"]["orphan_files"] == 1 and repaired["repaired"]["orphan_artifacts"] == 1
    assert not stray.exists() and not old_artifact.exists() and new_artifact.exists() and tracked.exists()
    assert datasets.read_frame(lake, datasets.get(lake, "kept"))["a"].tolist() == [1, 2]
    entry = lake.query("SELECT actor, action FROM lake.assay.audit ORDER BY seq DESC LIMIT 1")[0]
    assert entry == ("local:admin", "repair")
    marker.unlink()


def test_doctor_repair_is_for_admins(lake):
    accounts.add(lake, "vera", role="viewer", actor="local:admin", password="a long passphrase")
    accounts.add(lake, "anna", role="analyst", actor="local:admin", password="a long passphrase")
    for who in ("vera", "anna"):
        with pytest.raises(PermissionDenied):
            doctor.repair(lake, actor=who)


def test_a_half_built_demo_is_completed_by_ensure(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    try:
        demo.build(lake, rows=1_000, with_transactions=False)
        assert demo.state(lake)["state"] == "complete" and not demo.needs_build(lake)
        # what a build killed after its first table leaves: a new applications version, no truths for it
        frame, _ = demo.applications(3_000, seed=11)
        datasets.ingest_frame(lake, frame, name="applications", actor="t", usecase=demo.USECASE,
                              source="demo generator (seed 11)")
        # while another live process builds, the half-written demo is "building": nobody starts a second build
        parent = os.getppid()
        builder = lake.config.folder / "tmp" / f"demo-{parent}-{_process_start(parent)}-0000"
        builder.mkdir()
        assert demo.state(lake) == {"state": "building", "partial": ["applications@2"]}
        assert not demo.needs_build(lake) and demo.ensure(lake) is False
        builder.rmdir()
        assert demo.state(lake) == {"state": "incomplete", "partial": ["applications@2"]}
        assert demo.needs_build(lake)
        assert demo.ensure(lake) is True
        assert demo.state(lake)["state"] == "complete"
        truths = demo.truths(lake)
        assert truths["rows"] == 3_000 and truths["seed"] == 11 and truths["datasets"]["applications"] == "applications@3"
        assert demo.ensure(lake) is False and not list((lake.config.folder / "tmp").glob("demo-*"))
    finally:
        lake.close()


# ---- item 8: inputs refused ------------------------------------------------------------------------------------

def refused(lake: Lake, path: Path, match: str) -> None:
    before = lake_state(lake)
    with pytest.raises(InputError, match=match):
        datasets.ingest_path(lake, path, name="refused", actor="t")
    assert lake_state(lake) == before


def test_a_nul_byte_after_the_first_64_kb_is_refused(lake, tmp_path):
    path = tmp_path / "late_nul.csv"
    body = "a,b\n" + "1,2\n" * 50_000
    path.write_bytes(body.encode() + b"3,\x004\n")
    assert path.stat().st_size > 64 * 1024 * 2
    refused(lake, path, "NUL byte at byte 200,006")


def test_parquet_with_duplicate_or_blank_column_names_is_refused(lake, tmp_path):
    dupes = tmp_path / "dupes.parquet"
    pq.write_table(pa.table([[1, 2], [3, 4]], names=["a", "a"]), dupes)
    refused(lake, dupes, "'a' appear more than once")
    case = tmp_path / "case.parquet"
    pq.write_table(pa.table([[1, 2], [3, 4]], names=["Amount", "amount"]), case)
    refused(lake, case, "more than once")
    blank = tmp_path / "blank.parquet"
    pq.write_table(pa.table([[1, 2], [3, 4]], names=["a", " "]), blank)
    refused(lake, blank, "column 2 has no name")


def test_a_json_array_or_document_is_refused_and_json_lines_still_ingest(lake, tmp_path):
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"a": 1}, {"a": 2}]))
    refused(lake, array, "JSON array, not JSON lines")
    document = tmp_path / "document.json"
    document.write_text(json.dumps({"a": 1, "b": 2}, indent=2))
    refused(lake, document, "not a complete JSON object")
    scalar = tmp_path / "scalar.jsonl"
    scalar.write_text("42\n43\n")
    refused(lake, scalar, "not an object")
    lines = tmp_path / "lines.json"
    lines.write_text('{"a": 1, "b": "x"}\n\n{"a": 2, "b": "y"}\n')
    assert datasets.ingest_path(lake, lines, name="lines", actor="t").rows == 2


@pytest.mark.parametrize("kind,column", [
    ("struct", pa.array([{"x": 1, "y": "a"}, {"x": 2, "y": "b"}])),
    ("list", pa.array([[1, 2], [3]])),
    ("map", pa.array([[("k", 1)], [("j", 2)]], type=pa.map_(pa.string(), pa.int64()))),
])
def test_nested_columns_are_refused_at_ingest_naming_the_column(lake, tmp_path, kind, column):
    path = tmp_path / f"{kind}.parquet"
    pq.write_table(pa.table({"id": [1, 2], f"{kind}_col": column}), path)
    refused(lake, path, f"column '{kind}_col' holds nested values")


def test_nested_json_lines_are_refused(lake, tmp_path):
    path = tmp_path / "nested.jsonl"
    path.write_text('{"id": 1, "address": {"city": "Oslo"}}\n{"id": 2, "address": {"city": "Rome"}}\n')
    refused(lake, path, "column 'address' holds nested values")


def test_a_fifo_or_a_link_to_a_device_is_not_called_a_folder(lake, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    refused(lake, fifo, "is not a regular file")
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    refused(lake, zero, "is not a regular file .*through a link")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    refused(lake, folder, "is a folder")
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    refused(lake, dangling, "no such file")


def test_a_huge_one_field_header_is_refused_with_a_message(lake, tmp_path):
    path = tmp_path / "wide_header.csv"
    path.write_bytes(b"h" * (3 * 1024 * 1024) + b"\n1\n")
    refused(lake, path, "header line is longer than 1 MB")
    code, answer = cli(lake.config.folder, "ingest", str(path), "--name", "wide")
    assert code == 2 and "header line is longer" in answer["error"]


@pytest.mark.parametrize("cell", [" =1+1", "\n=1+1", "  \r\n=HYPERLINK(\"x\")", "\t=1", "\r=1", " +1", "\n-1+2",
                                  " @SUM(A1)", "\uff1dcmd", "=1", "+1", "-1", "@x"])
def test_formula_safe_export_sees_through_leading_whitespace(cell):
    text = export.safe_csv(pd.DataFrame({"c": [cell], "n": [-5.0]})).decode()
    assert pd.read_csv(io.StringIO(text), keep_default_na=False)["c"][0] == "'" + cell
    assert ",-5.0" in text


def test_formula_safe_export_leaves_plain_text_alone_and_a_line_break_cannot_start_a_row():
    text = export.safe_csv(pd.DataFrame({"c": ["plain", " spaced", "a=b", "x-1"]})).decode()
    assert text.splitlines()[1:] == ["plain", " spaced", "a=b", "x-1"]
    text = export.safe_csv(pd.DataFrame({"c": ["x\r=cmd()", "y\n+1"]})).decode()
    assert text == 'c\r\n"x\r=cmd()"\r\n"y\n+1"\r\n'
    assert pd.read_csv(io.StringIO(text))["c"].tolist() == ["x\r=cmd()", "y\n+1"]


@pytest.mark.parametrize("args,flag", [
    (["fairness", "--dataset", "d", "--label", "y", "--sensitive", "s", "--bootstrap", "1000000000"], "--bootstrap"),
    (["fairness", "--dataset", "d", "--label", "y", "--sensitive", "s", "--bootstrap", "-1"], "--bootstrap"),
    (["audit", "list", "--limit", "-1"], "--limit"),
    (["jobs", "--limit", "0"], "--limit"),
    (["counterfactuals", "--run", "r", "--ranges", '{"income": [NaN, 1]}'], "--ranges"),
    (["counterfactuals", "--run", "r", "--ranges", '{"income": [0, Infinity]}'], "--ranges"),
    (["counterfactuals", "--run", "r", "--first", "-3"], "--first"),
    (["train", "--dataset", "d", "--target", "y", "--threshold", "nan"], "--threshold"),
    (["train", "--dataset", "d", "--target", "y", "--test-size", "1.5"], "--test-size"),
    (["train", "--dataset", "d", "--target", "y", "--seed", "-1"], "--seed"),
    (["score", "--model", "m@1", "--dataset", "d", "--batch-rows", "0"], "--batch-rows"),
    (["drift", "--model", "m@1", "--current", "d", "--share", "inf"], "--share"),
    (["serve", "--model", "m@champion", "--port", "70000"], "--port"),
    (["review", "--run", "r", "--cf-rows", "-1"], "--cf-rows"),
    (["causal", "--dataset", "d", "--treatment", "t", "--outcome", "o", "--cost", "-inf"], "--cost"),
    (["usecase", "add", "u", "--objective", "o", "--metric", "roc_auc=nan"], "--metric"),
    (["register", "--run", "r", "--name", "m", "--gate", '{"roc_auc": {"min_absolute": NaN}}'], "--gate"),
])
def test_numeric_options_out_of_bounds_get_a_clear_message(lake, args, flag):
    before = lake_state(lake)
    code, answer = cli(lake.config.folder, *args)
    assert code == 2 and set(answer) == {"error"} and flag in answer["error"], answer
    assert lake_state(lake) == before


def test_a_damaged_catalog_is_a_json_error_saying_what_to_do(tmp_path):
    folder = tmp_path / "lake"
    Lake.open(folder).close()
    catalog = folder / "catalog.sqlite"
    junk = os.urandom(64 * 1024)
    catalog.write_bytes(junk)
    code, answer = cli(folder, "datasets")
    assert code == 2 and "damaged" in answer["error"] and "backup" in answer["error"]
    assert catalog.read_bytes() == junk  # nothing written
    other = tmp_path / "other"
    Lake.open(other).close()
    data = bytearray((other / "catalog.sqlite").read_bytes())
    data[8192:40_000] = b"\x42" * (40_000 - 8192)  # a valid header over broken pages
    (other / "catalog.sqlite").write_bytes(bytes(data))
    code, answer = cli(other, "datasets")
    assert code == 2 and "damaged" in answer["error"] and "backup" in answer["error"]


# ---- item 9: private, portable lakes --------------------------------------------------------------------------

def test_a_new_lake_is_private_to_its_owner(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    try:
        datasets.ingest_frame(lake, pd.DataFrame({"a": [1]}), name="t", actor="t")
        folder = lake.config.folder
        for path in (folder, folder / "files", folder / "artifacts", folder / "tmp"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
        for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
            if (folder / name).exists():
                assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
        assert (folder / "catalog.sqlite").exists()
    finally:
        lake.close()


def test_an_older_lake_readable_by_others_is_made_private_at_open(tmp_path):
    folder = tmp_path / "lake"
    Lake.open(folder).close()
    os.chmod(folder, 0o755)
    os.chmod(folder / "catalog.sqlite", 0o644)
    os.chmod(folder / "files", 0o755)
    Lake.open(folder).close()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "catalog.sqlite").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "files").stat().st_mode) == 0o700


def test_a_copied_lake_opens_and_reads_its_own_files(tmp_path):
    original = tmp_path / "original"
    lake = Lake.open(original)
    datasets.ingest_frame(lake, pd.DataFrame({"a": [1, 2, 3]}), name="moved", actor="t")
    lake.close()
    stored = sqlite3.connect(original / "catalog.sqlite")
    try:
        assert stored.execute("SELECT value FROM ducklake_metadata WHERE key = 'data_path'").fetchall() == [("files/",)]
    finally:
        stored.close()
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    shutil.move(original, tmp_path / "gone")  # the copy must not lean on the original's files
    copied = Lake.open(copy)
    try:
        assert datasets.read_frame(copied, datasets.get(copied, "moved"))["a"].tolist() == [1, 2, 3]
        datasets.ingest_frame(copied, pd.DataFrame({"a": [4]}), name="moved", actor="t")
        assert datasets.read_frame(copied, datasets.get(copied, "moved@2"))["a"].tolist() == [4]
        assert datasets.read_frame(copied, datasets.get(copied, "moved@1"))["a"].tolist() == [1, 2, 3]
        assert doctor.examine(copied)["orphan_files"] == []  # every file of the copy is tracked under its new path
    finally:
        copied.close()


def test_a_copied_lake_made_before_relative_paths_still_opens(tmp_path):
    """Lakes created before this change stored an absolute data path."""
    import duckdb

    from core.lake._lake import _load_extensions  # the lake's internals: an old lake is built by hand

    original = tmp_path / "old"
    original.mkdir()
    con = duckdb.connect()
    _load_extensions(con, ["ducklake", "sqlite"])
    con.execute(f"ATTACH 'ducklake:sqlite:{original / 'catalog.sqlite'}' AS lake (DATA_PATH '{original / 'files'}/')")
    con.close()
    lake = Lake.open(original)
    datasets.ingest_frame(lake, pd.DataFrame({"a": [7, 8]}), name="legacy", actor="t")
    lake.close()
    copy = tmp_path / "copy_of_old"
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    copied = Lake.open(copy)
    try:
        assert datasets.read_frame(copied, datasets.get(copied, "legacy"))["a"].tolist() == [7, 8]
    finally:
        copied.close()
