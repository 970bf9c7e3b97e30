"""Benchmark: ingest and profile of the demo applications at 1M and 10M rows.

Each step runs in its own process so that its peak RSS is its own. Prints one JSON object.
    python bench/ingest_profile.py [--rows 1000000 10000000] [--format csv|parquet]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def step(kind: str, rows: int, path: str, lake: str) -> dict:
    """Run inside a child process: generate, ingest or profile; report seconds and peak RSS."""
    started = time.perf_counter()
    if kind == "generate":
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        from core.data import demo
        writer = None
        for i in range(-(-rows // demo.CHUNK_ROWS)):
            size = min(demo.CHUNK_ROWS, rows - i * demo.CHUNK_ROWS)
            frame, _ = demo.applications(size, seed=7 + i, start_id=1 + i * demo.CHUNK_ROWS)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema) if path.endswith(".parquet") else pacsv.CSVWriter(path, table.schema)
            writer.write_table(table)
        writer.close()
        result = {"bytes": os.path.getsize(path)}
    elif kind == "ingest":
        from core.data import datasets
        from core.lake import Lake
        version = datasets.ingest_path(Lake.open(lake), path, name="applications", actor="bench")
        result = {"rows": version.rows}
    else:
        from core.data import datasets, profile
        from core.lake import Lake
        opened = Lake.open(lake)
        version = datasets.get(opened, "applications")
        result = {"rows": profile.profile(opened, version).rows}
        views = time.perf_counter()  # what the explorer's other tabs run
        profile.histogram(opened, version, "income")
        profile.target_balance(opened, version, "defaulted", "race_ethnicity")
        profile.correlations(opened, version, exclude=("applicant_id",))
        result["explorer_views_seconds"] = round(time.perf_counter() - views, 2)
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def run_child(kind: str, rows: int, path: str, lake: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(rows), path, lake],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        kind, rows, path, lake = args.child
        print(json.dumps(step(kind, int(rows), path, lake)))
        return
    results = []
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as folder:
            path, lake = str(Path(folder) / f"applications.{args.format}"), str(Path(folder) / "lake")
            generated = run_child("generate", rows, path, lake)
            ingested = run_child("ingest", rows, path, lake)
            profiled = run_child("profile", rows, path, lake)
            results.append({"rows": rows, "file_mb": round(generated["bytes"] / 2**20, 1),
                            "ingest_seconds": ingested["seconds"], "ingest_peak_rss_mb": ingested["peak_rss_mb"],
                            "ingest_rows_per_second": round(rows / ingested["seconds"]),
                            "profile_seconds": round(profiled["seconds"] - profiled["explorer_views_seconds"], 2),
                            "histogram_balance_correlations_seconds": profiled["explorer_views_seconds"],
                            "profile_peak_rss_mb": profiled["peak_rss_mb"]})
            assert ingested["rows"] == profiled["rows"] == rows
    print(json.dumps({"benchmark": "ingest_profile", "format": args.format, "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": results}, indent=2))


if __name__ == "__main__":
    main()
