"""Profile cost against table width: 50-row CSVs of 1,000 / 3,000 / 10,000 columns, and the
50,000-row demo `applications` table (to show the narrow case did not get slower).

Each profile runs in its own process (`python -m core profile` through core.cli.main), whose
peak RSS is read from /proc/self/status (VmHWM) at the end. Prints one JSON object.

    python bench/profile_wide.py [--columns 1000,3000,10000] [--folder /tmp/assay_bench_wide] [--repeat 3]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = 50


def peak_rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one(lake: str, dataset: str, repeat: int) -> None:
    """In a child process: profile `dataset` `repeat` times through the CLI's own entry point."""
    sys.path.insert(0, str(ROOT))
    from core.cli import main

    seconds = []
    for _ in range(repeat):
        out = io.StringIO()
        started = time.perf_counter()
        code = main(["--lake", lake, "profile", dataset], out=out)
        seconds.append(time.perf_counter() - started)
        answer = json.loads(out.getvalue())
        if code != 0:
            print(json.dumps({"error": answer.get("error")}))
            return
    print(json.dumps({"columns": len(answer["columns"]), "rows": answer["rows"],
                      "seconds": sorted(seconds)[len(seconds) // 2], "peak_rss_mb": round(peak_rss_mb())}))


def child(lake: Path, dataset: str, repeat: int = 1) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--one", str(lake), dataset, str(repeat)], cwd=ROOT,
                          capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli(lake: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "core", "--lake", str(lake), *args], cwd=ROOT, check=True,
                   capture_output=True)


def wide_csv(path: Path, columns: int) -> None:
    rng = random.Random(columns)
    lines = [",".join(f"c{i}" for i in range(columns))]
    lines += [",".join(str(rng.randint(0, 99)) for _ in range(columns)) for _ in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        one(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--columns", default="1000,3000,10000")
    parser.add_argument("--folder", default="/tmp/assay_bench_wide")
    parser.add_argument("--repeat", type=int, default=3, help="profiles per table; the median is printed")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    lake = folder / "lake"
    results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "wide": []}
    for columns in [int(c) for c in args.columns.split(",")]:
        path = folder / f"wide{columns}.csv"
        wide_csv(path, columns)
        cli(lake, "ingest", str(path), "--name", f"wide{columns}")
        results["wide"].append({"csv_bytes": path.stat().st_size, **child(lake, f"wide{columns}", repeat=args.repeat)})
    demo_lake = folder / "demo"
    if not (demo_lake / "catalog.sqlite").exists():
        cli(demo_lake, "demo", "--rows", "50000", "--no-transactions")
    results["applications_50k"] = child(demo_lake, "applications", repeat=max(5, args.repeat))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
