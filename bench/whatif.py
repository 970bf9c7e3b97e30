"""Benchmark: one what-if edit (the edited row's prediction and SHAP values beside the original's,
`WhatIf.compare`) on the credit demo, per algorithm. The model is opened once (as the page caches it
per session); each run edits a different row and feature, so no answer is reused. Prints JSON with
the median and the slowest of the runs, and the one-time open and nearest-counterfactual costs.
    OMP_NUM_THREADS=1 python bench/whatif.py [--rows 20000] [--edits 30] [--algorithms lightgbm logistic]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--algorithms", nargs="+", default=["lightgbm", "logistic"])
    args = parser.parse_args()
    from core import training
    from core.analysis.whatif import WhatIf
    from core.data import demo
    from core.lake import Lake

    out = {"rows": args.rows, "edits": args.edits, "python": platform.python_version(), "cpus": os.cpu_count(),
           "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "algorithms": {}}
    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.open(Path(folder) / "lake")
        demo.build(lake, rows=args.rows, with_transactions=False)
        for algorithm in args.algorithms:
            run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=[algorithm],
                                 sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
            started = time.perf_counter()
            tool = WhatIf.open(lake, run.run_id)
            opened = time.perf_counter() - started
            held = training.held_out_ids(lake, run.run_id)[: args.edits]
            numeric = [f["name"] for f in run.features if f["kind"] == "numeric"]
            timings = []
            for i, row_id in enumerate(held):
                original = tool.row(lake, int(row_id))
                feature = numeric[i % len(numeric)]
                edited = dict(original, **{feature: float(original[feature] or 0) + 1})
                tool._answers.clear()  # the page keeps the original's answer; clear it here: the worst case
                started = time.perf_counter()
                tool.compare(original, edited)
                timings.append(time.perf_counter() - started)
            started = time.perf_counter()
            tool.nearest_counterfactual(lake, int(held[0]))
            nearest = time.perf_counter() - started
            out["algorithms"][algorithm] = {
                "edit_median_ms": round(1000 * statistics.median(timings), 1),
                "edit_max_ms": round(1000 * max(timings), 1), "open_seconds": round(opened, 3),
                "nearest_counterfactual_seconds": round(nearest, 3)}
        lake.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
