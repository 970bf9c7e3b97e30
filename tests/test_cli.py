"""The CLI contract: one JSON object on stdout, exit 0; errors exit non-zero with {"error": ...}."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd

from core.cli import main

from support import ROOT, lake_state, write_csv


def run(*argv: str) -> tuple[int, dict]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    text = out.getvalue()
    assert text.count("\n") == 1, text  # exactly one JSON object
    return code, json.loads(text)


def test_demo_ingest_datasets_profile(tmp_path):
    lake = str(tmp_path / "lake")
    code, result = run("--lake", lake, "demo", "--rows", "2000")
    assert code == 0 and result["datasets"]["applications"] == "applications@1" and "true_ate" in result
    frame = pd.DataFrame({"city": ["Oslo", None, "Lima", "Oslo"], "temp": [3.5, 20.0, None, 4.0], "n": [1, 2, 3, 4]})
    frame.to_csv(tmp_path / "weather.csv", index=False)
    code, result = run("--lake", lake, "ingest", str(tmp_path / "weather.csv"), "--name", "weather")
    assert code == 0 and result["rows"] == 4 and result["version"] == 1
    code, result = run("--lake", lake, "profile", "weather@1")
    assert code == 0 and result["rows"] == 4
    columns = {c["name"]: c for c in result["columns"]}
    assert (columns["city"]["missing"], columns["temp"]["missing"], columns["n"]["missing"]) == (1, 1, 0)
    assert (columns["city"]["type"], columns["temp"]["type"], columns["n"]["type"]) == ("VARCHAR", "DOUBLE", "BIGINT")
    code, result = run("--lake", lake, "datasets")
    assert code == 0 and {d["name"] for d in result["datasets"]} == {"applications", "transactions",
                                                                     "applications_batch2", "weather"}
    code, result = run("--lake", lake, "datasets", "weather")
    assert [v["version"] for v in result["versions"]] == [1]
    code, result = run("--lake", lake, "demo", "--sample", "ihdp")
    assert code == 0 and result["rows"] == 985


def test_usecases_and_cohorts(tmp_path):
    lake = str(tmp_path / "lake")
    code, result = run("--lake", lake, "usecase", "add", "churn", "--objective", "Keep customers",
                       "--stakeholder", "cfo", "--metric", "roc_auc=0.8")
    assert code == 0 and result["success_metrics"] == [{"metric": "roc_auc", "target": 0.8, "higher_is_better": True}]
    code, result = run("--lake", lake, "usecases")
    assert [u["name"] for u in result["usecases"]] == ["default", "churn"]
    code, result = run("--lake", lake, "usecase", "add", "churn", "--objective", "again")
    assert code == 2 and "already exists" in result["error"]
    code, result = run("--lake", lake, "usecase", "add", "bad", "--objective", "x", "--metric", "auc")
    assert code == 2 and "NAME=TARGET" in result["error"]
    write_csv(tmp_path / "p.csv", "age,city\n20,a\n40,b\n60,c\n")
    run("--lake", lake, "ingest", str(tmp_path / "p.csv"), "--name", "people", "--usecase", "churn")
    code, result = run("--lake", lake, "cohort", "add", "older", "--dataset", "people",
                       "--where", '[{"column": "age", "op": ">=", "value": 40}]')
    assert code == 0 and result["filter"] == "age >= 40" and result["usecase"] == "churn"
    code, result = run("--lake", lake, "profile", "people", "--cohort", "older")
    assert code == 0 and result["rows"] == 2 and result["cohort"] == "older"
    code, result = run("--lake", lake, "cohorts", "--usecase", "churn")
    assert [c["name"] for c in result["cohorts"]] == ["older"]
    code, result = run("--lake", lake, "cohort", "add", "x", "--dataset", "people", "--where", "not json")
    assert code == 2 and "JSON" in result["error"]


def test_errors_are_json_and_leave_the_lake_unchanged(tmp_path, lake):
    folder = str(lake.config.folder)
    write_csv(tmp_path / "ragged.csv", "a,b\n1\n")
    before = lake_state(lake)
    for argv, message in [
        (["ingest", str(tmp_path / "ragged.csv"), "--name", "r"], "line 2 has 1 field"),
        (["ingest", str(tmp_path / "ragged.csv"), "--name", "../r"], "not allowed"),
        (["ingest", str(tmp_path / "missing.csv"), "--name", "r"], "no such file"),
        (["ingest", str(tmp_path / "ragged.csv")], "required: --name"),
        (["profile", "nothing@2"], "No dataset named"),
        (["profile", "x@zero"], "not a positive whole number"),
        (["demo", "--rows", "5"], "--rows"),
        (["frobnicate"], "invalid choice"),
    ]:
        code, result = run("--lake", folder, *argv)
        assert code != 0 and message in result["error"], (argv, result)
    assert lake_state(lake) == before


def test_python_dash_m_core_prints_one_json_object_and_exits_nonzero_on_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "core", "--lake", str(tmp_path / "lake"), "datasets"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout) == {"datasets": []}
    done = subprocess.run([sys.executable, "-m", "core", "--lake", str(tmp_path / "lake"), "profile", "nope"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "No dataset named 'nope'" in json.loads(done.stdout)["error"]


def test_features_build_list_show(tmp_path):
    lake = str(tmp_path / "lake")
    run("--lake", lake, "demo", "--rows", "2000")
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: applicant_features\nbase: applications\nentity: applicant_id\ntimestamp: applied_at\n"
                    "columns: [age, income]\nderived:\n  debt_to_income: debt / nullif(income, 0)\n"
                    "aggregates:\n  - {source: transactions, timestamp: tx_at, column: amount, "
                    "functions: [count, sum, max], window: 90 days}\nlabel: defaulted\n")
    code, result = run("--lake", lake, "features", "build", str(spec))
    assert code == 0 and (result["feature_set"], result["version"], result["rows"]) == ("applicant_features", 1, 2000)
    assert result["columns"][-1] == "defaulted" and "transactions_amount_max_90d" in result["columns"]
    code, result = run("--lake", lake, "features", "list")
    assert [f["name"] for f in result["feature_sets"]] == ["applicant_features"]
    code, result = run("--lake", lake, "features", "show", "applicant_features@1")
    assert code == 0 and len(result["preview"]) == 100 and result["lineage"][0]["dataset"] == "applications"
    assert {c["name"] for c in result["statistics"]["columns"]} >= {"debt_to_income", "age"}
    spec.write_text("name: bad\nbase: applications\nentity: applicant_id\nderived: {x: \"read_csv('/etc/passwd')\"}\n")
    code, result = run("--lake", lake, "features", "build", str(spec))
    assert code == 2 and "not allowed" in result["error"]
    code, result = run("--lake", lake, "features", "build", str(tmp_path / "missing.yaml"))
    assert code == 2 and "Cannot read the spec file" in result["error"]
