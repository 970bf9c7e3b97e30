"""Counterfactuals, causal analysis and privacy on real public data with missing values: the Fair
affairs survey shipped with statsmodels (6,366 women, 1974), with a tenth of three columns blanked
at random (the survey itself is complete), through the CLI as a user would run them."""
from __future__ import annotations

import io
import json
import os

import numpy as np
import pandas as pd
import pytest
import statsmodels

from core.data import datasets
from core import training
from core.cli import main
from core.lake import Lake


pytestmark = pytest.mark.slow  # a full review of models trained on real data


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    frame = pd.read_csv(os.path.join(os.path.dirname(statsmodels.__file__), "datasets", "fair", "fair.csv"))
    rng = np.random.default_rng(0)
    frame["had_affair"] = np.where(frame["affairs"] > 0, "yes", "no")
    frame["has_children"] = (frame["children"] > 0).astype(int)
    frame["religious"] = frame["religious"].map({1: "not", 2: "mildly", 3: "fairly", 4: "strongly"})
    for column in ("age", "educ", "religious"):
        frame[column] = frame[column].where(rng.random(len(frame)) > 0.1)
    frame = frame.drop(columns=["affairs"])
    lake = Lake.open(tmp_path_factory.mktemp("fair") / "lake")
    datasets.ingest_frame(lake, frame, name="fair", actor="t")
    run = training.train(lake, dataset="fair", target="had_affair", actor="t", algorithms=["lightgbm"],
                         positive="yes").runs[0]
    yield lake, run
    lake.close()


def cli(lake: Lake, *args: str) -> dict:
    out = io.StringIO()
    code = main(["--lake", str(lake.config.folder), *args], out=out)
    result = json.loads(out.getvalue())
    assert code == 0, result
    return result


def test_counterfactuals_on_rows_with_missing_values(survey):
    lake, run = survey
    frame = datasets.read_frame(lake, datasets.get(lake, "fair"), with_row_ids=True)
    gaps = frame.loc[frame["educ"].isna(), "__row_id"].head(3).tolist()
    result = cli(lake, "counterfactuals", "--run", run.run_id, "--rows", ",".join(map(str, gaps)), "--count", "3",
                 "--vary", "rate_marriage,yrs_married,occupation")
    assert len(result["rows"]) == 3 and result["rows_without"] == 0
    for row in result["rows"]:
        assert row["original"]["educ"] is None
        for found in row["counterfactuals"]:
            assert found["prediction"] != row["prediction"] and found["values"]["educ"] is None


def test_causal_effect_of_children_with_its_checks(survey):
    lake, _ = survey
    result = cli(lake, "causal", "--dataset", "fair", "--treatment", "has_children", "--outcome", "had_affair",
                 "--exclude", "children")
    assert result["outcome_class"] == "yes" and result["n"] == 6366
    assert result["ci_low"] < result["ate"] < result["ci_high"]
    assert {"extreme_share", "ok"} <= set(result["overlap"]) and "passed" in result["placebo"]


def test_privacy_of_the_survey_and_its_model(survey):
    lake, run = survey
    result = cli(lake, "privacy", "--dataset", "fair", "--quasi", "age", "educ", "occupation", "--sensitive", "religious",
                 "--run", run.run_id)
    assert result["k_anonymity"]["groups"] > 10 and "l_diversity" in result["k_anonymity"]
    assert 0.4 < result["membership_inference"]["auc"] < 0.7
