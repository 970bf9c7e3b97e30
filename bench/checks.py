"""Benchmark: the validation suite (every check) on the held-out rows of the demo (50,000 applications, a 70/30
split: 15,000 held-out rows, LightGBM), seconds per check and in total (medians of --runs); Deepchecks'
full_suite on the same split and LightGBM parameters in its own virtual environment, and the ratio; and the
suite over a 1,000,000-row dataset version (--dataset: every row evaluated). Prints JSON.
    OMP_NUM_THREADS=1 python bench/checks.py [--rows 50000] [--runs 3] [--million 1000000] [--no-deepchecks]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEEPCHECKS = Path("/work/venvs/deepchecks/bin/python")


def suite_times(lake, run_id: str, runs: int, dataset=None) -> dict:
    from core import validation

    totals, per_check, result = [], {}, None
    for _ in range(runs):
        started = time.perf_counter()
        result = validation.run_checks(lake, run_id, dataset=dataset)
        totals.append(time.perf_counter() - started)
        for check in result.checks:
            per_check.setdefault(check.check, []).append(check.seconds)
    return {"rows": result.rows, "seconds_total_median": round(statistics.median(totals), 2),
            "seconds_total_runs": [round(t, 2) for t in totals],
            "seconds_by_check_median": {k: round(statistics.median(v), 3) for k, v in per_check.items()},
            "counts": result.counts, "failed": [c.check for c in result.checks if c.status == "fail"],
            "skipped": [s["check"] for s in result.skipped]}


def deepchecks_run(lake, run, folder: Path) -> dict:
    """Write the run's split (training and held-out rows, as Parquet) and its LightGBM parameters, and run
    Deepchecks' full_suite on them in its own environment."""
    from core import training
    from core.data import datasets

    trained = training.open_run(lake, run.run_id)
    version, _ = training.evaluation_source(lake, run, None)
    for name, held in (("train", False), ("test", True)):
        where, params = trained.held_out_filter(held_out=held)
        datasets.read_frame(lake, version, where=where, params=params).to_parquet(folder / f"{name}.parquet")
    model = trained.model.named_steps["model"]
    params = {k: v for k, v in model.get_params().items() if k in ("learning_rate", "random_state", "num_leaves")}
    params["n_estimators"] = int(run.params.get("best_iteration") or model.n_estimators)
    spec = {"target": run.target, "features": run.feature_names, "params": params,
            "categorical": [f["name"] for f in run.features if f["kind"] == "categorical"]}
    (folder / "spec.json").write_text(json.dumps(spec))
    done = subprocess.run([str(DEEPCHECKS), str(ROOT / "bench" / "_deepchecks_full_suite.py"), str(folder)],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--million", type=int, default=1_000_000, help="rows of the large dataset (0: skip)")
    parser.add_argument("--no-deepchecks", action="store_true")
    args = parser.parse_args()
    from core import training
    from core.data import datasets, demo
    from core.lake import Lake

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.open(Path(folder) / "lake")
        demo.build(lake, rows=args.rows, with_transactions=False)
        run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=["lightgbm"],
                             sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
        out = {"benchmark": "validation checks", "applications": args.rows, "held_out_rows": run.test_rows,
               "ours": suite_times(lake, run.run_id, args.runs)}
        if not args.no_deepchecks and DEEPCHECKS.exists():
            peer = deepchecks_run(lake, run, Path(folder))
            out["deepchecks_full_suite"] = peer
            if "seconds" in peer:
                out["ratio_deepchecks_to_ours"] = round(peer["seconds"] / out["ours"]["seconds_total_median"], 1)
        if args.million:
            big, _ = demo.applications(args.million, seed=99, start_id=10_000_000)
            datasets.ingest_frame(lake, big, name="applications_big", actor="bench", usecase=demo.USECASE)
            out["large"] = suite_times(lake, run.run_id, 1, dataset="applications_big")
        lake.close()
    out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                      "load_average": os.getloadavg()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
