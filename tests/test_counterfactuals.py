"""Counterfactuals really flip the model's decision, keep to the features allowed to vary and their
permitted ranges, keep missing values, match dice-ml's semantics on a sample, and refuse bad input."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from core.analysis import counterfactuals as cf
from core.data import datasets
from core import review, training
from core.cli import main
from core.errors import AssayError

from support import credit_model, lake_state


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    lake, run = credit_model(tmp_path_factory.mktemp("cf") / "lake", rows=8_000, algorithm="lightgbm", actor="t")
    yield lake, run
    lake.close()


def test_counterfactuals_flip_the_decision_within_the_allowed_changes(model_run):
    lake, run = model_run
    result = cf.for_run(lake, run.run_id, rows=40, count=5, vary=["income", "debt", "late_payments_12m", "region"],
                        permitted={"debt": [0, 20_000]})
    model = training.load_model(lake, run)
    assert len(result["rows"]) == 40 and result["rows_without"] <= 2
    for row in result["rows"]:
        for found in row["counterfactuals"]:
            assert found["prediction"] != row["prediction"]  # the decision flips
            assert set(found["changed"]) <= {"income", "debt", "late_payments_12m", "region"}
            if "debt" in found["changed"]:
                assert 0 <= found["values"]["debt"] <= 20_000
            assert isinstance(found["values"]["age"], int)  # whole numbers stay whole
        frame = pd.DataFrame([f["values"] for f in row["counterfactuals"]])
        if len(frame):
            decided = model.predict_proba(frame)[:, run.classes.index(run.positive)] >= 0.5
            assert (decided != (row["prediction"] == run.positive)).all()  # checked again with the stored model
    assert set(result["feature_changes"]) <= {"income", "debt", "late_payments_12m", "region"}
    assert sum(result["feature_changes"].values()) >= result["counterfactuals"]


def test_missing_values_are_kept_and_rows_are_picked_by_id_or_cohort(model_run):
    lake, run = model_run
    frame = datasets.read_frame(lake, datasets.get(lake, "applications"), with_row_ids=True)
    missing_income = int(frame.loc[frame["income"].isna(), "__row_id"].iloc[0])
    result = cf.for_run(lake, run.run_id, row_ids=[missing_income, 3], count=3, vary=["debt", "late_payments_12m"])
    assert [r["row"] for r in result["rows"]] == [3, missing_income]
    with_gap = next(r for r in result["rows"] if r["row"] == missing_income)
    assert with_gap["original"]["income"] is None
    assert all(f["values"]["income"] is None for f in with_gap["counterfactuals"])  # not varied, still missing
    from core.data import cohorts

    cohorts.save(lake, "renters", dataset="applications", conditions=[cohorts.Condition("home_ownership", "==", "rent")],
                 actor="t", usecase=run.usecase)
    by_cohort = cf.for_run(lake, run.run_id, cohort="renters", rows=5, count=2)
    assert all(r["original"]["home_ownership"] == "rent" for r in by_cohort["rows"])


def test_same_semantics_as_dice_ml_on_a_sample(model_run):
    """dice-ml's random method and ours on the same rows: both valid, both within the features to vary
    and the permitted ranges; ours no less sparse and no farther."""
    import dice_ml

    lake, run = model_run
    model = training.load_model(lake, run)
    version = datasets.get(lake, "applications")
    reference = datasets.read_frame(lake, version)[run.feature_names].dropna()
    numeric = [f["name"] for f in run.features if f["kind"] == "numeric"]
    space = cf.space_from(reference, run.feature_names, numeric, cf.default_vary(run))
    rows = reference.head(4).reset_index(drop=True)
    positions, _ = cf._predictions(training.open_run(lake, run), rows)
    goals = [cf.Goal(task="classification", target_index=int(1 - p)) for p in positions]
    ours = cf.generate(model, rows, space, lambda i: goals[i], count=4)
    train = reference.copy()
    train["__y"] = cf._predictions(training.open_run(lake, run), train)[0]
    explainer = dice_ml.Dice(dice_ml.Data(dataframe=train, continuous_features=numeric, outcome_name="__y"),
                             dice_ml.Model(model=model, backend="sklearn"), method="random")
    permitted = {c: list(space.ranges[c]) for c in space.vary if c in space.ranges}
    permitted.update({c: space.categories[c] for c in space.vary if c in space.categories})
    theirs = []
    for i in range(len(rows)):
        out = explainer.generate_counterfactuals(rows.iloc[[i]], total_CFs=4, desired_class=goals[i].target_index,
                                                 features_to_vary=space.vary, permitted_range=permitted, random_seed=i,
                                                 posthoc_sparsity_algorithm="binary", verbose=False)
        theirs.append(out.cf_examples_list[0].final_cfs_df[run.feature_names].to_dict("records"))

    def measure(found):
        changed, distance = [], []
        for i, cfs in enumerate(found):
            frame = pd.DataFrame(cfs, columns=run.feature_names)
            assert goals[i].valid(model, frame).all()
            original = rows.iloc[i].to_dict()
            for candidate in cfs:
                moved = cf._changed(original, candidate, run.feature_names)
                assert set(moved) <= set(space.vary)
                assert all(space.ranges[c][0] - 1e-6 <= float(candidate[c]) <= space.ranges[c][1] + 1e-6
                           for c in moved if c in space.ranges)
                changed.append(len(moved))
                distance.append(cf._distance(original, candidate, space, moved))
        return np.mean(changed), np.mean(distance)

    our_changed, our_distance = measure(ours)
    their_changed, their_distance = measure(theirs)
    assert our_changed <= their_changed + 0.25 and our_distance <= their_distance + 0.05


def test_a_review_component_with_timings_and_the_cli(model_run):
    lake, run = model_run
    made = review.create(lake, run_id=run.run_id, actor="t", components=["counterfactuals"], cf_rows=30, cf_count=3)
    stored = review.results(lake, made.review_id)["counterfactuals"]
    assert len(stored["rows"]) == 30 and "counterfactuals" in made.timings
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "counterfactuals", "--run", run.run_id, "--rows", "1,2",
                 "--count", "2", "--vary", "debt,income"], out=out) == 0
    result = json.loads(out.getvalue())
    assert [r["row"] for r in result["rows"]] == [1, 2]
    assert {"row", "original", "counterfactuals"} <= set(result["rows"][0])


def test_bad_requests_fail_clearly_and_change_nothing(model_run):
    lake, run = model_run
    before = lake_state(lake)
    for kwargs, message in [({"vary": ["shoe_size"]}, "not features"), ({"vary": []}, "at least one"),
                            ({"row_ids": ["x"]}, "whole numbers"), ({"row_ids": [10**9]}, "no row"),
                            ({"permitted": {"debt": [5, 1]}}, "must not exceed"), ({"method": "magic"}, "Unknown method"),
                            ({"count": 0}, "1 to 50"), ({"desired_class": "maybe"}, "not a class"),
                            ({"cohort": "nope"}, "nope")]:
        with pytest.raises(AssayError, match=message):
            cf.for_run(lake, run.run_id, rows=3, **kwargs)
    assert lake_state(lake) == before
