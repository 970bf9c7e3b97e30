"""Charts that read, and the state behind them: per-group curves and the SHAP summary read from a review's
stored rows, chart specs that never cut labels or squeeze bars, reference-vs-current distributions in drift
reports, promotion that moves the challenger alias, the lifecycle's count of reviewed runs, and the
accounts an admin manages."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from support import credit_model
from core import review
from core.errors import InputError
from core.review_views import charts


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    lake, run = credit_model(tmp_path_factory.mktemp("charts") / "lake", rows=3_000, algorithm="lightgbm")
    made = review.create(lake, run_id=run.run_id, actor="t", components=["overview", "explain", "fairness"])
    yield lake, run, made
    lake.close()


def test_group_curves_give_each_groups_stored_auc(reviewed):
    lake, run, made = reviewed
    stored = review.results(lake, made.review_id)["overview"]["by_feature"]
    for column in ("sex", "race_ethnicity"):
        curves = review.group_curves(lake, made, column)
        areas = curves[curves["curve"] == "roc"].groupby("group")["auc"].first()
        expected = {f"{column} = {g['group']}": g["roc_auc"] for g in stored[column] if g.get("roc_auc") is not None}
        assert set(areas.index) == set(expected)  # every group with both classes, none other
        for group, area in expected.items():
            assert areas[group] == pytest.approx(area, abs=1e-9)
        roc = curves[curves["curve"] == "roc"]
        assert roc["x"].between(0, 1).all() and roc["y"].between(0, 1).all()
        assert (roc.groupby("group")["x"].agg(["first", "last"]).to_numpy() == [0, 1]).all()  # ends kept when thinned


def test_group_curves_refuse_a_column_of_many_values(reviewed):
    lake, _, made = reviewed
    with pytest.raises(InputError, match="at most 12 groups"):
        review.group_curves(lake, made, "income")


def test_shap_summary_points_are_the_stored_shap_values(reviewed):
    lake, run, made = reviewed
    features = ["income", "employment"]
    points = review.shap_summary(lake, made, features, sample=200)
    assert len(points) == 2 * 200
    with lake.reading() as cur:
        shap = cur.execute(f"SELECT * FROM {made.shap_table}").df()
    for feature in features:
        mine = points[points["feature"] == feature]
        assert set(np.round(mine["shap"], 9)) <= set(np.round(shap[feature], 9))
    assert points.loc[points["feature"] == "income", "rank"].dropna().between(0, 1).all()
    assert points.loc[points["feature"] == "employment", "rank"].isna().all()  # categories have no low or high


def test_bar_charts_size_by_bar_and_never_cut_labels():
    groups = pd.DataFrame({"group": [f"race_ethnicity = Group {g}" for g in "ABCDE"], "selection_rate": [.3] * 5,
                           "tpr": [.6] * 5, "fpr": [.1] * 5, "fnr": [.4] * 5})
    spec = charts.group_rates(groups, over="race_ethnicity", threshold=0.5).to_dict()
    assert spec["height"] == {"step": 13, "for": "offset"}  # a fixed height squeezed few groups to pixels
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == 0
    importance = charts.importance(pd.DataFrame({"feature": ["credit_history_months"], "mean_abs_shap": [0.8]})).to_dict()
    assert importance["height"] == {"step": 24} and importance["encoding"]["y"]["axis"]["labelLimit"] == 0


def test_threshold_sweep_runs_along_the_threshold_axis():
    sweep = pd.DataFrame({"threshold": [0.1, 0.5, 0.9], "accuracy": [.5, .7, .6], "selection_rate": [.8, .3, .1],
                          "selection_rate_ratio": [.99, .9, .7], "tpr_ratio": [1, .95, .8], "fpr_ratio": [.98, .9, .6]})
    spec = charts.threshold_sweep(sweep, by="sex", current=0.5).to_dict()
    lines = spec["layer"][0]
    assert lines["encoding"]["x"]["field"] == "threshold" and lines["mark"]["type"] == "line"
    assert not any(layer["mark"] == "text" or (isinstance(layer["mark"], dict) and layer["mark"]["type"] == "text")
                   for layer in spec["layer"])  # no labels on the points to overlap
    assert spec["datasets"][spec["layer"][2]["data"]["name"]] == [{"x": 0.5}]  # the threshold in use


def test_mitigation_axes_show_the_tradeoff_at_its_size():
    points = pd.DataFrame({"label": ["m"] * 2, "constraint": ["dp"] * 2, "side": ["before", "after"],
                           "accuracy": [0.7712, 0.7716], "disparity": [0.0401, 0.0121]})
    spec = charts.mitigation_tradeoff(points).to_dict()
    low, high = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    assert high - low >= 0.1 - 1e-12 and low <= 0.7712 and high >= 0.7716
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"][0] == 0


def test_drift_trend_names_batches_and_dates():
    trend = pd.DataFrame({"created_at": pd.to_datetime(["2026-11-29 14:55:03", "2026-11-30 09:10:41"]),
                          "batch": ["applications_batch2@1", "applications_batch3@1"], "drift_share": [.2, .3],
                          "prediction_drift": [.4, .5]})
    spec = charts.drift_trend(trend).to_dict()
    assert spec["encoding"]["x"]["type"] == "nominal"
    checks = {row["check"] for row in spec["datasets"][spec["data"]["name"]]}
    assert checks == {"29 Nov 14:55:03 · applications_batch2@1", "30 Nov 09:10:41 · applications_batch3@1"}


def test_drift_distribution_holds_both_sides_on_common_bins():
    from core.operations import drift

    rng = np.random.default_rng(0)
    reference, current = pd.Series(rng.normal(0, 1, 5_000)), pd.Series(rng.normal(1, 1, 2_000))
    numeric = drift.distribution(reference, current, numeric=True)
    assert len(numeric["edges"]) == 21 and sum(numeric["reference"]) == pytest.approx(1)
    assert sum(numeric["current"]) == pytest.approx(1)
    centre = lambda side: float(np.dot(np.diff(numeric["edges"]) / 2 + numeric["edges"][:-1], numeric[side]))
    assert centre("current") - centre("reference") == pytest.approx(1, abs=0.1)  # the planted shift shows
    levels = drift.distribution(pd.Series(["rent"] * 40 + ["own"] * 60), pd.Series(["rent"] * 65 + ["own"] * 35),
                                numeric=False)
    assert dict(zip(levels["levels"], levels["reference"])) == {"own": 0.6, "rent": 0.4}
    assert dict(zip(levels["levels"], levels["current"])) == {"own": 0.35, "rent": 0.65}
    assert drift.distribution(pd.Series([], dtype=float), current, numeric=True) is None
    json.dumps(numeric)  # stored in the report as JSON


def test_promotion_to_champion_takes_the_challenger_alias_off(tmp_path):
    from core.governance import registry

    lake, run = credit_model(tmp_path / "lake", rows=1_500, algorithm="logistic")
    try:
        registry.set_required_approvals(lake, {"data_science_lead": 1}, actor="local")
        registry.register(lake, run.run_id, name="credit", actor="local", alias="challenger")
        registry.signoff(lake, "credit@1", decision="approve", comment="ok", actor="dana", role="data_science_lead")
        registry.promote(lake, "credit@1", alias="champion", actor="local")
        assert registry.get(lake, "credit@1").aliases == ("champion",)
        assert registry.list_models(lake)[0]["aliases"] == {"champion": 1}
        overview = registry.lifecycle(lake)
        assert overview["runs"] == {"trained": 1, "reviewed": 0}
        review.create(lake, run_id=run.run_id, actor="local", components=["overview"])
        assert registry.lifecycle(lake)["runs"] == {"trained": 1, "reviewed": 1}  # the champion's run counts
    finally:
        lake.close()


def test_an_admin_grants_a_signoff_role(tmp_path):
    from core.governance import accounts
    from core.lake import Lake

    lake = Lake.open(tmp_path / "lake")
    try:
        accounts.add(lake, "ada", role="admin", actor="local", password="admin password 1")
        accounts.add(lake, "dana", role="approver", actor="ada", password="approver pass 1")
        assert accounts.grant_signoff_role(lake, "dana", "risk_compliance", actor="ada") == ["risk_compliance"]
        assert accounts.all_signoff_roles(lake) == {"dana": ["risk_compliance"]}
    finally:
        lake.close()
