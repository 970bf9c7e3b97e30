"""Benchmark: `monitor` (CBPE, multivariate and per-feature drift, chunks of 100,000 rows) against batch scoring
of the same rows, each in its own process (peak RSS is the job's), medians of --repeat runs; then NannyML's CBPE
(nannyml 0.13.1 in its own virtual environment, /work/venvs/nannyml) on the same chunks of the same scores, the
two estimates side by side with the realized ROC AUC.

The model: LightGBM on a demo of --model-rows applications with half held out (so 500,000 reference rows make
5 reference chunks of 100,000). The current sets: fresh applications from the demo's generator, --rows each.
    python bench/monitoring.py [--rows 1000000,2000000] [--repeat 2] [--model-rows 1000000] [--chunk 100000]
                               [--lake FOLDER]
    python bench/monitoring.py --multiclass     # multiclass CBPE beside NannyML's only
--lake builds the lake in FOLDER once and keeps it: a later run with the same FOLDER reuses the model and
the current sets already there (and adds the missing ones), so only the timed jobs run again.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NANNYML = Path(os.environ.get("NANNYML_PYTHON", "/work/venvs/nannyml/bin/python"))
CHUNK = int(os.environ.get("BENCH_CHUNK", 100_000))  # --chunk sets it for the children too


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def child(folder: str, job: str, current: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from core import monitoring
    from core.lake import Lake
    from core.operations import scoring

    lake = Lake.open(folder)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime  # CPU time says more than wall time on a shared machine
    started = time.perf_counter()
    if job == "score":
        done = scoring.score(lake, "bench@champion", dataset=current, actor="bench", output=f"scores_{current}")
        extra = {"rows": done.rows}
    else:
        result = monitoring.monitor(lake, "bench@champion", current=current, actor="bench", chunk_size=CHUNK)
        extra = {"rows": sum(c["rows"] for c in result["chunks"]), "chunks": len(result["chunks"]),
                 "alerts": result["alerts"], "report_id": result["report_id"],
                 "estimated_roc_auc": [round(c["estimated"]["roc_auc"]["value"], 4) for c in result["chunks"]],
                 "realized_roc_auc": [round(c["realized"]["roc_auc"], 4) for c in result["chunks"]]}
    used = resource.getrusage(resource.RUSAGE_SELF)
    return {"job": job, "current": current, "seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(used.ru_utime + used.ru_stime - cpu_before, 2), "peak_rss_mb": peak_rss_mb(), **extra}


def run_child(folder: str, job: str, current: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", folder, job, current], capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(folder: str, model_rows: int, sizes: list[int]) -> None:
    sys.path.insert(0, str(ROOT))
    from core import training
    from core.data import datasets, demo
    from core.governance import registry
    from core.lake import Lake

    lake = Lake.open(folder)
    if "bench" not in [m["name"] for m in registry.list_models(lake)]:
        demo.build(lake, rows=model_rows, with_transactions=False)
        run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=["lightgbm"],
                             exclude=["applicant_id", "applied_at"], sensitive=["sex", "race_ethnicity"],
                             test_size=0.5).runs[0]
        registry.register(lake, run.run_id, name="bench", actor="bench", alias="champion")
    known = {d.name for d in datasets.latest(lake)}
    for size in [s for s in sizes if f"current_{s}" not in known]:
        def chunks(size=size):
            for begin in range(0, size, 500_000):
                frame, _ = demo.applications(min(500_000, size - begin), seed=1_000 + begin // 500_000,
                                             start_id=100_000_000 + begin)
                yield frame
        datasets.ingest_chunks(lake, chunks, name=f"current_{size}", actor="bench", usecase=demo.USECASE,
                               source="bench", description="fresh applications")
    lake.close()


def export_for_nannyml(folder: str, current: str, target: Path) -> None:
    """The reference's and the current set's scores, decisions and outcomes, in chunk order (row id)."""
    sys.path.insert(0, str(ROOT))
    from core import training
    from core.data import datasets
    from core.governance import registry
    from core.lake import Lake

    lake = Lake.open(folder)
    version, trained = registry.open_version(lake, "bench@champion")
    scored = training.score_run(lake, trained)
    reference = scored.rows.sort_values("__row_id")
    reference = reference.rename(columns={"score": "p", "positive_predicted": "pred", "truth_positive": "y"})
    reference[["p", "pred", "y"]].to_parquet(target / "reference.parquet")
    scores = datasets.read_frame(lake, datasets.get(lake, f"scores_{current}"))
    labels = datasets.read_frame(lake, datasets.get(lake, current), with_row_ids=True)[["__row_id", "defaulted"]]
    joined = scores.merge(labels, left_on="row_id", right_on="__row_id").sort_values("row_id")
    joined["pred"] = (joined["prediction"].astype(str) == str(trained.run.positive)).astype(int)
    joined["y"] = (joined["defaulted"].astype(str) == str(trained.run.positive)).astype(int)
    joined.rename(columns={"probability": "p"})[["p", "pred", "y"]].to_parquet(target / "analysis.parquet")
    lake.close()


NANNYML_SCRIPT = """
import json, sys, time
import pandas as pd, nannyml as nml
folder, chunk = sys.argv[1], int(sys.argv[2])
reference = pd.read_parquet(folder + "/reference.parquet")
analysis = pd.read_parquet(folder + "/analysis.parquet")
started = time.perf_counter()
cbpe = nml.CBPE(problem_type="classification_binary", y_pred_proba="p", y_pred="pred", y_true="y",
                metrics=["roc_auc"], chunk_size=chunk)
cbpe.fit(reference)
frame = cbpe.estimate(analysis.drop(columns=["y"])).filter(period="analysis").to_df()
seconds = time.perf_counter() - started
print(json.dumps({"seconds": round(seconds, 2), "nannyml": nml.__version__, "pandas": pd.__version__,
                  "estimated_roc_auc": [round(v, 4) for v in frame[("roc_auc", "value")].tolist()],
                  "lower": [round(v, 4) for v in frame[("roc_auc", "lower_confidence_boundary")].tolist()],
                  "upper": [round(v, 4) for v in frame[("roc_auc", "upper_confidence_boundary")].tolist()]}))
"""


def nannyml_side_by_side(folder: str, current: str, ours: dict) -> dict:
    with tempfile.TemporaryDirectory() as exported:
        export_for_nannyml(folder, current, Path(exported))
        out = subprocess.run([str(NANNYML), "-c", NANNYML_SCRIPT, exported, str(CHUNK)], capture_output=True, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    if out.returncode:
        return {"error": out.stderr[-1500:]}
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    pairs = list(zip(ours["estimated_roc_auc"], theirs["estimated_roc_auc"], ours["realized_roc_auc"]))
    return {"nannyml": theirs["nannyml"], "nannyml_seconds": theirs["seconds"],
            "chunks": [{"chunk": i, "assay": a, "nannyml": n, "realized": r} for i, (a, n, r) in enumerate(pairs)],
            "max_abs_difference": round(max(abs(a - n) for a, n, _ in pairs), 4),
            "assay_mean_abs_error": round(statistics.mean(abs(a - r) for a, _, r in pairs), 4),
            "nannyml_mean_abs_error": round(statistics.mean(abs(n - r) for _, n, r in pairs), 4)}


NANNYML_MULTICLASS = """
import json, sys
import pandas as pd, nannyml as nml
folder, chunk = sys.argv[1], int(sys.argv[2])
reference = pd.read_parquet(folder + "/reference.parquet")
analysis = pd.read_parquet(folder + "/analysis.parquet")
classes = [c[2:] for c in reference.columns if c.startswith("p_")]
cbpe = nml.CBPE(problem_type="classification_multiclass", y_pred_proba={c: "p_" + c for c in classes}, y_pred="pred",
                y_true="y", metrics=["roc_auc", "accuracy"], chunk_size=chunk)
cbpe.fit(reference)
frame = cbpe.estimate(analysis.drop(columns=["y"])).filter(period="analysis").to_df()
print(json.dumps({m: [round(v, 4) for v in frame[(m, "value")].tolist()] for m in ("roc_auc", "accuracy")}))
"""


def multiclass_side_by_side(rows: int = 40_000, current_rows: int = 20_000, chunk: int = 2_000) -> dict:
    """Multiclass CBPE, Assay's and NannyML's, on the demo's employment (five classes, partly told by age; a
    LightGBM model on `rows` applications, half held out; fresh applications as the current set), chunk by chunk
    beside the realized."""
    sys.path.insert(0, str(ROOT))
    from core import monitoring, training
    from core.data import datasets, demo
    from core.governance import registry
    from core.lake import Lake

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.open(Path(folder) / "lake")
        demo.build(lake, rows=rows, with_transactions=False)
        run = training.train(lake, dataset="applications", target="employment", actor="bench",
                             algorithms=["lightgbm"], exclude=["applicant_id", "applied_at", "defaulted"],
                             test_size=0.5).runs[0]
        registry.register(lake, run.run_id, name="homes", actor="bench", alias="champion")
        fresh, _ = demo.applications(current_rows, seed=4_242, start_id=50_000_000)
        datasets.ingest_frame(lake, fresh, name="fresh", actor="bench", usecase=demo.USECASE)
        ours = monitoring.monitor(lake, "homes@champion", current="fresh", actor="bench", chunk_size=chunk,
                                  metrics=["roc_auc", "accuracy"])
        _, trained = registry.open_version(lake, "homes@champion")
        held = training.score_run(lake, trained).frame.sort_values("__row_id")
        current = datasets.read_frame(lake, datasets.get(lake, "fresh"), with_row_ids=True).sort_values("__row_id")
        for name, frame in (("reference", held), ("analysis", current)):
            proba = trained.model.predict_proba(frame[trained.run.feature_names])
            out = pd.DataFrame({f"p_{c}": proba[:, i] for i, c in enumerate(trained.run.classes)})
            out["pred"] = [str(v) for v in trained.predicted_labels(proba)]
            out["y"] = frame[trained.run.target].astype(str).to_numpy()
            out.to_parquet(Path(folder) / f"{name}.parquet")
        lake.close()
        done = subprocess.run([str(NANNYML), "-c", NANNYML_MULTICLASS, folder, str(chunk)], capture_output=True,
                              text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode:
        return {"error": done.stderr[-1500:]}
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    out = {"classes": [str(c) for c in trained.run.classes], "chunk_rows": chunk, "chunks": []}
    for i, c in enumerate(ours["chunks"]):
        out["chunks"].append({m: {"assay": round(c["estimated"][m]["value"], 4), "nannyml": theirs[m][i],
                                  "realized": round(c["realized"][m], 4)} for m in ("roc_auc", "accuracy")})
    for m in ("roc_auc", "accuracy"):
        out[f"{m}_max_abs_difference"] = round(max(abs(c[m]["assay"] - c[m]["nannyml"]) for c in out["chunks"]), 4)
        out[f"{m}_assay_mean_abs_error"] = round(statistics.mean(abs(c[m]["assay"] - c[m]["realized"])
                                                                 for c in out["chunks"]), 4)
    return out


def main() -> None:
    global CHUNK
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="1000000,2000000", help="comma-separated sizes of the current sets")
    parser.add_argument("--model-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=CHUNK, help="rows per chunk (the model's held-out half must make 5)")
    parser.add_argument("--lake", help="a folder to build the lake in and keep (reused when already built)")
    parser.add_argument("--no-nannyml", action="store_true", help="skip NannyML's side by side")
    parser.add_argument("--multiclass", action="store_true", help="only multiclass CBPE beside NannyML's, on the demo")
    parser.add_argument("--child", nargs=3, metavar=("FOLDER", "JOB", "CURRENT"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    if args.multiclass:
        print(json.dumps(multiclass_side_by_side(), indent=2))
        return
    sizes = [int(s) for s in args.rows.split(",")]
    CHUNK = args.chunk
    os.environ["BENCH_CHUNK"] = str(args.chunk)
    folder = args.lake or tempfile.mkdtemp(prefix="bench-monitoring-")
    started = time.perf_counter()
    build(folder, args.model_rows, sizes)
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "model_rows": args.model_rows, "chunk_rows": CHUNK, "repeat": args.repeat,
              "build_seconds": round(time.perf_counter() - started, 1), "sizes": []}
    for size in sizes:
        current = f"current_{size}"
        runs = {"score": [], "monitor": []}
        for _ in range(args.repeat):
            for job in ("score", "monitor"):
                runs[job].append(run_child(folder, job, current))
        median = {job: statistics.median(r["seconds"] for r in done) for job, done in runs.items()}
        entry = {"rows": size, "score_seconds": median["score"], "monitor_seconds": median["monitor"],
                 "monitor_over_score": round(median["monitor"] / median["score"], 2),
                 "score_peak_rss_mb": max(r["peak_rss_mb"] for r in runs["score"]),
                 "monitor_peak_rss_mb": max(r["peak_rss_mb"] for r in runs["monitor"]),
                 "runs": {job: [r["seconds"] for r in done] for job, done in runs.items()},
                 "cpu_seconds": {job: statistics.median(r.get("cpu_seconds", 0) for r in done) for job, done in runs.items()},
                 "cpu_runs": {job: [r["cpu_seconds"] for r in done] for job, done in runs.items()},
                 "chunks": runs["monitor"][-1]["chunks"], "alerts": runs["monitor"][-1]["alerts"]}
        if NANNYML.exists() and size == sizes[0] and not args.no_nannyml:
            entry["cbpe_vs_nannyml"] = nannyml_side_by_side(folder, current, runs["monitor"][-1])
        entry["monitor_over_score_cpu"] = round(entry["cpu_seconds"]["monitor"] / entry["cpu_seconds"]["score"], 2)
        report["sizes"].append(entry)
        print(json.dumps(entry), file=sys.stderr, flush=True)
    if not args.lake:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
