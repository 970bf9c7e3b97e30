"""Benchmark: LightGBM on the 1M-row demo through Assay's training path (read from the lake,
checks, split, early stopping, evaluation, curves, artifact, tracking) against a plain
LGBMClassifier.fit on the same training rows with the same parameters and number of trees.
Prints JSON with the ratio.
    python bench/train_lightgbm.py [--rows 1000000]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from lightgbm import LGBMClassifier

    from core.data import datasets
    from core import training
    from core.lake import Lake

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "core", "--lake", folder, "demo", "--rows", str(args.rows),
                        "--no-transactions"], cwd=ROOT, capture_output=True, check=True)
        lake = Lake.open(folder)
        started = time.perf_counter()
        result = training.train(lake, dataset="applications", target="defaulted", actor="bench",
                                algorithms=["lightgbm"], sensitive=["sex", "race_ethnicity"])
        ours = time.perf_counter() - started
        run = result.runs[0]

        frame = datasets.read_frame(lake, datasets.get(lake, "applications"))
        X = frame[run.feature_names].copy()
        for column in X.columns:
            if X[column].dtype == object or str(X[column].dtype) in ("str", "string"):
                X[column] = X[column].astype("category")
        y = frame["defaulted"]
        train_rows = run.train_rows - int(round(run.train_rows * 0.1))  # same size as our training fold
        plain = LGBMClassifier(n_estimators=run.params["best_iteration"], learning_rate=0.05, num_leaves=31,
                               random_state=42, verbose=-1)
        started = time.perf_counter()
        plain.fit(X.iloc[:train_rows], y.iloc[:train_rows])
        baseline = time.perf_counter() - started
    print(json.dumps({"benchmark": "train_lightgbm", "rows": args.rows, "train_rows": train_rows,
                      "trees": run.params["best_iteration"], "assay_seconds": round(ours, 2),
                      "assay_model_seconds": round(run.duration_seconds, 2), "plain_fit_seconds": round(baseline, 2),
                      "ratio_total": round(ours / baseline, 2), "ratio_model": round(run.duration_seconds / baseline, 2),
                      "roc_auc": round(run.metrics["roc_auc"], 4),
                      "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "platform": platform.platform()}}, indent=2))


if __name__ == "__main__":
    main()
