"""Partial dependence for every feature (integer columns and columns with gaps included), what-if
deltas against the model itself, the explained rows a person picks from, and a review seen through
one cohort (every number recomputed on the cohort's rows)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import review, training
from core.analysis import explain
from core.analysis.whatif import WhatIf
from core.data import cohorts

from support import credit_model


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    lake, run = credit_model(tmp_path_factory.mktemp("rows") / "lake", rows=3_000, algorithm="lightgbm")
    made = review.create(lake, run_id=run.run_id, actor="t", explain_rows=300)
    yield lake, run, made
    lake.close()


def test_every_feature_gets_a_partial_dependence_and_ice_curve(reviewed):
    lake, run, made = reviewed
    trained = training.open_run(lake, run.run_id)
    X = review.evaluation_frame(lake, made, run.feature_names)[run.feature_names]
    categorical = [f["name"] for f in run.features if f["kind"] == "categorical"]
    curves = explain.partial_dependence_curves(trained.model, X, run.feature_names, categorical=categorical,
                                               task=run.task, classes=run.classes, positive=run.positive, sample=400)
    assert [c["feature"] for c in curves] == run.feature_names
    positive = run.classes.index(run.positive)
    sample = X.sample(400, random_state=0)
    for curve in curves:
        assert "error" not in curve, curve
        assert len(curve["grid"]) >= 2 and len(curve["average"]) == len(curve["grid"]), curve["feature"]
        assert np.isfinite(curve["average"]).all() and all(v is not None for v in curve["grid"]), curve["feature"]
        assert len(curve["ice"]) == 40 and all(len(line) == len(curve["grid"]) for line in curve["ice"])
        # The average at each grid value is the model's mean positive-class probability with the column set to it.
        for i in (0, len(curve["grid"]) - 1):
            varied = sample.assign(**{curve["feature"]: curve["grid"][i]})
            expected = trained.model.predict_proba(varied)[:, positive].mean()
            assert curve["average"][i] == pytest.approx(expected, abs=1e-9), curve["feature"]
    by_name = {c["feature"]: c for c in curves}
    assert by_name["counselling"]["grid"] == [0.0, 1.0]  # an integer flag: its two values
    assert all(float(v).is_integer() for v in by_name["credit_history_months"]["grid"])
    assert all(float(v).is_integer() for v in by_name["late_payments_12m"]["grid"])
    assert X["income"].isna().any() and len(by_name["income"]["grid"]) == explain.GRID_POINTS  # gaps do not blank it


def test_a_review_stores_curves_for_integer_columns(reviewed):
    lake, run, made = reviewed
    stored = review.results(lake, made.review_id)["explain"]["partial_dependence"]
    assert stored and all("error" not in c and len(c["grid"]) >= 2 for c in stored), stored


def test_a_feature_without_values_says_so_in_words(reviewed):
    lake, run, made = reviewed
    trained = training.open_run(lake, run.run_id)
    X = review.evaluation_frame(lake, made, run.feature_names)[run.feature_names].head(200).assign(income=np.nan)
    curve = explain.partial_dependence_curves(trained.model, X, ["income"], categorical=[], task=run.task,
                                              classes=run.classes, positive=run.positive)[0]
    assert curve["error"] == "income has no value in the rows sampled, so there is no curve to draw."


def test_whatif_compare_is_the_models_own_prediction_and_shap(reviewed):
    lake, run, made = reviewed
    tool = WhatIf.open(lake, run.run_id)
    row_id = int(review.explained_rows(lake, made)[0]["row"].iloc[3])
    original = tool.row(lake, row_id)
    edited = dict(original, late_payments_12m=6, employment="unemployed")
    answer = tool.compare(original, edited)
    positive = run.classes.index(run.positive)
    for side, values in (("original", original), ("edited", edited)):
        frame = pd.DataFrame([values])[run.feature_names]
        proba = tool.model.predict_proba(frame)[0, positive]
        assert answer[side]["score"] == pytest.approx(proba, abs=1e-12)
        logit = np.log(proba / (1 - proba))  # LightGBM's TreeSHAP adds up exactly to the log-odds
        total = answer[side]["base_value"] + sum(c["shap"] for c in answer[side]["contributions"])
        assert total == pytest.approx(logit, abs=1e-6)
    assert sorted(answer["changed"]) == ["employment", "late_payments_12m"]
    before = {c["feature"]: c["shap"] for c in answer["original"]["contributions"]}
    after = {c["feature"]: c["shap"] for c in answer["edited"]["contributions"]}
    assert len(answer["features"]) == len(run.feature_names)
    for entry in answer["features"]:
        assert entry["shap_change"] == pytest.approx(after[entry["feature"]] - before[entry["feature"]])
        assert entry["changed"] == (entry["feature"] in ("employment", "late_payments_12m"))
    stored = review.local_explanation(lake, made, row_id).set_index("feature")["shap"]
    assert all(before[f] == pytest.approx(stored[f], abs=1e-6) for f in run.feature_names)  # the review's own values
    nearest = tool.nearest_counterfactual(lake, row_id)
    flipped = tool.predict(nearest["values"])["prediction"]
    assert nearest["changed"] and flipped != answer["original"]["prediction"] == tool.predict(original)["prediction"]


def test_explained_rows_are_only_the_explained_ones_with_the_entity_id(reviewed):
    lake, run, made = reviewed
    rows, total = review.explained_rows(lake, made)
    with lake.reading() as cur:
        explained = set(cur.execute(f"SELECT __row_id FROM {made.shap_table}").df()["__row_id"])
    assert total == len(explained) == 300 and set(rows["row"]) == explained
    assert rows.attrs["entity"] == ["applicant_id"] and "applicant_id" in rows
    truth = review.evaluation_frame(lake, made, ["applicant_id"]).set_index("__row_id")
    for _, row in rows.head(20).iterrows():
        assert row["applicant_id"] == truth.loc[row["row"], "applicant_id"]
        assert row["probability defaulted = 1"] == pytest.approx(round(truth.loc[row["row"], "score"], 4))  # stored
    young = (cohorts.Condition("age", "<", 35),)
    inside, count = review.explained_rows(lake, made, young)
    ages = review.evaluation_frame(lake, made, ["age"]).set_index("__row_id").loc[inside["row"], "age"]
    assert 0 < count < total and (ages < 35).all() and count == len(inside)


def test_a_review_through_a_cohort_recomputes_every_number_on_its_rows(reviewed):
    lake, run, made = reviewed
    cohort = (cohorts.Condition("employment", "==", "self_employed"),)
    overview = review.cohort_overview(lake, made, cohort)
    compared = review.cohort_metrics(lake, made, cohort)
    assert overview["overall"]["rows"] == compared["cohort"]["rows"] > 0
    assert overview["overall"]["accuracy"] == pytest.approx(compared["cohort"]["accuracy"])
    assert sum(g["rows"] for g in overview["by_feature"]["sex"]) == overview["overall"]["rows"]
    assert sum(map(sum, overview["confusion_matrix"]["matrix"])) == overview["overall"]["rows"]
    assert [g["group"] for g in overview["by_feature"]["employment"]] == ["self_employed"]
    tree = review.cohort_error_tree(lake, made, cohort, max_depth=2, max_leaf_nodes=4)
    frame = review.evaluation_frame(lake, made, run.feature_names + made.sensitive)
    with lake.reading() as cur:
        cur.register("f", frame)
        for node in tree["nodes"]:  # each node's filter, cohort included, selects exactly its rows of the dataset
            where, params = cohorts.where_sql(cohorts.conditions_from(node["conditions"]), list(frame.columns))
            count, wrong = cur.execute(f"SELECT count(*), sum(error) FROM f WHERE {where}", params).fetchall()[0]
            assert count == node["rows"] and wrong == pytest.approx(node["errors"]), node["filter"]
    heat = review.cohort_error_heatmap(lake, made, "age", None, cohort)
    assert heat["rows"].sum() == overview["overall"]["rows"]
    assert all(c["column"] == "employment" for c in (cell[0] for cell in heat["conditions"]))
    scores = review.cohort_scores(lake, made, ["sex"], cohort)
    assert len(scores.y_true) == overview["overall"]["rows"]
    shap = review.cohort_shap_importance(lake, made, cohort)
    assert shap["rows"].iloc[0] == review.explained_rows(lake, made, cohort)[1]


def test_cohort_names_are_short_readable_and_distinct():
    assert review.cohort_name([cohorts.Condition("employment", "==", "student")]) == "employment_student"
    node = [cohorts.Condition("employment", "==", "self_employed"), cohorts.Condition("age", "<", 40),
            cohorts.Condition("years_employed", ">", 4.25)]
    name = review.cohort_name(node)
    assert name.startswith("years_employed_gt_4") and len(name) <= 26
    sibling = node[:-1] + [cohorts.Condition("years_employed", "<=", 4.25, or_null=True)]
    deeper = node[:1] + node[2:]
    assert len({name, review.cohort_name(sibling), review.cohort_name(deeper)}) == 3
