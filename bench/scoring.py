"""Benchmark: batch scoring of the demo's applications (1M rows by default) with a registered
LightGBM model, embedded (DuckDB record batches) and on Dask (a local cluster), each in its own
process so peak RSS is the job's; a plain `predict_proba` of the same pipeline on the same rows
already in memory for the ratio; and the endpoint's latency for single-row requests. Prints JSON.
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
    from core.operations import scoring
    from core.lake import Lake

    lake = Lake.open(folder)
    if engine == "plain":
        return plain(lake)
    if engine == "endpoint":
        return endpoint(lake)
    started = time.perf_counter()
    job = scoring.score(lake, "bench@champion", dataset="applications", actor="bench", engine=engine)
    return {"engine": engine, "rows": job.rows, "seconds": round(time.perf_counter() - started, 2),
            "rows_per_second": round(job.rows / (time.perf_counter() - started)),
            "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: on Linux that keeps the parent's peak from
    before the fork, which here would be the demo build's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def plain(lake) -> dict:
    """The same model's predict_proba on the same rows, read into memory first (not timed)."""
    from core.data import datasets
    from core.governance import registry
    from core import training

    version = registry.get(lake, "bench@champion")
    run = training.get(lake, version.run_id)
    model = training.load_model(lake, run)
    frame = datasets.read_frame(lake, datasets.get(lake, "applications"))[run.feature_names]
    started = time.perf_counter()
    model.predict_proba(frame)
    seconds = time.perf_counter() - started
    return {"engine": "plain predict_proba (rows in memory)", "rows": len(frame), "seconds": round(seconds, 2),
            "rows_per_second": round(len(frame) / seconds), "peak_rss_mb": peak_rss_mb()}


def endpoint(lake, requests: int = 500) -> dict:
    """Single-row requests through the HTTP stack (Starlette's test client, in process)."""
    import numpy as np
    from starlette.testclient import TestClient

    from core.data import datasets
    from core.governance import registry
    from core.operations import serve
    from core import training

    run = training.get(lake, registry.get(lake, "bench@champion").run_id)
    rows = datasets.read_frame(lake, datasets.get(lake, "applications"), limit=requests)[run.feature_names]
    payloads = [{"rows": [{k: (None if isinstance(v, float) and np.isnan(v) else (v.item() if hasattr(v, "item") else v))
                           for k, v in row.items()}]} for row in rows.to_dict("records")]
    latencies = []
    with TestClient(serve.app(serve.Endpoint(lake, "bench@champion", "bench"))) as client:
        for payload in payloads:
            started = time.perf_counter()
            assert client.post("/predict", json=payload).status_code == 200
            latencies.append((time.perf_counter() - started) * 1000)
    return {"engine": "endpoint", "requests": requests, "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2),
            "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "ENGINE"))
    parser.add_argument("--engines", default="embedded,dask,plain,endpoint",
                        help="comma-separated: embedded, dask, plain, endpoint")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    sys.path.insert(0, str(ROOT))
    from core.data import demo
    from core.governance import registry
    from core import training
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
                   for engine in args.engines.split(",")]
    speeds = {r["engine"].split()[0]: r.get("rows_per_second") for r in results}
    ratio = round(speeds["plain"] / speeds["embedded"], 2) if speeds.get("plain") and speeds.get("embedded") else None
    print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
                      "applications": args.rows, "jobs": results,
                      "plain_over_embedded_speed": ratio}, indent=2))


if __name__ == "__main__":
    main()
