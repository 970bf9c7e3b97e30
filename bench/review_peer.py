"""Benchmark: the peer's whole review job in one Assay CLI call, and the peer itself where it installs.

The job (issue 21): explanations and error analysis on every held-out row, 10 counterfactuals for each
of 5,000 held-out rows, and the causal effect of two treatments, on Adult-shaped data: the credit demo
at 50,000 rows (13 features, 15,000 held-out rows) with a LightGBM run:
    review --components overview,explain,errors,counterfactuals,causal --cf-rows 5000 --cf-count 10
           --treatments counselling income --lower-is-better
Each component's seconds come from the review's own timings; the median over --runs is printed.

The peer: Microsoft's responsibleai (RAIInsights) in its own virtual environment (--peer-python, default
/work/venvs/rai/bin/python; it needs scipy<1.14) on the same train/held-out split, with a LightGBM
pipeline of its own (it cannot load Assay's model); explanations, error analysis and causal on every
held-out row, counterfactuals (dice-ml random, 10 per row) on --peer-cf-rows rows, since it would take
hours on 5,000. dice-ml refuses missing values, so the peer gets the complete rows. Rows per second
are reported side by side.
    python bench/review_peer.py [--rows 50000] [--runs 3] [--peer-cf-rows 100] [--no-peer]
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
COMPONENTS = "overview,explain,errors,counterfactuals,causal"
TREATMENTS = ["counselling", "income"]
PEER = r'''
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from responsibleai import RAIInsights

spec = json.loads(sys.argv[1])
train, test = pd.read_csv(spec["train"]), pd.read_csv(spec["test"])
target, categorical = spec["target"], spec["categorical"]
numeric = [c for c in train.columns if c not in categorical + [target]]
model = Pipeline([("encode", ColumnTransformer([("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                                                 categorical)], remainder="passthrough")),
                  ("model", LGBMClassifier(n_estimators=200, learning_rate=0.05, verbose=-1))])
model.fit(train.drop(columns=[target]), train[target])
out = {"train_rows": len(train), "test_rows": len(test)}

def timed(manager):
    started = time.perf_counter()
    manager.compute()
    return round(time.perf_counter() - started, 2)

rai = RAIInsights(model, train, test, target, "classification", categorical_features=categorical)
rai.explainer.add()
out["explain"] = timed(rai.explainer)
rai.error_analysis.add()
out["errors"] = timed(rai.error_analysis)
rai.causal.add(treatment_features=spec["treatments"])
out["causal"] = timed(rai.causal)
few = test.head(spec["cf_rows"])
cf = RAIInsights(model, train, few, target, "classification", categorical_features=categorical)
cf.counterfactual.add(total_CFs=10, desired_class="opposite", method="random", features_to_vary=spec["vary"])
out["counterfactuals"] = timed(cf.counterfactual)
out["cf_rows"] = len(few)
print(json.dumps(out))
'''


def assay_runs(lake_path: Path, run_id: str, runs: int, env: dict) -> list[dict]:
    command = [sys.executable, "-m", "core", "--lake", str(lake_path), "review", "--run", run_id, "--components",
               COMPONENTS, "--cf-rows", "5000", "--cf-count", "10", "--treatments", *TREATMENTS, "--lower-is-better"]
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"review failed: {done.stdout[-1000:]} {done.stderr[-2000:]}")
        result = json.loads(done.stdout)
        out.append({"wall": time.perf_counter() - started, "timings": result["timings"], "rows": result["rows"],
                    "cf": result["components"]["counterfactuals"]})
    return out


def causal_side_by_side(lake) -> list[dict]:
    """Per treatment: Assay's causal.analyse (estimate, overlap, placebo, naive difference, policy) against
    econml's LinearDML alone with the same nuisance models, fitted and asked for its average effect."""
    import warnings

    from econml.dml import LinearDML

    from core.analysis import causal
    from core.data import datasets

    frame = datasets.read_frame(lake, datasets.get(lake, "applications"))
    out = []
    for treatment in TREATMENTS:
        started = time.perf_counter()
        ours = causal.analyse(lake, "applications", treatment=treatment, outcome="defaulted",
                              exclude=["applicant_id", "applied_at"], higher_is_better=False)
        assay_seconds = time.perf_counter() - started
        data = causal.prepare(frame, treatment=treatment, outcome="defaulted", exclude=["applicant_id", "applied_at"])
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            direct = LinearDML(model_y=causal._nuisance(False, 0), model_t=causal._nuisance(data.binary, 0),
                               discrete_treatment=data.binary, cv=3, random_state=0)
            direct.fit(data.y, data.t.astype(int) if data.binary else data.t, X=data.Xn, W=data.Wn)
            direct.ate_inference(X=data.Xn)
        out.append({"treatment": treatment, "rows": ours["n"], "assay_seconds_with_checks": round(assay_seconds, 2),
                    "econml_linear_dml_alone_seconds": round(time.perf_counter() - started, 2)})
    return out


def peer(python: str, lake, run, held_out, cf_rows: int, folder: Path) -> dict:
    from core.analysis import counterfactuals
    from core.data import datasets

    frame = datasets.read_frame(lake, datasets.get(lake, "applications"), with_row_ids=True)
    columns = run.feature_names + [run.target]
    test_mask = frame["__row_id"].isin(set(int(v) for v in held_out))
    train, test = frame.loc[~test_mask, columns].dropna(), frame.loc[test_mask, columns].dropna()
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    spec = {"train": str(folder / "train.csv"), "test": str(folder / "test.csv"), "target": run.target,
            "categorical": [f["name"] for f in run.features if f["kind"] == "categorical"], "treatments": TREATMENTS,
            "vary": counterfactuals.default_vary(run), "cf_rows": cf_rows}
    done = subprocess.run([python, "-c", PEER, json.dumps(spec)], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "the peer failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-python", default="/work/venvs/rai/bin/python")
    parser.add_argument("--peer-cf-rows", type=int, default=100)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    from core import compute, training
    from core.data import demo
    from core.lake import Lake

    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    with tempfile.TemporaryDirectory() as folder:
        lake_path = Path(folder) / "lake"
        lake = Lake.open(lake_path)
        demo.build(lake, rows=args.rows, with_transactions=False)
        run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=["lightgbm"],
                             sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
        held_out = training.open_run(lake, run.run_id).held_out_ids(lake)
        lake.close()
        ours = assay_runs(lake_path, run.run_id, args.runs, env)
        lake = Lake.open(lake_path)
        causal_figures = causal_side_by_side(lake)
        lake.close()
        theirs = None
        if not args.no_peer and Path(args.peer_python).exists():
            lake = Lake.open(lake_path)
            theirs = peer(args.peer_python, lake, run, held_out, args.peer_cf_rows, Path(folder))
            lake.close()
    median = {c: round(statistics.median(r["timings"][c] for r in ours), 2) for c in ours[0]["timings"]}
    wall = round(statistics.median(r["wall"] for r in ours), 2)
    cf_rate = round(5_000 / median["counterfactuals"], 1) if median.get("counterfactuals") else None
    report = {
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, Python {platform.python_version()}",
        "load_average_at_end": os.getloadavg()[0], "threads": compute.threads(), "rows": args.rows,
        "held_out_rows": ours[0]["rows"], "runs": args.runs,
        "assay": {"components_seconds": median, "components_total": round(sum(median.values()), 2),
                  "cli_wall_seconds": wall, "counterfactual_rows_per_second": cf_rate,
                  "counterfactuals_found": ours[0]["cf"].get("counterfactuals"),
                  "walls": [round(r["wall"], 2) for r in ours]},
        "causal_per_treatment": causal_figures,
        "peer": theirs if theirs is not None else {"skipped": f"no peer python at {args.peer_python} (or --no-peer)"}}
    if theirs and "counterfactuals" in theirs:
        rate = round(theirs["cf_rows"] / theirs["counterfactuals"], 2)
        report["peer"]["counterfactual_rows_per_second"] = rate
        report["counterfactual_speedup"] = round(cf_rate / rate, 1) if cf_rate else None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
