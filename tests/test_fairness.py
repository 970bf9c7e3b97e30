"""Fairness: group metrics equal a hand computation from each group's confusion matrix on real
data (audit mode), intersections, the four-fifths rule, plain words, and a model's own groups."""
from __future__ import annotations

import io
import json
import os

import numpy as np
import pandas as pd
import pytest
import statsmodels

from core.data import datasets, demo
from core.analysis import fairness
from core import training
from core.cli import main
from core.errors import InputError
from core.lake import Lake

from support import lake_state


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """The Fair affairs survey (shipped with statsmodels) with a legacy rule's predictions stored."""
    frame = pd.read_csv(os.path.join(os.path.dirname(statsmodels.__file__), "datasets", "fair", "fair.csv"))
    frame["had_affair"] = np.where(frame["affairs"] > 0, "yes", "no")
    frame["rule_says"] = np.where(frame["rate_marriage"] <= 3, "yes", "no")
    frame["risk_score"] = 5 - frame["rate_marriage"]
    frame["religious"] = frame["religious"].map({1: "not", 2: "mildly", 3: "fairly", 4: "strongly"})
    lake = Lake.open(tmp_path_factory.mktemp("fair") / "lake")
    datasets.ingest_frame(lake, frame, name="fair", actor="t")
    yield lake, frame
    lake.close()


def by_hand(frame: pd.DataFrame) -> dict:
    truth, predicted = frame["had_affair"] == "yes", frame["rule_says"] == "yes"
    tp, fp = int((truth & predicted).sum()), int((~truth & predicted).sum())
    fn, tn = int((truth & ~predicted).sum()), int((~truth & ~predicted).sum())
    return {"count": len(frame), "selection_rate": (tp + fp) / len(frame), "accuracy": (tp + tn) / len(frame),
            "tpr": tp / (tp + fn), "fpr": fp / (fp + tn), "fnr": fn / (tp + fn), "precision": tp / (tp + fp) if tp + fp else 0.0}


def test_group_metrics_equal_a_hand_computation(audited):
    lake, frame = audited
    report = fairness.audit(lake, "fair", label="had_affair", prediction="rule_says", positive="yes",
                            sensitive=["religious"], n_boot=50)
    assert len(report.groups) == 4
    for group in report.groups:
        expected = by_hand(frame[frame["religious"] == group["group"]["religious"]])
        for metric, value in expected.items():
            assert group[metric] == pytest.approx(value, abs=1e-12), (group["group"], metric)
        low, high = group["tpr_ci"]
        assert low <= group["tpr"] <= high
    assert report.overall["tpr"] == pytest.approx(by_hand(frame)["tpr"])
    rates = [g["selection_rate"] for g in report.groups]
    assert report.disparities["selection_rate"]["difference"] == pytest.approx(max(rates) - min(rates))
    assert report.disparities["selection_rate"]["ratio"] == pytest.approx(min(rates) / max(rates))


def test_scores_with_a_threshold_intersections_and_the_four_fifths_rule(audited):
    lake, frame = audited
    by_score = fairness.audit(lake, "fair", label="had_affair", score="risk_score", threshold=2, positive="yes",
                              sensitive=["religious"], n_boot=0)
    by_label = fairness.audit(lake, "fair", label="had_affair", prediction="rule_says", positive="yes",
                              sensitive=["religious"], n_boot=0)
    assert [g["tpr"] for g in by_score.groups] == [g["tpr"] for g in by_label.groups]
    assert all("roc_auc" in g for g in by_score.groups)
    both = fairness.audit(lake, "fair", label="had_affair", prediction="rule_says", positive="yes",
                          sensitive=["religious", "occupation"], n_boot=0,
                          reference={"religious": "fairly", "occupation": 3})
    assert len(both.groups) == frame.groupby(["religious", "occupation"]).ngroups
    assert both.four_fifths["reference"] == {"religious": "fairly", "occupation": "3"}
    assert any("too few to judge" in w for w in both.warnings)  # occupation 1 is tiny
    rule = both.four_fifths["metrics"]["selection_rate"]
    assert rule["passed"] == (rule["worst_ratio"] >= 0.8)
    assert any("times as often" in line for line in both.summary)


def test_bad_audits_fail_clearly_and_change_nothing(audited):
    lake, _ = audited
    before = lake_state(lake)
    for kwargs, message in [
        ({"label": "had_affair", "sensitive": ["religious"]}, "Give the predictions"),
        ({"label": "had_affair", "score": "risk_score", "sensitive": ["religious"]}, "needs --threshold"),
        ({"label": "had_affair", "prediction": "rule_says", "sensitive": ["nope"]}, "no column"),
        ({"label": "religious", "prediction": "rule_says", "sensitive": ["occupation"]}, "Name the positive"),
        ({"label": "had_affair", "prediction": "rule_says", "sensitive": ["religious"], "positive": "maybe"}, "does not occur"),
        ({"label": "had_affair", "score": "religious", "threshold": 1, "sensitive": ["occupation"], "positive": "yes"},
         "must hold numbers"),
        ({"label": "had_affair", "prediction": "rule_says", "sensitive": ["religious"], "positive": "yes",
          "reference": {"religious": "devout"}}, "No group"),
    ]:
        with pytest.raises(InputError, match=message):
            fairness.audit(lake, "fair", n_boot=0, **kwargs)
    assert lake_state(lake) == before


def test_a_models_groups_on_its_held_out_rows_and_the_cli(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    demo.build(lake, rows=8_000, with_transactions=False)
    run = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"]).runs[0]
    report = fairness.for_run(lake, run.run_id, sensitive=["race_ethnicity"], n_boot=0)
    assert sum(g["count"] for g in report.groups) == run.test_rows
    assert {g["group"]["race_ethnicity"] for g in report.groups} == {"Group A", "Group B", "Group C", "Group D", "Group E"}
    assert report.positive == 1
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "fairness", "--run", run.run_id, "--sensitive", "sex",
                 "--bootstrap", "0"], out=out) == 0
    result = json.loads(out.getvalue())
    assert {"groups", "disparities", "four_fifths", "summary"} <= set(result)
    assert {"count", "selection_rate", "accuracy", "tpr", "fpr", "fnr", "precision"} <= set(result["groups"][0])
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "fairness", "--sensitive", "sex"], out=out) == 2
    assert "Audit mode needs" in json.loads(out.getvalue())["error"]
    lake.close()


def test_threshold_sweep_and_cheapest_thresholds():
    rng = np.random.default_rng(0)
    groups = pd.DataFrame({"g": rng.choice(["a", "b"], 4_000)})
    truth = rng.random(4_000) < np.where(groups["g"] == "a", 0.3, 0.5)
    score = np.clip(truth * 0.3 + rng.random(4_000) * 0.7, 0, 1)
    scores = fairness.Scores(y_true=truth.astype(int), score=score, sensitive=groups, positive=1)
    sweep = fairness.threshold_sweep(scores, thresholds=[0.3, 0.5, 0.7])
    at_half = fairness.assess_scores(scores, threshold=0.5, n_boot=0)
    row = sweep.set_index("threshold").loc[0.5]
    assert row["accuracy"] == pytest.approx(at_half.overall["accuracy"])
    assert row["selection_rate_ratio"] == pytest.approx(at_half.disparities["selection_rate"]["ratio"])
    cheapest = fairness.cheapest_thresholds(scores, fp_cost=1, fn_cost=5)
    costs = {t: int(((score >= t) & ~truth).sum()) + 5 * int(((score < t) & truth).sum()) for t in np.arange(0.01, 1.0, 0.01)}
    assert cheapest["overall"]["cost"] == pytest.approx(min(costs.values()))
    assert {tuple(g["group"].values()) for g in cheapest["groups"]} == {("a",), ("b",)}
    assert sum(g["rows"] for g in cheapest["groups"]) == 4_000
    with pytest.raises(InputError, match="Costs"):
        fairness.cheapest_thresholds(scores, fp_cost=0, fn_cost=0)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo (30,000 applications) and a LightGBM run that does not read race_ethnicity."""
    lake = Lake.open(tmp_path_factory.mktemp("mitigate") / "lake")
    demo.build(lake, rows=30_000, with_transactions=False)
    run = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at", "counselling"]).runs[0]
    yield lake, run
    lake.close()


def _tpr(measured: dict, group: str) -> float:
    return next(g["tpr"] for g in measured["groups"] if g["group"]["race_ethnicity"] == group)


def test_the_planted_disparity_is_detected(demo_run):
    """Group B defaults more than its features justify (+0.8 log-odds), so a model that does not read
    race misses more of Group B's defaults than of the largest group's."""
    lake, run = demo_run
    report = fairness.for_run(lake, run.run_id, sensitive=["race_ethnicity"], n_boot=0)
    by_group = {g["group"]["race_ethnicity"]: g for g in report.groups}
    assert max(by_group, key=lambda g: by_group[g]["positives"] / by_group[g]["count"]) == "Group B"
    assert by_group["Group B"]["fnr"] > by_group["Group A"]["fnr"] + 0.02
    assert any("Group B" in line and "missed" in line for line in report.summary)


@pytest.mark.slow
def test_threshold_mitigation_closes_the_gap_and_is_a_run_like_any_other(demo_run):
    from core.analysis import mitigation
    from core import review

    lake, run = demo_run
    result = mitigation.mitigate(lake, run.run_id, sensitive=["race_ethnicity"], method="threshold",
                                 constraint="true_positive_rate_parity", actor="t")
    gap = lambda side: abs(_tpr(side, "Group B") - _tpr(side, "Group A"))
    assert gap(result.after) < gap(result.before) / 2
    assert result.after["accuracy"] > result.before["accuracy"] - 0.02
    rates = result.run.params["rates_on_training_rows"]
    tprs = [r["deterministic"]["tpr"] for r in rates.values()]
    assert max(tprs) - min(tprs) < 0.02  # equalized where the thresholds were chosen
    mitigated = result.run
    assert mitigated.params["base_run"] == run.run_id and mitigated.algorithm == "threshold_optimizer"
    assert "race_ethnicity" in mitigated.feature_names and mitigated.test_rows == run.test_rows
    assert any("lawful" in w for w in mitigated.warnings)
    again = fairness.for_run(lake, mitigated.run_id, sensitive=["race_ethnicity"], n_boot=0)
    assert again.overall["accuracy"] == pytest.approx(result.after["accuracy"])  # the stored model is the measured one
    reviewed = review.create(lake, run_id=mitigated.run_id, actor="t", components=["overview", "explain"])
    explained = review.results(lake, reviewed.review_id)["explain"]
    assert explained["explained_rows"] == 2_000 and explained["top_features"][0]["mean_abs_shap"] > 0
    assert explained["output"] == "probability of the positive class"


@pytest.mark.slow
def test_reduction_mitigation_lowers_demographic_disparity_through_the_cli(demo_run):
    lake, run = demo_run
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "mitigate", "--run", run.run_id, "--sensitive", "race_ethnicity",
                 "--method", "expgrad", "--constraint", "demographic_parity"], out=out) == 0
    result = json.loads(out.getvalue())
    assert {"run_id", "before", "after"} <= set(result)
    assert result["after"]["disparity"] < result["before"]["disparity"]
    mitigated = training.get(lake, result["run_id"])
    assert mitigated.algorithm == "exponentiated_gradient" and "race_ethnicity" not in mitigated.feature_names
    assert len(mitigated.params["mixture_weights"]) >= 1
    assert training.load_model(lake, mitigated).predict_proba(
        datasets.read_frame(lake, datasets.get(lake, "applications"), limit=5)).shape == (5, 2)


def test_bad_mitigations_fail_clearly_and_change_nothing(demo_run):
    from core.analysis import mitigation

    lake, run = demo_run
    before = lake_state(lake)
    cases = [({"sensitive": ["race_ethnicity"], "method": "magic", "constraint": "demographic_parity"}, "Unknown method"),
             ({"sensitive": ["race_ethnicity"], "method": "threshold", "constraint": "luck"}, "Unknown constraint"),
             ({"sensitive": [], "method": "threshold", "constraint": "demographic_parity"}, "Name the sensitive"),
             ({"sensitive": ["shoe_size"], "method": "threshold", "constraint": "demographic_parity"}, "shoe_size")]
    for kwargs, message in cases:
        with pytest.raises(InputError, match=message):
            mitigation.mitigate(lake, run.run_id, actor="t", **kwargs)
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "mitigate", "--run", "nope", "--sensitive", "sex",
                 "--method", "threshold", "--constraint", "demographic_parity"], out=out) != 0
    assert "No run" in json.loads(out.getvalue())["error"]
    assert lake_state(lake) == before


def test_regression_errors_by_group_equal_a_hand_computation():
    rng = np.random.default_rng(1)
    groups = pd.DataFrame({"g": rng.choice(["a", "b", "c"], 500)})
    truth = rng.normal(10, 3, 500)
    predicted = truth + np.where(groups["g"] == "a", rng.normal(0, 2, 500), rng.normal(0, 1, 500))
    report = fairness.assess_regression(truth, predicted, groups)
    for group in report["groups"]:
        mask = (groups["g"] == group["group"]["g"]).to_numpy()
        assert group["mae"] == pytest.approx(np.abs(truth[mask] - predicted[mask]).mean())
        assert group["rmse"] == pytest.approx(np.sqrt(((truth[mask] - predicted[mask]) ** 2).mean()))
        assert group["mean_prediction"] == pytest.approx(predicted[mask].mean())
    assert "g = a" in report["summary"][0]  # the group with the largest typical error is named first
