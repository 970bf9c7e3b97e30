"""Benchmark: a review (explain + errors + overview) of a LightGBM model on the demo's held-out
rows, at 50k and 1M applications: seconds per component and peak RSS, each size in its own
process. Prints JSON.
    python bench/review.py [--rows 50000 1000000]
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


def child(rows: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from core.data import demo
    from core import review, training
    from core.lake import Lake

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.open(folder)
        demo.build(lake, rows=rows, with_transactions=False)
        run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=["lightgbm"],
                             sensitive=["sex", "race_ethnicity"]).runs[0]
        started = time.perf_counter()
        made = review.create(lake, run_id=run.run_id, actor="bench")
        total = time.perf_counter() - started
        top = review.results(lake, made.review_id)["errors"]["cohorts"][0]["filter"]
    return {"applications": rows, "reviewed_rows": made.rows, "seconds_total": round(total, 2),
            "seconds_by_component": made.timings, "top_error_cohort": top,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 1_000_000])
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    results = [json.loads(subprocess.run([sys.executable, __file__, "--child", str(rows)], capture_output=True,
                                         text=True, check=True).stdout) for rows in args.rows]
    print(json.dumps({"benchmark": "review", "results": results, "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}}, indent=2))


if __name__ == "__main__":
    main()
