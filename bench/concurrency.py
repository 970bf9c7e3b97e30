"""Benchmark: do jobs started at once share the cores, or thrash? Two LightGBM trainings (and two reviews)
of the demo at 50,000 rows, each first alone and then both started together, every job a CLI process
on its own copy of the lake. A job "holds" when its time together is at most 2.5x its time alone
(two jobs on two cores: 2x is a fair share). Prints JSON with the medians over --runs.
    python bench/concurrency.py [--rows 50000] [--runs 3] [--threads N]   (N sets ASSAY_THREADS)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LIMIT = 2.5


def cli(lake: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "core", "--lake", str(lake), *args]


def timed_together(commands: list[list[str]], env: dict) -> list[float]:
    """Start every command at once; each one's wall-clock seconds."""
    started = time.perf_counter()
    processes = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    ended = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(process.args[3:6])} failed: {err.decode()[-2000:]}")
        ended.append(time.perf_counter() - started)
    return ended


def measure(name: str, job, lakes: list[Path], runs: int, env: dict) -> dict:
    alone, together = [], []
    for _ in range(runs):
        alone.append(timed_together([job(lakes[0])], env)[0])
        together += timed_together([job(lakes[0]), job(lakes[1])], env)
    a, t = statistics.median(alone), statistics.median(together)
    return {"job": name, "alone_seconds": round(a, 2), "together_seconds": round(t, 2), "ratio": round(t / a, 2),
            "holds": t / a <= LIMIT, "alone_runs": [round(v, 2) for v in alone],
            "together_runs": [round(v, 2) for v in together]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, help="ASSAY_THREADS for the jobs (default: unset, every CPU)")
    args = parser.parse_args()
    from core import compute, training
    from core.data import demo
    from core.lake import Lake

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "ASSAY_THREADS")}
    if args.threads:
        env["ASSAY_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "lake0"
        lake = Lake.open(base)
        demo.build(lake, rows=args.rows, with_transactions=False)
        run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=["lightgbm"],
                             sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
        lake.close()
        copy = Path(folder) / "lake1"
        shutil.copytree(base, copy)
        lakes = [base, copy]

        def train(lake_path: Path) -> list[str]:
            return cli(lake_path, "train", "--dataset", "applications", "--target", "defaulted", "--algorithms",
                       "lightgbm", "--sensitive", "sex", "race_ethnicity", "--exclude", "applicant_id", "applied_at")

        def review(lake_path: Path) -> list[str]:
            return cli(lake_path, "review", "--run", run.run_id, "--components", "overview,explain,errors")

        results = [measure("train lightgbm", train, lakes, args.runs, env),
                   measure("review overview,explain,errors", review, lakes, args.runs, env)]
    print(json.dumps({"machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, Python {platform.python_version()}",
                      "load_average_at_end": os.getloadavg()[0], "rows": args.rows, "runs": args.runs,
                      "threads_per_job": int(env.get("ASSAY_THREADS") or compute.threads()), "limit_ratio": LIMIT,
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
