"""Benchmark: `audit verify` (the chain and its cross-check against DuckLake's snapshots) on a lake
with N audit entries, each written by its own Lake.write (so N snapshots). Writing is not timed.
Also times `registry.approval_status`'s share, `audit.verified_signoffs` (first call, then cached). Prints JSON.
    python bench/audit_verify.py [--entries 1000]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args()
    from core.lake import audit
    from core.lake import Lake

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.open(Path(folder) / "lake")
        for i in range(args.entries):
            lake.write(lambda cur, i=i: cur.execute("INSERT INTO lake.assay.settings VALUES (?, 'v', now())", [f"k{i}"]),
                       actor="bench", action="save", message=f"save setting k{i}", tag=None)
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            result = audit.verify(lake)
            timings.append(time.perf_counter() - start)
        signoffs = []
        for _ in range(2):  # the second call finds the check of this snapshot already done
            start = time.perf_counter()
            audit.verified_signoffs(lake, "m@1")
            signoffs.append(round(time.perf_counter() - start, 3))
        lake.close()
    print(json.dumps({"entries": result["entries"], "snapshots_checked": result["snapshots"], "ok": result["ok"],
                      "verify_seconds": round(min(timings), 3), "verify_seconds_all": [round(t, 3) for t in timings],
                      "verified_signoffs_seconds_first_then_cached": signoffs, "python": platform.python_version(),
                      "cpus": __import__("os").cpu_count()}))


if __name__ == "__main__":
    main()
