"""Reviews: persisted, computed from the model itself, and finding the demo's planted noisy cohort."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from core.data import cohorts, datasets, demo
from core.analysis import fairness
from core import review, training
from core.cli import main
from core.errors import AssayError, InputError
from core.lake import Lake

from support import lake_state


@pytest.fixture(scope="module")
def rlake(tmp_path_factory):
    lake = Lake.open(tmp_path_factory.mktemp("review") / "lake")
    demo.build(lake, rows=30_000, with_transactions=False)
    yield lake
    lake.close()


@pytest.fixture(scope="module")
def lgbm(rlake):
    return training.train(rlake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm", "logistic"],
                          sensitive=["sex", "race_ethnicity"])


@pytest.fixture(scope="module")
def made(rlake, lgbm):
    return review.create(rlake, run_id=lgbm.runs[0].run_id, actor="reviewer")


def test_review_is_persisted_with_timings(rlake, lgbm, made):
    assert made.scope == "test" and made.rows == lgbm.runs[0].test_rows == 9_000
    assert set(made.timings) == {"overview", "explain", "errors", "fairness"} and made.created_by == "reviewer"
    assert made.review_id in [r.review_id for r in review.list_reviews(rlake, run_id=lgbm.runs[0].run_id)]
    results = review.results(rlake, made.review_id)
    assert set(results) == {"overview", "explain", "errors", "fairness"}
    stored = results["fairness"]
    assert [r["sensitive"] for r in stored["reports"]] == [["sex"], ["race_ethnicity"], ["sex", "race_ethnicity"]]
    assert len(stored["reports"][2]["groups"]) == 10 and stored["sweep_by"] == "sex" and len(stored["sweep"]) == 19
    direct = fairness.for_run(rlake, lgbm.runs[0].run_id, sensitive=["race_ethnicity"], n_boot=0)
    assert [g["tpr"] for g in stored["reports"][1]["groups"]] == pytest.approx([g["tpr"] for g in direct.groups])
    assert results["overview"]["overall"]["accuracy"] == pytest.approx(lgbm.runs[0].metrics["accuracy"])
    assert results["overview"]["overall"]["roc_auc"] == pytest.approx(lgbm.runs[0].metrics["roc_auc"])
    low, high = results["overview"]["overall"]["accuracy_ci"]
    assert low < results["overview"]["overall"]["accuracy"] < high
    groups = {g["group"] for g in results["overview"]["by_feature"]["race_ethnicity"]}
    assert groups == {"Group A", "Group B", "Group C", "Group D", "Group E"}


def test_the_planted_noisy_cohort_is_the_top_error_cohort(rlake, made):
    errors = review.results(rlake, made.review_id)["errors"]
    top = errors["cohorts"][0]
    conditions = cohorts.conditions_from(top["conditions"])
    assert {"employment", "age"} <= {c.column for c in conditions}
    assert top["error_rate"] > errors["overall_error_rate"] + 0.15
    frame = review.evaluation_frame(rlake, made, ["employment", "age", "credit_history_months"])
    where, params = cohorts.where_sql(conditions, list(frame.columns))
    with rlake.reading() as cur:
        cur.register("f", frame)
        found = cur.execute(f"SELECT * FROM f WHERE {where}", params).df()
    planted = (found.employment == "self_employed") & (found.age < 40)
    assert len(found) == top["rows"] and planted.mean() > 0.9  # the node's filter selects exactly its rows
    saved = cohorts.save(rlake, "top_errors", dataset="applications", conditions=conditions, actor="t",
                         usecase=demo.USECASE, columns=datasets.get(rlake, "applications").column_names)
    assert cohorts.count_rows(rlake, datasets.get(rlake, "applications"), saved.conditions) > top["rows"]


def test_every_tree_node_filter_selects_exactly_its_rows(rlake, made):
    errors = review.results(rlake, made.review_id)["errors"]
    run = training.get(rlake, made.run_id)
    frame = review.evaluation_frame(rlake, made, run.feature_names + made.sensitive)
    with rlake.reading() as cur:
        cur.register("f", frame)
        for node in errors["nodes"]:
            where, params = cohorts.where_sql(cohorts.conditions_from(node["conditions"]), list(frame.columns))
            count, wrong = cur.execute(f"SELECT count(*), sum(error) FROM f WHERE {where}", params).fetchall()[0]
            assert count == node["rows"] and wrong == pytest.approx(node["errors"]), node["filter"]


@pytest.mark.parametrize("index", [0, 1])
def test_shap_values_add_up_to_the_models_output(rlake, lgbm, index):
    """Real SHAP values of the model: base value plus contributions gives the model's log-odds."""
    run = lgbm.runs[index]
    made = review.create(rlake, run_id=run.run_id, actor="t", components=["explain"])
    explain = review.results(rlake, made.review_id)["explain"]
    model = training.load_model(rlake, run)
    frame = review.evaluation_frame(rlake, made, run.feature_names).head(200)
    with rlake.reading() as cur:
        shap = cur.execute(f"SELECT * FROM {made.shap_table} ORDER BY __row_id LIMIT 200").df()
    assert (shap["__row_id"].to_numpy() == frame["__row_id"].to_numpy()).all()
    proba = model.predict_proba(frame[run.feature_names])[:, 1]
    logit = np.log(proba / (1 - proba))
    total = explain["base_value"] + shap[run.feature_names].sum(axis=1).to_numpy()
    tolerance = 1e-6 if run.algorithm == "lightgbm" else 0.05  # linear SHAP is exact up to the background's mean
    assert np.allclose(total, logit, atol=tolerance) or np.corrcoef(total, logit)[0, 1] > 0.999
    assert explain["explained_rows"] == made.rows
    sampled = review.create(rlake, run_id=run.run_id, actor="t", components=["explain"], explain_rows=1_000)
    assert review.results(rlake, sampled.review_id)["explain"]["explained_rows"] == 1_000
    assert {c["feature"] for c in explain["partial_dependence"]} <= set(run.feature_names)


def test_live_reads_cohort_importance_local_explanation_dependence(rlake, made):
    conditions = [cohorts.Condition("employment", "==", "self_employed")]
    importance = review.cohort_importance(rlake, made, conditions)
    assert set(importance.columns) == {"feature", "cohort", "all rows", "cohort_rows"} and importance["cohort_rows"].iloc[0] > 0
    row_id = int(review.evaluation_frame(rlake, made, [])["__row_id"].iloc[0])
    local = review.local_explanation(rlake, made, row_id)
    assert abs(local["shap"].iloc[0]) >= abs(local["shap"].iloc[-1])
    points = review.dependence(rlake, made, "debt", sample=500)
    assert len(points) == 500 and {"value", "shap"} <= set(points.columns)
    metrics = review.cohort_metrics(rlake, made, [cohorts.Condition("age", "<", 40),
                                                  cohorts.Condition("employment", "==", "self_employed")])
    assert metrics["cohort"]["accuracy"] < metrics["all"]["accuracy"] - 0.15


def test_other_dataset_recompute_delete_and_bad_input(rlake, lgbm, made):
    run_id = lgbm.runs[0].run_id
    later = review.create(rlake, run_id=run_id, actor="t", dataset="applications_batch2", components=["overview"])
    assert later.scope == "all" and later.rows == datasets.get(rlake, "applications_batch2").rows
    before = lake_state(rlake)
    for kwargs, message in [({"run_id": "nope"}, "No run"), ({"run_id": run_id, "components": ["magic"]}, "Unknown component"),
                            ({"run_id": run_id, "dataset": "applications_batch2", "scope": "test"}, "held-out rows"),
                            ({"run_id": run_id, "scope": "some"}, "Scope"),
                            ({"run_id": run_id, "explain_rows": 5}, "at least 100 rows")]:
        with pytest.raises(AssayError, match=message):
            review.create(rlake, actor="t", **kwargs)
    datasets.ingest_frame(rlake, pd.DataFrame({"x": [1, 2]}), name="unrelated", actor="t", usecase=demo.USECASE)
    with pytest.raises(InputError, match="lacks column"):
        review.create(rlake, run_id=run_id, actor="t", dataset="unrelated")
    again = review.recompute(rlake, later.review_id, actor="t")
    assert again.review_id != later.review_id and again.rows == later.rows
    with pytest.raises(AssayError, match="No review"):
        review.get(rlake, later.review_id)
    review.delete(rlake, again.review_id, actor="t")
    assert again.review_id not in [r.review_id for r in review.list_reviews(rlake)]
    assert before["snapshot"] < lake_state(rlake)["snapshot"]


def test_cli_review_and_show(rlake, lgbm):
    out = io.StringIO()
    assert main(["--lake", str(rlake.config.folder), "review", "--run", lgbm.runs[0].run_id,
                 "--components", "explain,errors"], out=out) == 0
    made = json.loads(out.getvalue())
    assert made["components"]["explain"]["top_features"][0]["mean_abs_shap"] > 0
    assert {"filter", "error_rate", "coverage", "rows"} <= set(made["components"]["errors"]["cohorts"][0])
    assert set(made["timings"]) == {"explain", "errors"}
    out = io.StringIO()
    assert main(["--lake", str(rlake.config.folder), "review", "show", made["review_id"]], out=out) == 0
    assert set(json.loads(out.getvalue())["components"]) == {"explain", "errors"}


def test_heat_map_cells_carry_exact_cohort_filters(rlake, made):
    heat = review.error_heatmap(rlake, made, "income", "employment")
    frame = review.evaluation_frame(rlake, made, ["income", "employment"])
    assert heat["rows"].sum() == len(frame)
    with rlake.reading() as cur:
        cur.register("f", frame)
        for _, cell in heat.iterrows():
            where, params = cohorts.where_sql(cohorts.conditions_from(cell["conditions"]), list(frame.columns))
            assert cur.execute(f"SELECT count(*) FROM f WHERE {where}", params).fetchall()[0][0] == cell["rows"]
    assert "(missing)" in set(heat["first"])  # income has gaps
