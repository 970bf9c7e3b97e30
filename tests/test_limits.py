"""Resource limits no user can exhaust (issue 16, items 1 and 2).

The memory-bound tests run the CLI in a subprocess whose address space is limited (RLIMIT_AS),
so a regression ends in a clean test failure, not in a machine out of memory. Each asserts a
clean JSON error (or, for the wide profile, a complete answer) within the subprocess timeout.
"""
from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.governance import accounts
from core.lake import audit, scratch
from core.data import datasets, demo
from core import features
from core.config import load_config
from core.errors import InputError
from core.lake import Lake
from core.lake.permissions import PermissionDenied
from core.data.profile import PAGE_COLUMNS, QUANTILES

from support import ROOT, lake_state

ADDRESS_SPACE = 3 * 2**30  # the CLI imports and opens a lake within 2 GiB; 3 GiB leaves DuckDB room to work
WIDE_COLUMNS, WIDE_ROWS = 10_000, 50


def run_cli(folder: Path, *args: str, timeout: float = 300, env: dict | None = None) -> tuple[int, dict, str]:
    """`python -m core --lake FOLDER ARGS` with the address space limited; (exit code, JSON answer, stderr)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    proc = subprocess.run([sys.executable, "-m", "core", "--lake", str(folder), *args], cwd=ROOT, timeout=timeout,
                          preexec_fn=limit, capture_output=True, text=True, env={**os.environ, **(env or {})})
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no answer (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return proc.returncode, json.loads(lines[-1]), proc.stderr


def refused(folder: Path, *args: str, env: dict | None = None) -> str:
    code, answer, stderr = run_cli(folder, *args, env=env)
    assert code != 0 and set(answer) == {"error"}, answer
    assert "Traceback" not in stderr and "Traceback" not in answer["error"]
    return answer["error"]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A lake with one 2,000-row dataset `regions` (id, region, income) and a viewer account."""
    folder = tmp_path_factory.mktemp("limits") / "lake"
    lake = Lake.open(folder)
    frame = pd.DataFrame({"id": range(2_000), "region": [f"r{i % 7}" for i in range(2_000)],
                          "income": [1_000.0 + i for i in range(2_000)]})
    datasets.ingest_frame(lake, frame, name="regions", actor="local")
    lake.close()
    return folder


def write_spec(folder: Path, name: str, text: str) -> str:
    path = folder.parent / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def spec_text(derived: dict[str, str]) -> str:
    lines = ["name: bounded", "base: regions", "entity: id", "columns: [region]", "derived:"]
    return "\n".join(lines + [f"  {k}: \"{v}\"" for k, v in derived.items()]) + "\n"


ALIAS_BOMB = ("name: bomb\nbase: regions\nentity: id\ndescription:\n  - &a [" + ", ".join(['"lol"'] * 9) + "]\n"
              + "".join(f"  - &{a} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, a in zip("abcdefgh", "bcdefghi")))


def test_the_alias_bomb_is_refused_before_it_grows(small):
    assert len(ALIAS_BOMB.encode()) < 600 and ALIAS_BOMB.count("*") == 72  # 9 levels: 9**9 strings once expanded
    before = lake_state(Lake.open(small))
    for command in ("build", "preview"):
        message = refused(small, "features", command, write_spec(small, "bomb", ALIAS_BOMB))
        assert "aliases" in message and "not allowed" in message
    with pytest.raises(InputError, match="aliases"):
        features.load_spec(ALIAS_BOMB)
    assert lake_state(Lake.open(small)) == before


def test_spec_text_and_nesting_are_bounded():
    with pytest.raises(InputError, match="at most 65,536"):
        features.load_spec("name: x\ndescription: " + "y" * features.MAX_SPEC_BYTES + "\n")
    with pytest.raises(InputError, match="nests deeper than 20"):
        features.load_spec("name: x\ndescription: " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(InputError, match="at most 2,000"):
        features.spec_from_dict({"name": "x", "base": "b", "entity": "e", "derived": {"d": "a + " * 600 + "a"}})
    with pytest.raises(InputError, match="at most 200"):
        features.spec_from_dict({"name": "x", "base": "b", "entity": "e", "derived": {f"d{i}": "a" for i in range(201)}})


@pytest.mark.parametrize("function", ["lpad", "rpad"])
@pytest.mark.parametrize("command", ["build", "preview"])
def test_a_huge_pad_length_is_refused_on_the_syntax_tree(small, function, command):
    before = lake_state(Lake.open(small))
    spec = write_spec(small, f"{function}_{command}", spec_text({"d": f"{function}(region, 50000000, 'x')"}))
    message = refused(small, "features", command, spec)
    assert f"{function}'s length 50,000,000 is above the limit of 10,000 characters" in message
    assert lake_state(Lake.open(small)) == before


@pytest.mark.parametrize("expression, problem", [
    ("lpad(region, CAST(income AS INTEGER), 'x')", "lpad's length must be a whole number written in the expression"),
    ("replace(replace(replace(region, 'r', 'rrrrrrrrrr'), 'r', 'rrrrrrrrrr'), 'r', 'rrrrrrrrrr')",
     "up to 1,000 times as long"),
    ("regexp_replace(region, '', 'xxxxxxxxxx', 'g')", "up to 21 times as long"),
    ("replace(region, 'r', region)", "replacement must be written in the expression"),
    ("repeat(region, 50000000)", "function 'repeat' is not allowed"),
])
def test_size_producing_functions_are_bounded(expression, problem):
    with pytest.raises(InputError, match="Derived column 'd'") as error:
        features.check_expression("d", expression, ["region", "income"])
    assert problem in str(error.value)
    for fine in ("lpad(region, 10000, 'x')", "replace(region, 'r', 'R-')", "concat_ws('-', region, region)",
                 "upper(trim(region))", "regexp_replace(region, '[0-9]', 'N', 'g')"):
        features.check_expression("d", fine, ["region", "income"])


def test_a_heavy_preview_stops_with_a_clear_message(small):
    """200 derived columns of 10,000 characters (each within the limits) over 1,000 rows would be 2 GB: the
    preview stops at the time limit, DuckDB's memory limit or the preview's byte limit, whichever comes first."""
    heavy = {f"d{i}": "lpad(region, 10000, 'x')" for i in range(200)}
    before = lake_state(Lake.open(small))
    message = refused(small, "features", "preview", write_spec(small, "heavy", spec_text(heavy)), "--rows", "1000",
                      env={"ASSAY_QUERY_SECONDS": "5"})
    assert "preview" in message and any(reason in message for reason in (
        "took longer than 5 s", "more memory than DuckDB's limit", "a preview may be at most 64 MiB")), message
    assert lake_state(Lake.open(small)) == before


def test_a_preview_is_bounded_in_bytes_and_seconds(small, monkeypatch):
    lake = Lake.open(small)
    spec = features.load_spec(spec_text({f"d{i}": "lpad(region, 10000, 'x')" for i in range(10)}))
    monkeypatch.setattr("core.features._limits.PREVIEW_MAX_BYTES", 2**20)  # 1,000 rows x 10 x 10,000 characters: 100 MB
    with pytest.raises(InputError, match="a preview may be at most 1 MiB"):
        features.preview(lake, spec, rows=1_000)
    assert len(features.preview(lake, spec, rows=5)) == 5  # 500 KB: fine
    slow = Lake(load_config(small, env={"ASSAY_QUERY_SECONDS": "0.05"}))
    heavy = features.load_spec(spec_text({f"d{i}": "md5(lpad(region, 10000, 'x'))"
                                          for i in range(200)}))
    with pytest.raises(InputError, match=r"The preview took longer than 0.05 s and was stopped"):
        features.preview(slow, heavy, rows=1_000)
    with pytest.raises(InputError, match="1 to 1,000 rows"):
        features.preview(lake, spec, rows=0)
    slow.close()
    lake.close()


def test_duckdb_runs_with_the_configured_memory_limit_and_threads(tmp_path):
    default = load_config(tmp_path / "a", env={})
    assert default.memory_limit_bytes > 0 and default.threads >= 1
    lake = Lake(load_config(tmp_path / "a", env={"ASSAY_MEMORY_LIMIT": "512MiB", "ASSAY_THREADS": "1"}))
    limit, threads, temp = lake.query("SELECT current_setting('memory_limit'), current_setting('threads'), "
                                      "current_setting('temp_directory')")[0]
    assert (limit, threads) == ("512.0 MiB", 1) and temp == str(scratch.spill_folder(tmp_path / "a"))
    lake.close()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "assay.toml").write_text('memory_limit = "25%"\nthreads = 2\nquery_seconds = 12\n')
    configured = load_config(tmp_path / "b", env={})
    assert configured.threads == 2 and configured.query_seconds == 12.0
    assert abs(configured.memory_limit_bytes - default.memory_limit_bytes * 25 / 40) < 2**20
    for bad, problem in (("lots", "not a size"), ("10MB", "below 64MiB"), ("150%", "between 0% and 100%")):
        with pytest.raises(InputError, match=problem):
            load_config(tmp_path / "a", env={"ASSAY_MEMORY_LIMIT": bad})
    with pytest.raises(InputError, match="ASSAY_THREADS"):
        load_config(tmp_path / "a", env={"ASSAY_THREADS": "many"})


def test_a_viewer_previews_but_cannot_build_and_the_page_refuses_the_alias_bomb(tmp_path, monkeypatch):
    folder = tmp_path / "lake"
    lake = Lake.open(folder)
    demo.build(lake, rows=1_000, with_transactions=False)
    accounts.add(lake, "vera", role="viewer", actor="local", password="viewer password 1")
    lake.close()
    monkeypatch.setenv("ASSAY_LAKE", str(folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.text_input(key="sign_in_name").input("vera")
    at.text_input(key="sign_in_password").input("viewer password 1")
    at.button[0].click().run()
    at.switch_page("pages/build_features.py").run()
    at.text_area(key="build_derived").input("padded = lpad(sex, 12, '.')").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    preview = at.dataframe[0].value
    assert len(preview) == 100 and all(len(v) == 12 for v in preview["padded"])
    assert at.button(key="build_go").disabled
    assert any("building needs an analyst or admin" in c.value for c in at.caption)
    at.text_area(key="build_derived").input("padded = lpad(sex, 50000000, 'x')").run()
    assert not at.exception and "above the limit of 10,000 characters" in at.error[0].value
    at.text_area(key="build_yaml").set_value(ALIAS_BOMB.replace("regions", "applications").replace("id\n", "applicant_id\n"))
    at.toggle(key="build_use_yaml").set_value(True).run()
    assert not at.exception
    assert any("aliases" in e.value for e in at.error) and not any("Traceback" in e.value for e in at.error)

    lake = Lake.open(folder)  # and core refuses the build itself, audited, leaving the lake as it was
    before = lake_state(lake)
    spec = features.load_spec(spec_text({"tag": "upper(sex) || '!'"}).replace("regions", "applications")
                              .replace("entity: id", "entity: applicant_id").replace("[region]", "[sex]"))
    shown = features.preview(lake, spec, rows=3)
    assert len(shown) == 3 and list(shown["tag"]) == [s.upper() + "!" for s in shown["sex"]]
    with pytest.raises(PermissionDenied, match="vera is a viewer and may not build"):
        features.build(lake, spec, actor="vera")
    after = lake_state(lake)  # only the refusal's audit entry was written
    assert after["tables"] == before["tables"] and after["versions"] == before["versions"]
    assert lake.query("SELECT count(*) FROM lake.assay.feature_sets")[0][0] == 0
    denied = audit.entries(lake, action="denied", limit=1)[0]
    assert denied["actor"] == "vera" and denied["object"] == "build"
    lake.close()


@pytest.fixture(scope="module")
def wide(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A 50 x 10,000 CSV (1.5 MB; every tenth column text, some cells missing) ingested as `wide`."""
    random.seed(16)
    folder = tmp_path_factory.mktemp("wide")
    names = [f"c{i}" for i in range(WIDE_COLUMNS)]
    rows = []
    for r in range(WIDE_ROWS):
        rows.append(["" if random.random() < 0.05 else (f"t{random.randint(0, 4)}" if i % 10 == 9 else
                                                        str(random.randint(0, 99))) for i in range(WIDE_COLUMNS)])
    path = folder / "wide.csv"
    path.write_text("\n".join([",".join(names)] + [",".join(r) for r in rows]) + "\n")
    lake = Lake.open(folder / "lake")
    datasets.ingest_path(lake, path, name="wide", actor="local")
    lake.close()
    return folder / "lake", pd.read_csv(path)


@pytest.mark.slow
def test_profile_of_a_wide_table_fits_in_memory_and_covers_every_column(wide):
    folder, frame = wide
    code, answer, stderr = run_cli(folder, "profile", "wide", timeout=900)
    assert code == 0 and "error" not in answer, answer
    columns = answer["columns"]
    assert answer["rows"] == WIDE_ROWS and [c["name"] for c in columns] == list(frame.columns)
    for column in columns:
        values = frame[column["name"]]
        assert column["count"] == values.count() and column["missing"] == values.isna().sum()
        assert column["distinct"] == values.nunique(), column["name"]
        if column["kind"] == "numeric":
            assert column["min"] == values.min() and column["max"] == values.max()
            assert column["mean"] == pytest.approx(values.mean()) and column["std"] == pytest.approx(values.std())
            assert column["quantiles"]["0.5"] == pytest.approx(values.quantile(0.5))
            assert set(column["quantiles"]) == {str(q) for q in QUANTILES}
        else:
            counts = values.value_counts()
            assert [n for _, n in column["top_values"]] == list(counts.iloc[:5])
            assert all(counts[value] == n for value, n in column["top_values"]), column["name"]
    assert sum(c["kind"] == "categorical" for c in columns) == WIDE_COLUMNS // 10


@pytest.mark.slow
def test_the_explorer_pages_through_the_columns_of_a_wide_table(wide, monkeypatch):
    folder, frame = wide
    monkeypatch.setenv("ASSAY_LAKE", str(folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="explorer_dataset").value == "wide" and at.metric[1].value == "10,000"
    table = at.dataframe[0].value
    assert list(table["column"]) == [f"c{i}" for i in range(PAGE_COLUMNS)]
    assert list(at.selectbox(key="explorer_page_wide_").options) == [f"{n} of 200" for n in range(1, 201)]
    at.selectbox(key="explorer_page_wide_").select(3).run()
    assert list(at.dataframe[0].value["column"]) == [f"c{i}" for i in range(100, 150)]
    shown = [d.value for d in at.dataframe if "c100" in d.value.columns and "column" not in d.value.columns][0]
    assert list(shown.columns) == [f"c{i}" for i in range(100, 150)] and len(shown) == WIDE_ROWS
    at.text_input(key="explorer_search_wide").input("c999").run()
    table = at.dataframe[0].value.set_index("column")
    assert list(table.index) == ["c999"] + [f"c999{i}" for i in range(10)]
    assert table.loc["c9990", "missing"] == frame["c9990"].isna().sum()
    assert any("Columns 1 to 11 of 11 matching" in c.value for c in at.caption)
