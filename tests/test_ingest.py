"""Ingest of every supported source, versioning with time travel, and refusal of bad input."""
from __future__ import annotations

import gzip
import json

import duckdb
import pandas as pd
import pytest

from core.data import datasets
from core.errors import InputError, NotFoundError
from core.lake import Lake

from support import lake_state, write_csv


def test_csv_rows_types_and_missing_values(lake, tmp_path):
    path = write_csv(tmp_path / "people.csv",
                     "id,name,score,joined\n1,Ann,3.5,2024-01-02\n2,NA,,2024-02-03\n3,\"Lee, Jr.\",4.0,\n")
    version = datasets.ingest_path(lake, path, name="people", actor="tester")
    assert (version.name, version.version, version.rows) == ("people", 1, 3)
    assert {c.name: c.type for c in version.columns} == {"id": "BIGINT", "name": "VARCHAR", "score": "DOUBLE",
                                                          "joined": "DATE"}
    frame = datasets.read_frame(lake, version)
    assert frame["name"].isna().sum() == 1 and frame["score"].isna().sum() == 1
    assert frame.loc[2, "name"] == "Lee, Jr."
    assert version.digest.startswith("sha256:") and version.created_by == "tester"
    assert version.source == str(path.resolve()) and version.source_kind == "csv"


def test_semicolon_tab_and_gzip_csv(lake, tmp_path):
    v1 = datasets.ingest_path(lake, write_csv(tmp_path / "s.csv", "a;b\n1;x\n2;y\n"), name="semi", actor="t")
    assert v1.column_names == ["a", "b"] and v1.rows == 2
    v2 = datasets.ingest_path(lake, write_csv(tmp_path / "t.tsv", "a\tb\n1\tx\n"), name="tabs", actor="t")
    assert v2.column_names == ["a", "b"]
    gz = tmp_path / "g.csv.gz"
    gz.write_bytes(gzip.compress(b"a,b\n1,2\n3,4\n"))
    assert datasets.ingest_path(lake, gz, name="gz", actor="t").rows == 2


def test_a_type_that_changes_late_in_the_file_is_read_not_refused(lake, tmp_path):
    body = "".join(f"{i},{i}\n" for i in range(30_000)) + "30000,not-a-number\n"
    version = datasets.ingest_path(lake, write_csv(tmp_path / "late.csv", "id,code\n" + body), name="late", actor="t")
    assert version.rows == 30_001
    assert dict((c.name, c.type) for c in version.columns)["code"] == "VARCHAR"


def test_parquet_jsonl_duckdb_and_dataframe(lake, tmp_path):
    frame = pd.DataFrame({"k": [1, 2, 3], "v": ["a", None, "c"], "when": pd.to_datetime(["2024-01-01"] * 3)})
    frame.to_parquet(tmp_path / "f.parquet")
    assert datasets.ingest_path(lake, tmp_path / "f.parquet", name="pq", actor="t").rows == 3
    (tmp_path / "f.jsonl").write_text("\n".join(json.dumps({"k": i, "v": f"x{i}"}) for i in range(5)))
    assert datasets.ingest_path(lake, tmp_path / "f.jsonl", name="js", actor="t").rows == 5
    db = tmp_path / "src.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE loans AS SELECT range AS id, range * 2 AS amount FROM range(7)")
    version = datasets.ingest_path(lake, db, name="loans", actor="t", table="loans")
    assert version.rows == 7 and version.source_kind == "duckdb"
    version = datasets.ingest_frame(lake, frame, name="df", actor="t")
    assert version.rows == 3 and version.source_kind == "dataframe"
    assert datasets.read_frame(lake, version)["v"].isna().sum() == 1


def test_each_ingest_is_a_new_version_and_old_versions_read_back(lake, tmp_path):
    v1 = datasets.ingest_path(lake, write_csv(tmp_path / "a.csv", "x\n1\n2\n"), name="d", actor="t")
    v2 = datasets.ingest_path(lake, write_csv(tmp_path / "b.csv", "x,y\n5,6\n"), name="d", actor="t")
    assert (v1.version, v2.version) == (1, 2) and v2.snapshot > v1.snapshot
    assert datasets.read_frame(lake, datasets.get(lake, "d@1"))["x"].tolist() == [1, 2]
    assert datasets.read_frame(lake, datasets.get(lake, "d"))[["x", "y"]].values.tolist() == [[5, 6]]
    assert [v.version for v in datasets.versions(lake, "d")] == [2, 1]
    assert [v.ref for v in datasets.latest(lake)] == ["d@2"]
    with pytest.raises(NotFoundError, match="no version 3"):
        datasets.get(lake, "d@3")
    with pytest.raises(NotFoundError, match="No dataset named"):
        datasets.get(lake, "nothing")


BAD_FILES = {
    "ragged.csv": ("a,b\n1,2\n3\n4,5\n", "line 3 has 1 field"),
    "too_wide.csv": ("a,b\n1,2\n3,4,5\n", "line 3 has 3 field"),
    "quote.csv": ('a,b\n1,"open\n2,3\n', "unbalanced quote"),
    "empty.csv": ("", "empty"),
    "header_only.csv": ("a,b\n", "no data rows"),
    "dupes.csv": ("a,b,A\n1,2,3\n", "more than once"),
    "blank.csv": ("a,,c\n1,2,3\n", "column 2 has no name"),
    "blank_line_first.csv": ("\na,b\n1,2\n", "first line is empty"),
    "sheet.xlsx": ("PK\x03\x04", "not supported"),
    "data.txt.exe": ("MZ", "not supported"),
}


@pytest.mark.parametrize("filename", sorted(BAD_FILES))
def test_bad_files_fail_clearly_and_leave_the_lake_unchanged(lake, tmp_path, filename):
    datasets.ingest_path(lake, write_csv(tmp_path / "ok.csv", "a\n1\n"), name="existing", actor="t")
    text, message = BAD_FILES[filename]
    before = lake_state(lake)
    with pytest.raises(InputError, match=message):
        datasets.ingest_path(lake, write_csv(tmp_path / filename, text), name="existing", actor="t")
    assert lake_state(lake) == before


def test_binary_junk_with_a_csv_name_is_refused(lake, tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(range(256)) * 40)
    before = lake_state(lake)
    with pytest.raises(InputError, match="binary"):
        datasets.ingest_path(lake, path, name="junk", actor="t")
    (tmp_path / "latin.csv").write_bytes("name\ncaf\xe9\n".encode("latin-1") * 3)
    with pytest.raises(InputError, match="UTF-8"):
        datasets.ingest_path(lake, tmp_path / "latin.csv", name="junk", actor="t")
    (tmp_path / "fake.parquet").write_bytes(b"not parquet at all" * 10)
    with pytest.raises(InputError, match="could not be read as PARQUET"):
        datasets.ingest_path(lake, tmp_path / "fake.parquet", name="junk", actor="t")
    (tmp_path / "fake.duckdb").write_bytes(b"not a database" * 10)
    with pytest.raises(InputError, match="not a DuckDB database"):
        datasets.ingest_path(lake, tmp_path / "fake.duckdb", name="junk", actor="t")
    assert lake_state(lake) == before


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "x'y", 'q"q', "t; DROP TABLE x", "Robert'); --",
                                  "", "Upper", "1starts_with_digit", "a" * 64, "space name"])
def test_unsafe_names_are_refused(lake, tmp_path, name):
    path = write_csv(tmp_path / "ok.csv", "a\n1\n")
    before = lake_state(lake)
    with pytest.raises(InputError, match="not allowed"):
        datasets.ingest_path(lake, path, name=name, actor="t")
    assert lake_state(lake) == before


def test_size_limit_missing_file_unknown_usecase_and_duckdb_table(tmp_path):
    folder = tmp_path / "lake"
    folder.mkdir()
    (folder / "assay.toml").write_text("max_ingest_mb = 1\n")
    lake = Lake.open(folder)
    big = write_csv(tmp_path / "big.csv", "a\n" + "123456789\n" * 120_000)
    before = lake_state(lake)
    with pytest.raises(InputError, match="over the ingest limit of 1 MB"):
        datasets.ingest_path(lake, big, name="big", actor="t")
    with pytest.raises(InputError, match="no such file"):
        datasets.ingest_path(lake, tmp_path / "absent.csv", name="x", actor="t")
    with pytest.raises(NotFoundError, match="No use case named"):
        datasets.ingest_path(lake, write_csv(tmp_path / "s.csv", "a\n1\n"), name="x", actor="t", usecase="nope")
    db = tmp_path / "two.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t1 AS SELECT 1 AS a")
    with pytest.raises(InputError, match="name the table"):
        datasets.ingest_path(lake, db, name="x", actor="t")
    with pytest.raises(InputError, match="has no table 'zz'"):
        datasets.ingest_path(lake, db, name="x", actor="t", table="zz")
    with pytest.raises(InputError, match="more than once"):
        datasets.ingest_frame(lake, pd.DataFrame([[1, 2]], columns=["a", "a"]), name="x", actor="t")
    with pytest.raises(InputError, match="no data rows"):
        datasets.ingest_frame(lake, pd.DataFrame({"a": []}), name="x", actor="t")
    assert lake_state(lake) == before
    lake.close()
