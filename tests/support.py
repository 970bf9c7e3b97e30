"""Helpers the tests share (plain functions and constants; the fixtures live in conftest.py)."""
from __future__ import annotations

from pathlib import Path

from core.data import demo
from core.lake import Lake

ROOT = Path(__file__).resolve().parents[1]
DEMO_ROWS = 6_000


def credit_model(folder: Path, *, rows: int, algorithm: str, actor: str = "t"):
    """A new lake at `folder` with the credit demo (no transactions) and one model of `defaulted` over
    sex and race_ethnicity; returns (lake, run). The caller closes the lake."""
    from core import training

    opened = Lake.open(folder)
    demo.build(opened, rows=rows, with_transactions=False)
    run = training.train(opened, dataset="applications", target="defaulted", actor=actor, algorithms=[algorithm],
                         sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
    return opened, run


def lake_state(lake: Lake) -> dict:
    """Everything a failed write must leave unchanged: snapshots, versions, tables and data files."""
    files = sorted(str(p.relative_to(lake.config.folder)) for p in Path(lake.config.data_path).rglob("*") if p.is_file())
    return {
        "snapshot": lake.current_snapshot(),
        "versions": lake.query("SELECT name, version FROM lake.assay.dataset_versions ORDER BY 1, 2"),
        "tables": lake.query("SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' ORDER BY 1"),
        "files": files,
    }


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
