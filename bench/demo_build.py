"""Benchmark: generating the demo into a fresh lake (applications, ~20 transactions per
applicant, the shifted batch), in a child process so its peak RSS is its own. Prints JSON.
    python bench/demo_build.py [--rows 1000000 10000000]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    results = []
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "core", "--lake", folder, "demo", "--rows", str(rows)],
                                  cwd=ROOT, capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - started
            truths = json.loads(done.stdout)
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            results.append({"rows": rows, "seconds": round(seconds, 1), "rows_per_second": round(rows / seconds),
                            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "datasets": truths["datasets"]})
    print(json.dumps({"benchmark": "demo_build", "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                      "platform": platform.platform()}, "results": results}, indent=2))


if __name__ == "__main__":
    main()
