"""Causal analysis: the demo's planted effect lies in the reported interval and its heterogeneity
points the right way; the IHDP trial shows a positive effect of the program; every estimate
carries overlap and placebo checks; bad input is refused and changes nothing."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from core.analysis import causal
from core.data import datasets, demo
from core.cli import main
from core.errors import InputError
from core.lake import Lake

from support import lake_state


@pytest.fixture(scope="module")
def credit(tmp_path_factory):
    lake = Lake.open(tmp_path_factory.mktemp("causal") / "lake")
    demo.build(lake, rows=20_000, with_transactions=False)
    demo.ingest_ihdp(lake)
    yield lake
    lake.close()


@pytest.mark.parametrize("method", ["linear", "dr"])
def test_the_planted_effect_is_inside_the_interval_and_younger_applicants_gain_more(credit, method):
    truth = demo.truths(credit)
    result = causal.analyse(credit, "applications", treatment="counselling", outcome="defaulted", method=method,
                            exclude=["applicant_id", "applied_at"], heterogeneity=["age", "income"],
                            higher_is_better=False)
    assert result["ci_low"] <= truth["true_ate"] <= result["ci_high"], (result["ate"], truth["true_ate"])
    assert result["p_value"] < 0.001
    assert result["naive_difference"] > result["ci_high"]  # confounded: counselling goes to riskier applicants
    age = next(f for f in result["by_feature"] if f["feature"] == "age")["bins"]
    assert age[0]["effect"] < age[-1]["effect"] - 0.03  # the youngest quintile gains most (lowers default most)
    assert result["overlap"]["kind"] == "propensity" and result["overlap"]["extreme_share"] < 0.05
    assert result["placebo"]["passed"] and abs(result["placebo"]["effect"]) < 0.02
    policy = result["policy"]
    assert policy["gain_policy"] >= policy["gain_treat_all"] - 1e-9 and policy["gain_policy"] > 0
    assert len(result["individual"]["sample"]) == 2_000


def test_the_forest_and_a_costly_treatment(credit):
    result = causal.analyse(credit, "applications", treatment="counselling", outcome="defaulted", method="forest",
                            exclude=["applicant_id", "applied_at"], heterogeneity=["age"], higher_is_better=False,
                            treatment_cost=0.09)
    assert result["ate"] < 0 and result["ci_low"] < result["ate"] < result["ci_high"]
    policy = result["policy"]
    assert 0 < policy["treated_share"] < 1  # at this cost only the young are worth counselling
    assert policy["gain_policy"] > max(policy["gain_treat_all"], 0.0)
    treated = [r for r in policy["rules"] if r["treat"]]
    assert treated and all("age <=" in r["when"] for r in treated)


def test_ihdp_program_raises_the_childs_score_through_the_cli(credit):
    naive = causal.analyse(credit, "ihdp", treatment="treat", outcome="iqsb_36")
    # ncdctt (days in the centre) and dose400 only exist under treatment: adjusting for them leaves no overlap
    assert naive["overlap"]["extreme_share"] > 0.3 and any("propensity" in w for w in naive["warnings"])
    out = io.StringIO()
    assert main(["--lake", str(credit.config.folder), "causal", "--dataset", "ihdp", "--treatment", "treat",
                 "--outcome", "iqsb_36", "--exclude", "ncdctt", "dose400"], out=out) == 0
    result = json.loads(out.getvalue())
    assert result["ate"] > 0 and result["ci_low"] > 0
    assert {"ate", "ci_low", "ci_high", "p_value", "n", "method", "naive_difference", "overlap", "placebo"} <= set(result)
    assert result["overlap"]["kind"] == "propensity" and "histogram" not in result["overlap"]


def test_missing_values_continuous_treatments_and_multiclass_outcomes(lake):
    rng = np.random.default_rng(3)
    n = 3_000
    x = rng.normal(size=n)
    dose = 0.5 * x + rng.normal(size=n)
    y = 2.0 * dose + x + rng.normal(size=n)
    grade = np.where(y > 2, "high", np.where(y > -1, "mid", "low"))
    frame = pd.DataFrame({"x": np.where(rng.random(n) < 0.1, np.nan, x), "group": rng.choice(["a", "b", None], n),
                          "dose": dose, "y": y, "grade": grade})
    datasets.ingest_frame(lake, frame, name="doses", actor="t")
    result = causal.analyse(lake, "doses", treatment="dose", outcome="y", exclude=["grade"])  # grade is made from y
    assert not result["binary_treatment"] and abs(result["ate"] - 2.0) < 0.1  # 10% of x missing: imputed, a little bias
    assert result["overlap"]["kind"] == "continuous"
    classed = causal.analyse(lake, "doses", treatment="dose", outcome="grade", outcome_class="high", exclude=["y"])
    assert classed["ate"] > 0 and classed["outcome_class"] == "high"
    before = lake_state(lake)
    for kwargs, message in [({"treatment": "dose", "outcome": "grade"}, "name the one to analyse"),
                            ({"treatment": "nope", "outcome": "y"}, "not in the data"),
                            ({"treatment": "dose", "outcome": "y", "method": "dr"}, "binary treatment"),
                            ({"treatment": "dose", "outcome": "y", "method": "magic"}, "Unknown method"),
                            ({"treatment": "y", "outcome": "y"}, "different columns"),
                            ({"treatment": "dose", "outcome": "y", "confounders": ["shoe"]}, "shoe")]:
        with pytest.raises(InputError, match=message):
            causal.analyse(lake, "doses", **kwargs)
    assert lake_state(lake) == before


def test_causal_and_privacy_as_review_components_through_the_cli(credit):
    from core import training

    run = training.train(credit, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"],
                         sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
    out = io.StringIO()
    assert main(["--lake", str(credit.config.folder), "review", "--run", run.run_id, "--components",
                 "counterfactuals,causal,privacy", "--cf-rows", "10", "--cf-count", "2", "--treatments", "counselling",
                 "--lower-is-better", "--quasi", "age", "sex", "region"], out=out) == 0
    made = json.loads(out.getvalue())
    assert set(made["timings"]) == {"counterfactuals", "causal", "privacy"}
    effect = made["components"]["causal"][0]
    assert effect["treatment"] == "counselling" and effect["ci_low"] < effect["ate"] < effect["ci_high"] < 0
    assert made["components"]["counterfactuals"]["rows"] == 10
    assert "k_anonymity" in made["components"]["privacy"] and "membership_inference" in made["components"]["privacy"]
    out = io.StringIO()
    assert main(["--lake", str(credit.config.folder), "review", "--run", run.run_id, "--components", "causal"],
                out=out) == 2
    assert "--treatments" in json.loads(out.getvalue())["error"]
