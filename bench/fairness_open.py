"""Benchmark: the first open of the Fairness page on a saved review (the demo: 50,000 applications, a lightgbm
model, its review of the 15,000 held-out rows). Each run is a new AppTest session with Streamlit's caches
cleared, so nothing is reused from the run before; also times the core reads the page makes (the stored
results, the per-group ROC and precision-recall curves). Prints JSON with the medians.
    python bench/fairness_open.py [--rows 50000] [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from core import review, training
    from core.data import demo
    from core.lake import Lake

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.open(Path(folder) / "lake")
        demo.build(lake, rows=args.rows, with_transactions=False)
        run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=["lightgbm"],
                             sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
        made = review.create(lake, run_id=run.run_id, actor="bench")
        reads, curves = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            review.results(lake, made.review_id)
            reads.append(time.perf_counter() - start)
            start = time.perf_counter()
            review.group_curves(lake, made, "race_ethnicity")
            curves.append(time.perf_counter() - start)
        lake.close()
        os.environ["ASSAY_LAKE"] = str(Path(folder) / "lake")
        pages = []
        for _ in range(args.runs + 1):  # the first run also imports the app's modules: not counted
            st.cache_data.clear()
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
            start = time.perf_counter()
            at.switch_page("pages/fairness.py").run()
            pages.append(time.perf_counter() - start)
            assert not at.exception and at.segmented_control(key="fairness_mode").value == "A saved review"
    print(json.dumps({"benchmark": "fairness_page_first_open_on_a_saved_review", "rows": args.rows,
                      "evaluated_rows": made.rows, "runs": args.runs,
                      "page_seconds_median": round(statistics.median(pages[1:]), 3),
                      "page_seconds": [round(t, 3) for t in pages[1:]],
                      "stored_results_seconds_median": round(statistics.median(reads), 4),
                      "group_curves_seconds_median": round(statistics.median(curves), 4),
                      "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version()}))


if __name__ == "__main__":
    main()
