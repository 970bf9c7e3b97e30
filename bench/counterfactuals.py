"""Benchmark: 10 counterfactuals for each of 5,000 held-out rows of a census-sized table (the demo's
50,000 applications, 12 features) with a LightGBM pipeline, Assay's batched search against a plain
dice-ml loop (method "random", the same model, rows, features to vary and ranges). dice-ml runs on
a sample of rows (--dice-rows) and its rate is extrapolated; it also refuses missing values, so
the compared rows are complete ones. Prints JSON with the speed ratio and the quality of both.
    python bench/counterfactuals.py [--rows 5000] [--dice-rows 40] [--count 10]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def quality(model, queries: pd.DataFrame, found: list[list[dict]], space, goals, features: list[str]) -> dict:
    """Validity (each counterfactual gets the desired decision), sparsity (features changed), proximity
    (range-normalized distance), diversity (distinct sets of changed features per row), and whether
    they kept to the features to vary and the permitted ranges."""
    from core.analysis import counterfactuals as cf

    changed, distance, valid, kept, diverse, found_any = [], [], [], True, [], 0
    for i, cfs in enumerate(found):
        original = queries.iloc[i].to_dict()
        if cfs:
            found_any += 1
            frame = pd.DataFrame(cfs, columns=features)
            valid += list(goals[i].valid(model, frame))
        sets = set()
        for candidate in cfs:
            moved = cf._changed(original, candidate, features)
            changed.append(len(moved))
            distance.append(cf._distance(original, candidate, space, moved))
            sets.add(tuple(moved))
            kept &= all(c in space.vary for c in moved)
            kept &= all(space.ranges[c][0] - 1e-9 <= float(candidate[c]) <= space.ranges[c][1] + 1e-9
                        for c in moved if c in space.ranges)
        diverse.append(len(sets))
    return {"rows_with_counterfactuals": found_any, "of_rows": len(found), "valid_share": float(np.mean(valid)) if valid else None,
            "mean_features_changed": float(np.mean(changed)) if changed else None,
            "mean_normalized_distance": float(np.mean(distance)) if distance else None,
            "mean_distinct_change_sets": float(np.mean(diverse)), "kept_to_vary_and_ranges": bool(kept)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--dice-rows", type=int, default=40)
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    import dice_ml

    from core.analysis import counterfactuals as cf
    from core.data import datasets, demo
    from core import training
    from core.lake import Lake

    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.open(folder)
        demo.build(lake, rows=50_000, with_transactions=False)
        run = training.train(lake, dataset="applications", target="defaulted", actor="bench", algorithms=["lightgbm"],
                             sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
        model = training.load_model(lake, run)
        version = datasets.get(lake, "applications")
        where, params = training.held_out_filter(run.run_id)
        held = datasets.read_frame(lake, version, where=where, params=params)[run.feature_names]
        where, params = training.held_out_filter(run.run_id, held_out=False)
        reference = datasets.read_frame(lake, version, where=where, params=params)[run.feature_names]
        queries = held.dropna().head(args.rows).reset_index(drop=True)
        numeric = [f["name"] for f in run.features if f["kind"] == "numeric"]
        space = cf.space_from(reference.dropna(), run.feature_names, numeric, cf.default_vary(run))
        positions, _ = cf._predictions(training.open_run(lake, run), queries)
        goals = [cf.Goal(task="classification", target_index=int(1 - p)) for p in positions]
        started = time.perf_counter()
        ours = cf.generate(model, queries, space, lambda i: goals[i], count=args.count, seed=0)
        ours_seconds = time.perf_counter() - started

        train = reference.dropna().copy()
        train["__y"] = cf._predictions(training.open_run(lake, run), train)[0]
        data = dice_ml.Data(dataframe=train, continuous_features=numeric, outcome_name="__y")
        explainer = dice_ml.Dice(data, dice_ml.Model(model=model, backend="sklearn"), method="random")
        permitted = {c: list(space.ranges[c]) for c in space.vary if c in space.ranges}
        permitted.update({c: space.categories[c] for c in space.vary if c in space.categories})
        sample = queries.head(args.dice_rows)
        theirs = []
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(len(sample)):
                try:
                    result = explainer.generate_counterfactuals(sample.iloc[[i]], total_CFs=args.count,
                                                                desired_class=goals[i].target_index,
                                                                features_to_vary=space.vary, permitted_range=permitted,
                                                                random_seed=i)
                    frame = result.cf_examples_list[0].final_cfs_df
                    theirs.append([] if frame is None else frame[run.feature_names].to_dict("records"))
                except Exception:
                    theirs.append([])
        dice_seconds = time.perf_counter() - started
        dice_rate = len(sample) / dice_seconds
        ours_rate = len(queries) / ours_seconds
        lake.close()
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "rows": len(queries), "counterfactuals_per_row": args.count, "features": len(run.feature_names),
        "features_to_vary": space.vary,
        "assay": {"seconds": round(ours_seconds, 2), "rows_per_second": round(ours_rate, 2),
                  "quality_on_all_rows": quality(model, queries, ours, space, goals, run.feature_names),
                  "quality_on_dice_sample": quality(model, sample, ours[:len(sample)], space, goals, run.feature_names)},
        "dice_ml_random_loop": {"rows": len(sample), "seconds": round(dice_seconds, 2), "rows_per_second": round(dice_rate, 2),
                                "extrapolated_seconds_for_all_rows": round(len(queries) / dice_rate, 1),
                                "quality": quality(model, sample, theirs, space, goals, run.feature_names)},
        "speedup": round(ours_rate / dice_rate, 1)}, indent=2))


if __name__ == "__main__":
    main()
