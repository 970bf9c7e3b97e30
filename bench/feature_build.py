"""Benchmark: build a feature set with 5 windowed, point-in-time aggregates for the 1M-applicant
demo (about 20M transactions). The demo is generated first (not timed); the build runs in its
own process so its peak RSS is its own. Prints JSON.
    python bench/feature_build.py [--rows 1000000]
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
SPEC = """
name: bench_features
base: applications
entity: applicant_id
timestamp: applied_at
columns: [age, income, employment]
derived:
  debt_to_income: debt / nullif(income, 0)
aggregates:
  - {source: transactions, timestamp: tx_at, column: amount, functions: [sum], window: 30 days}
  - {source: transactions, timestamp: tx_at, column: amount, functions: [count, avg], window: 90 days}
  - {source: transactions, timestamp: tx_at, column: amount, functions: [min, max], window: 180 days}
  - {source: transactions, timestamp: tx_at, column: amount, functions: [stddev], window: 365 days}
  - {source: transactions, timestamp: tx_at, column: category, functions: [count_distinct], window: 60 days}
label: defaulted
"""


def child(lake: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from core import features
    from core.lake import Lake

    opened = Lake.open(lake)
    started = time.perf_counter()
    built = features.build(opened, features.load_spec(SPEC), actor="bench")
    seconds = time.perf_counter() - started
    return {"rows": built.rows, "features": len(built.features), "seconds": round(seconds, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "core", "--lake", folder, "demo", "--rows", str(args.rows)],
                       cwd=ROOT, capture_output=True, check=True)
        sys.path.insert(0, str(ROOT))
        from core.data import datasets
        from core.lake import Lake
        lake = Lake.open(folder)
        transactions = datasets.get(lake, "transactions").rows
        lake.close()
        done = subprocess.run([sys.executable, __file__, "--child", folder], capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
    print(json.dumps({"benchmark": "feature_build", "applicants": args.rows, "transactions": transactions,
                      "windowed_aggregates": 5, **result,
                      "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "platform": platform.platform()}}, indent=2))


if __name__ == "__main__":
    main()
