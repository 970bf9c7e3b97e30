"""Benchmark: batch scoring of the demo's applications (1M rows by default) with a registered
LightGBM model, embedded (DuckDB record batches) and on Dask (a local cluster), each in its own
process so peak RSS is the job's. Prints JSON.
    python bench/scoring.py [--rows 1000000]
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


def child(folder: str, engine: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from core import scoring
    from core.lake import Lake

    lake = Lake.open(folder)
    started = time.perf_counter()
    job = scoring.score(lake, "bench@champion", dataset="applications", actor="bench", engine=engine)
    return {"engine": engine, "rows": job.rows, "seconds": round(time.perf_counter() - started, 2),
            "rows_per_second": round(job.rows / (time.perf_counter() - started)),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "ENGINE"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    sys.path.insert(0, str(ROOT))
    from core import demo, registry, training
    from core.lake import Lake

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.open(folder)
        demo.build(lake, rows=args.rows, with_transactions=False)
        run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=["lightgbm"],
                             exclude=["applicant_id", "applied_at"], sensitive=["sex", "race_ethnicity"]).runs[0]
        registry.register(lake, run.run_id, name="bench", actor="bench", alias="champion")
        lake.close()
        results = [json.loads(subprocess.run([sys.executable, __file__, "--child", folder, engine], capture_output=True,
                                             text=True, check=True).stdout.strip().splitlines()[-1])
                   for engine in ("duckdb", "dask")]
    print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
                      "applications": args.rows, "jobs": results}, indent=2))


if __name__ == "__main__":
    main()
