"""Every page under Streamlit's AppTest, against a real lake in a temporary folder."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import cohorts, datasets, demo, usecases
from core.lake import Lake, scratch

from support import ROOT, write_csv

TIMEOUT = 120


@pytest.fixture(scope="module")
def page_lake(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages") / "lake"
    lake = Lake.open(folder)
    demo.build(lake, rows=3_000)
    lake.close()
    return folder


@pytest.fixture
def app(page_lake, monkeypatch):
    monkeypatch.setenv("ASSAY_LAKE", str(page_lake))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_first_start_builds_the_demo_and_opens_the_explorer(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_LAKE", str(tmp_path / "fresh"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    no_errors(at)
    assert at.title[0].value == "Data explorer"
    assert at.session_state["usecase"] == demo.USECASE
    assert at.metric[0].value == "50,000" and at.metric[1].value == "18"


def test_explorer_tabs_show_profile_charts_and_rows(app):
    at = app.run()
    no_errors(at)
    assert at.selectbox(key="explorer_dataset").value == "applications"
    assert at.metric[0].value == "3,000"
    profile_table = at.dataframe[0].value
    assert list(profile_table["column"])[:3] == ["applicant_id", "applied_at", "sex"]
    assert profile_table.set_index("column").loc["income", "missing"] > 0
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3  # histogram, target balance, correlations
    assert all(chart.proto.datasets and chart.proto.datasets[0].data.data for chart in charts)  # none is empty
    at.selectbox(key="explorer_hist_applications").select("employment").run()
    no_errors(at)
    at.selectbox(key="explorer_group_applications").select("race_ethnicity").run()
    no_errors(at)
    balance = [d.value for d in at.dataframe if "share" in d.value.columns][0]
    assert set(balance["group"]) == {"Group A", "Group B", "Group C", "Group D", "Group E"}
    at.selectbox(key="explorer_dataset").select("transactions").run()
    no_errors(at)
    assert at.metric[1].value == "4"


def test_cohort_builder_saves_a_cohort_that_filters_the_explorer(app, page_lake):
    at = app.run()
    key = "cohort_conditions_applications"
    at.selectbox(key=f"{key}_column").select("age")
    at.selectbox(key=f"{key}_op").select("<")
    at.text_input(key=f"{key}_value").input("30")
    at.button(key=f"{key}_add").click().run()
    no_errors(at)
    at.text_input(key=f"{key}_name").input("under_30")
    at.button(key=f"{key}_save").click().run()
    no_errors(at)
    assert "Saved cohort" in at.success[0].value
    lake = Lake.open(page_lake)
    version = datasets.get(lake, "applications")
    expected = cohorts.count_rows(lake, version, [cohorts.Condition("age", "<", 30)])
    lake.close()
    assert at.selectbox(key="explorer_cohort_applications").value == "under_30"
    assert at.metric[0].value == f"{expected:,}"
    at.selectbox(key="explorer_cohort_applications").select("All rows").run()
    assert at.metric[0].value == "3,000"


def test_cohort_builder_explains_a_bad_value(app):
    at = app.run()
    key = "cohort_conditions_applications"
    at.selectbox(key=f"{key}_column").select("age")
    at.text_input(key=f"{key}_value").input("young")
    at.button(key=f"{key}_add").click().run()
    assert not at.exception
    assert "not a number" in at.error[0].value


def test_datasets_page_ingests_from_a_path_and_refuses_bad_files(app, tmp_path):
    at = app.run().switch_page("pages/datasets.py").run()
    no_errors(at)
    good = write_csv(tmp_path / "scores.csv", "id,score\n1,0.5\n2,0.7\n3,\n")
    at.text_input(key="path_file").input(str(good)).run()
    assert at.text_input(key="path_name").value == "scores"
    at.button(key="path_go").click().run()
    no_errors(at)
    assert any("Ingested 3 rows as scores@1" in s.label for s in at.status)
    bad = write_csv(tmp_path / "ragged.csv", "id,score\n1\n")
    at.text_input(key="path_file").input(str(bad)).run()
    at.text_input(key="path_name").input("ragged").run()
    at.button(key="path_go").click().run()
    assert not at.exception
    assert "line 2 has 1 field" in at.error[0].value
    at.text_input(key="path_file").input(str(good)).run()
    at.text_input(key="path_name").input("../evil").run()
    at.button(key="path_go").click().run()
    assert "not allowed" in at.error[0].value


def test_an_upload_is_spooled_under_the_lake_and_removed_after_the_ingest(app, page_lake, tmp_path, monkeypatch):
    """The uploaded file is written under LAKE/tmp/ (swept if the app is killed), never the system's /tmp, and is
    gone after the ingest, whether it succeeded or was refused."""
    import tempfile

    system_tmp = tmp_path / "system_tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))  # what the system's /tmp would have been
    lake_tmp = page_lake / "tmp"
    before = set(lake_tmp.iterdir())
    seen = []
    real = datasets.ingest_path

    def watched(lake, path, **kwargs):
        seen.append((Path(path), Path(path).is_file(), sorted(system_tmp.iterdir())))
        return real(lake, path, **kwargs)

    monkeypatch.setattr(datasets, "ingest_path", watched)
    at = app.run().switch_page("pages/datasets.py").run()
    at.file_uploader(key="upload_file").set_value(("uploaded scores.csv", b"id,score\n1,0.5\n2,0.7\n", "text/csv")).run()
    at.text_input(key="upload_name").input("uploaded_scores").run()
    at.button(key="upload_go").click().run()
    no_errors(at)
    assert any("Ingested 2 rows as uploaded_scores@1" in s.label for s in at.status)
    at.file_uploader(key="upload_file").set_value(("ragged.csv", b"id,score\n1\n", "text/csv")).run()
    at.text_input(key="upload_name").input("ragged_upload").run()
    at.button(key="upload_go").click().run()
    assert "line 2 has 1 field" in at.error[0].value
    assert [(p.name, p.parent.parent, exists, listed) for p, exists, listed in seen] == [
        ("uploaded scores.csv", lake_tmp, True, []), ("ragged.csv", lake_tmp, True, [])]
    assert all(p.parent.name.startswith("upload-") and not p.parent.exists() for p, _, _ in seen)
    assert set(lake_tmp.iterdir()) <= before | {lake_tmp / f"open-{scratch.me().tag}"}  # no spool is left
    assert not list(system_tmp.iterdir())


def test_datasets_page_adds_the_ihdp_sample_and_lists_versions(app, page_lake):
    at = app.run().switch_page("pages/datasets.py").run()
    at.button(key="ihdp_go").click().run()
    no_errors(at)
    assert "ihdp@" in at.success[0].value
    assert any("applications@1" in e.label for e in at.expander)


def test_usecases_page_creates_a_use_case_and_refuses_a_bad_one(app, page_lake):
    at = app.run().switch_page("pages/usecases.py").run()
    no_errors(at)
    assert at.subheader[0].value == demo.USECASE
    at.text_input[0].input("fraud_watch")
    at.text_area[0].input("Flag fraudulent claims early")
    at.button[0].click().run()
    no_errors(at)
    assert "Created use case fraud_watch" in at.success[0].value
    lake = Lake.open(page_lake)
    assert usecases.get(lake, "fraud_watch").objective == "Flag fraudulent claims early"
    lake.close()
    at.text_input[0].input("Fraud Watch!")
    at.button[0].click().run()
    assert not at.exception and "not allowed" in at.error[0].value


def test_build_features_page_previews_and_registers(app, page_lake):
    at = app.run().switch_page("pages/build_features.py").run()
    no_errors(at)
    at.text_input(key="build_name").input("page_features")
    at.multiselect(key="build_columns_applications").select("age").select("income")
    at.selectbox(key="build_label_applications").select("defaulted")
    at.text_area(key="build_derived").input("debt_to_income = debt / nullif(income, 0)").run()
    at.selectbox(key="agg_source").select("transactions").run()
    at.selectbox(key="agg_col_transactions").select("amount")
    at.text_input(key="agg_window").input("60 days")
    at.button(key="agg_add").click().run()
    no_errors(at)
    preview = at.dataframe[0].value
    assert len(preview) == 100
    assert {"debt_to_income", "transactions_amount_sum_60d", "defaulted"} <= set(preview.columns)
    assert "window: 60 days" in at.text_area(key="build_yaml").value
    at.button(key="build_go").click().run()
    no_errors(at)
    assert "Registered **page_features@1**" in at.success[0].value
    lake = Lake.open(page_lake)
    from core import features
    assert features.get(lake, "page_features").rows == 3_000
    lake.close()


def test_build_features_page_refuses_a_hostile_expression(app):
    at = app.run().switch_page("pages/build_features.py").run()
    at.text_area(key="build_derived").input("x = read_csv('/etc/passwd')").run()
    assert not at.exception
    assert "read_csv" in at.error[0].value and "not allowed" in at.error[0].value
    at.text_area(key="build_derived").input("this is not an assignment").run()
    assert "write 'name = expression'" in at.error[0].value


def test_feature_store_page_finds_and_shows_a_feature_set(app, page_lake):
    from core import features

    lake = Lake.open(page_lake)
    features.build(lake, features.load_spec(
        "name: store_demo\ndescription: Spending habits\nbase: applications\nentity: applicant_id\n"
        "timestamp: applied_at\ncolumns: [age]\naggregates:\n  - {source: transactions, timestamp: tx_at, "
        "column: amount, functions: [sum], window: 30 days}\n"), actor="t")
    lake.close()
    at = app.run().switch_page("pages/feature_store.py").run()
    no_errors(at)
    at.text_input(key="store_search").input("spending").run()
    no_errors(at)
    assert list(at.dataframe[0].value["feature set"]) == ["store_demo"]
    assert at.metric[1].value == "2"  # age and the 30-day sum
    assert "transactions_amount_sum_30d" in at.code[0].value or "amount" in at.code[0].value
    assert at.get("graphviz_chart")
    at.text_input(key="store_search").input("nothing like this").run()
    assert "No feature set matches" in at.info[0].value


def test_train_page_trains_and_compare_page_compares(app):
    at = app.run().switch_page("pages/train.py").run()
    no_errors(at)
    assert at.selectbox(key="train_target_applications").value == "defaulted"
    assert at.multiselect(key="train_sensitive_applications").value == ["sex", "race_ethnicity"]
    at.multiselect(key="train_algorithms").unselect("lightgbm").select("hist_gb")
    at.button(key="train_go").click().run()
    no_errors(at)
    assert "Best by roc_auc" in at.success[0].value
    batch = at.session_state["compare_batch"]
    assert len(batch) == 2
    at.switch_page("pages/compare.py").run()
    no_errors(at)
    assert at.multiselect(key="compare_runs").value == batch
    assert "Best by roc_auc" in at.success[0].value
    assert len(at.get("vega_lite_chart")) == 3  # ROC, precision-recall, calibration
    at.selectbox(key="compare_metric").select("brier").run()
    no_errors(at)
    assert "Best by brier" in at.success[0].value


def test_train_page_explains_a_bad_target(app):
    at = app.run().switch_page("pages/train.py").run()
    at.selectbox(key="train_target_applications").select("region")
    at.selectbox(key="train_task").select("regression")
    at.button(key="train_go").click().run()
    assert not at.exception
    assert "numeric target" in at.error[0].value


@pytest.fixture(scope="module")
def reviewed(page_lake):
    from core import review, training

    lake = Lake.open(page_lake)
    run = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"]).runs[0]
    made = review.create(lake, run_id=run.run_id, actor="t")
    lake.close()
    return made


def test_review_pages_read_the_saved_review(app, reviewed):
    at = app.run().switch_page("pages/explainability.py").run()
    no_errors(at)
    at.text_input(key="pin_here_title_explain").input("Debt leads").run()
    at.button(key="pin_here_go_explain").click().run()
    no_errors(at)
    assert any("Pinned." in s.value for s in at.success)
    assert at.selectbox(key="_review_picker").value == reviewed.review_id
    assert len(at.get("vega_lite_chart")) >= 4  # importance, one row, dependence, partial dependence
    at.switch_page("pages/error_analysis.py").run()
    no_errors(at)
    assert at.get("graphviz_chart") and "%" in at.metric[0].value
    at.slider(key="errors_depth").set_value(2).run()  # recomputed live with other settings
    no_errors(at)
    next(b for b in at.button if b.key.startswith("errors_node_")).click().run()  # a tree node, one click
    no_errors(at)
    from_the_tree = at.session_state["cohort"]
    assert any(f"Cohort **{from_the_tree}**" in m.value for m in at.success)
    next(b for b in at.button if b.key.startswith("errors_cell_")).click().run()  # a heat-map cell of it, one click
    no_errors(at)
    hot_cell = at.session_state["cohort"]
    assert hot_cell != from_the_tree and any(f"Cohort **{hot_cell}**" in m.value for m in at.success)
    at.switch_page("pages/model_overview.py").run()
    no_errors(at)
    assert at.metric[0].label == "accuracy"
    at.switch_page("pages/explorer.py").run()
    assert {from_the_tree, hot_cell} <= set(at.selectbox(key="explorer_cohort_applications").options)  # every page


def test_reviews_page_computes_and_deletes(app, reviewed):
    at = app.run().switch_page("pages/reviews.py").run()
    no_errors(at)
    at.multiselect(key="new_review_components").unselect("explain").unselect("overview")
    at.button(key="new_review_go").click().run()
    no_errors(at)
    assert "saved" in at.success[0].value
    made = at.session_state["review_id"]
    at.selectbox(key="reviews_current").select(made)
    at.button(key="reviews_delete").click().run()
    no_errors(at)
    assert made not in at.selectbox(key="reviews_current").options


def test_reviews_page_asks_the_outcome_direction_for_a_causal_review(app, reviewed, page_lake):
    from support import lake_state

    at = app.run().switch_page("pages/reviews.py").run()
    at.selectbox(key="new_review_run").select(reviewed.run_id).run()
    at.multiselect(key="new_review_components").set_value(["causal"]).run()
    at.multiselect(key=f"new_review_treatments_{reviewed.run_id}").set_value(["counselling"]).run()
    assert at.radio(key=f"new_review_direction_{reviewed.run_id}").value is None  # no silent default
    lake = Lake.open(page_lake)
    before = lake_state(lake)
    lake.close()
    at.button(key="new_review_go").click().run()
    assert not at.exception and "higher or a lower value is better" in at.error[0].value
    lake = Lake.open(page_lake)
    assert lake_state(lake) == before
    lake.close()


def test_fairness_page_for_a_model_and_for_stored_predictions(app, reviewed):
    at = app.run().switch_page("pages/fairness.py").run()
    no_errors(at)
    # With a saved review in the use case the page opens on it: stored results, no model scored.
    assert at.segmented_control(key="fairness_mode").value == "A saved review"
    assert any("Four-fifths rule" in m.value for m in at.markdown)  # the stored fairness component
    assert len(at.get("vega_lite_chart")) == 4  # group rates, ROC and precision-recall by group, the sweep
    at.segmented_control(key="fairness_mode").set_value("A trained model").run()
    no_errors(at)
    assert any("times as often" in m.value for m in at.markdown) or any("predicted" in m.value for m in at.markdown)
    assert any("Four-fifths rule" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) == 1  # group rates: the other views compute only when shown
    at.segmented_control(key="fairness_live_view").set_value("Across thresholds and costs").run()
    at.slider(key="fairness_threshold").set_value(0.3).run()
    no_errors(at)
    assert any("Cheapest threshold overall" in m.value for m in at.markdown)
    at.segmented_control(key="fairness_live_view").set_value("Mitigate").run()
    at.selectbox(key="mitigate_method").select("threshold")
    at.selectbox(key="mitigate_constraint").select("demographic_parity")
    at.button(key="mitigate_go").click().run()
    no_errors(at)
    assert any("disparity" in m.value and "→" in m.value for m in at.markdown)  # before → after in words
    assert len(at.get("vega_lite_chart")) == 1  # the original-and-mitigated trade-off
    at.segmented_control(key="fairness_mode").set_value("Stored predictions (audit)").run()
    no_errors(at)
    at.selectbox(key="audit_label_applications").select("defaulted")
    at.selectbox(key="audit_pred_applications").select("counselling")
    at.text_input(key="audit_positive").input("1")
    at.multiselect(key="audit_sensitive_applications").select("sex").run()
    at.button(key="audit_go").click().run()
    no_errors(at)
    assert any("Four-fifths rule" in m.value for m in at.markdown)
    at.text_input(key="audit_positive").input("maybe").run()
    at.button(key="audit_go").click().run()
    assert not at.exception and "does not occur" in at.error[0].value


def test_counterfactuals_and_what_if_page(app, reviewed):
    at = app.run().switch_page("pages/counterfactuals.py").run()
    no_errors(at)
    at.number_input(key="cf_rows").set_value(3)
    at.button(key="cf_go").click().run()
    no_errors(at)
    assert len(at.expander) >= 3  # one per row, with its difference table
    assert any(c for c in at.get("vega_lite_chart"))  # which features change most often, the what-if charts
    run_id = at.selectbox(key="_run_picker").value
    assert run_id == reviewed.run_id  # the reviewed run, as on the other review pages
    at.session_state[f"whatif_rows_{reviewed.review_id}_"] = {"selection": {"rows": [0], "columns": []}}
    at.run()  # a click on the first explained row
    row_id = int(next(d.value for d in at.dataframe if "applicant_id" in d.value)["row"].iloc[0])
    at.number_input(key=f"whatif_{run_id}_{row_id}_late_payments_12m").set_value(6).run()
    no_errors(at)
    assert any("changed: late_payments_12m" in m.value for m in at.markdown)
    at.selectbox(key="cf_source").select("row ids").run()
    at.text_input(key="cf_ids").input("0, x").run()
    at.button(key="cf_go").click().run()
    assert not at.exception and "whole numbers" in at.error[0].value


def test_causal_page_estimates_with_its_checks(app):
    at = app.run().switch_page("pages/causal.py").run()
    no_errors(at)
    at.button(key="causal_go").click().run()
    no_errors(at)
    assert [m.label for m in at.metric][:4] == ["Average effect", "95% interval", "p-value", "Naive difference"]
    assert any("Placebo" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) >= 3  # overlap, effect by feature, individual effects
    assert any("policy tree treats" in m.value for m in at.markdown)
    at.selectbox(key="causal_method").select("dr")
    at.selectbox(key="causal_treatment_applications").select("income").run()
    at.button(key="causal_go").click().run()
    assert not at.exception and "binary treatment" in at.error[0].value


def test_privacy_page(app, reviewed):
    at = app.run().switch_page("pages/privacy.py").run()
    no_errors(at)
    at.selectbox(key="privacy_sensitive_applications").select("race_ethnicity")
    at.selectbox(key="privacy_run_applications").select(reviewed.run_id)
    at.button(key="privacy_go").click().run()
    no_errors(at)
    assert any("applicant_id" in m.value for m in at.markdown)  # an identifier to keep out
    assert [m.label for m in at.metric][0] == "Attack AUC"
    assert any("l-diversity" in m.value for m in at.markdown)


def test_two_reviews_of_one_run_in_the_same_minute_can_each_be_picked(app, reviewed, page_lake):
    """Streamlit maps a picked label back to its option: two reviews said in the same words would open the first."""
    from core import review

    lake = Lake.open(page_lake)
    twin = review.create(lake, run_id=reviewed.run_id, actor="t", components=["overview"])
    lake.close()
    at = app.run().switch_page("pages/explainability.py").run()
    picker = at.selectbox(key="_review_picker")
    assert len(set(picker.options)) == len(picker.options)  # every review reads apart from the others
    for chosen in (reviewed.review_id, twin.review_id, reviewed.review_id):
        at.selectbox(key="_review_picker").select(chosen).run()
        no_errors(at)
        assert at.session_state["review_id"] == chosen
        assert at.selectbox(key="_review_picker").value == chosen
        assert at.query_params["review"] == [chosen] or at.query_params["review"] == chosen


def test_saved_counterfactual_causal_and_privacy_components(app, reviewed, page_lake):
    lake = Lake.open(page_lake)
    from core import review

    made = review.create(lake, run_id=reviewed.run_id, actor="t", components=["counterfactuals", "causal", "privacy"],
                         cf_rows=4, cf_count=2, treatments=["counselling"], quasi=["age", "sex"],
                         higher_is_better=False)
    lake.close()
    at = app.run()
    at.session_state["review_id"] = made.review_id
    at.switch_page("pages/causal.py").run()
    at.segmented_control(key="causal_mode").set_value("From a saved review").run()
    no_errors(at)
    assert any(h.value.startswith("counselling → defaulted") for h in at.header)
    assert [m.label for m in at.metric][0] == "Average effect"
    assert any("set in the review: **a lower defaulted is better**" in m.value for m in at.markdown)
    saved_policy = [m.value for m in at.markdown if "policy tree treats" in m.value]
    assert len(saved_policy) == 1 and saved_policy[0].startswith("A **lower** defaulted is better.")
    # The live page with the review's columns and direction draws the same policy.
    lake = Lake.open(page_lake)
    effect = review.results(lake, made.review_id)["causal"]["effects"][0]
    lake.close()
    at.segmented_control(key="causal_mode").set_value("Live").run()
    at.selectbox(key="causal_treatment_applications").select("counselling").run()
    at.multiselect(key="causal_confounders_applications_counselling_defaulted").set_value(effect["confounders"]).run()
    at.multiselect(key="causal_het_applications_counselling_defaulted").set_value(effect["heterogeneity"])
    at.toggle(key="causal_lower_defaulted").set_value(True)
    at.button(key="causal_go").click().run()
    no_errors(at)
    assert [m.value for m in at.markdown if "policy tree treats" in m.value] == saved_policy
    at.switch_page("pages/privacy.py").run()
    at.segmented_control(key="privacy_mode").set_value("From a saved review").run()
    no_errors(at)
    assert [m.label for m in at.metric][0] == "Attack AUC"
    # l-diversity of the first sensitive column that is not a quasi-identifier (sex is one here)
    assert any(m.value.startswith("**l-diversity** of race_ethnicity: l = ") for m in at.markdown)
    at.switch_page("pages/counterfactuals.py").run()
    no_errors(at)
    assert any("held-out rows of this model" in c.value for c in at.caption)


def test_model_registry_catalog_and_lifecycle_pages(app, reviewed, page_lake):
    at = app.run().switch_page("pages/models.py").run()
    no_errors(at)
    at.selectbox(key="register_run").select(reviewed.run_id)
    at.text_input(key="register_new_name").input("page_model").run()
    at.button(key="register_go").click().run()
    no_errors(at)
    assert [m.value for m in at.metric][:2] == ["skipped", "pending"]  # first version: no champion to beat
    at.button(key="promote_go_page_model@1").click().run()
    assert not at.exception and "lacks the required sign-offs" in at.error[0].value
    lake = Lake.open(page_lake)
    from core.governance import registry

    registry.signoff(lake, "page_model@1", decision="approve", comment="ok", actor="dana", role="data_science_lead")
    registry.signoff(lake, "page_model@1", decision="approve", comment="ok", actor="rick", role="risk_compliance")
    lake.close()
    at.run()
    at.button(key="promote_go_page_model@1").click().run()
    no_errors(at)
    assert any("page_model@1 is now champion" in s.value for s in at.success)
    at.button(key="scorecard_go_page_model@1").click().run()
    no_errors(at)
    assert len(at.get("download_button")) == 2
    at.switch_page("pages/catalog.py").run()
    no_errors(at)
    assert at.selectbox(key="catalog_open").value == "page_model"
    at.selectbox(key="catalog_status").select("champion").run()
    no_errors(at)
    at.switch_page("pages/lifecycle.py").run()
    no_errors(at)
    assert any("audit chain is intact" in s.value for s in at.success)
    assert "champion" in [m.label for m in at.metric]


def test_single_user_mode_refuses_a_remote_client(app, monkeypatch):
    from ui import state

    assert state.permissions.loopback(None) and state.permissions.loopback("127.0.0.1")
    assert not state.permissions.loopback("10.1.2.3")
    monkeypatch.setattr(state, "_client_ip", lambda: "10.1.2.3")
    at = app.run()
    assert not at.exception
    assert "single-user mode" in at.error[0].value and not [t for t in at.title if t.value == "Data explorer"]
    monkeypatch.setattr(state, "_client_ip", lambda: None)
    at = app.run()
    no_errors(at)
    assert at.title[0].value == "Data explorer"
    assert any("Single-user mode" in c.value for c in at.sidebar.caption)


def test_accounts_sign_in_and_a_viewer_cannot_train(tmp_path, monkeypatch):
    from core.governance import accounts

    folder = tmp_path / "lake"
    lake = Lake.open(folder)
    demo.build(lake, rows=1_000, with_transactions=False)
    accounts.add(lake, "vera", role="viewer", actor="local", password="viewer password 1")
    # no wait after one wrong password here (tests/test_identity.py covers the back-off and the lock)
    accounts.set_sign_in_policy(lake, actor="local", backoff_seconds=0)
    lake.close()
    monkeypatch.setenv("ASSAY_LAKE", str(folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert at.title[0].value == "Sign in to Assay"
    at.text_input(key="sign_in_name").input("vera")
    at.text_input(key="sign_in_password").input("wrong password!")
    at.button[0].click().run()
    assert "wrong password" in at.error[0].value
    at.text_input(key="sign_in_password").input("viewer password 1")
    at.button[0].click().run()
    no_errors(at)
    assert at.title[0].value == "Data explorer"
    assert any("Signed in as **vera** (viewer)" in c.value for c in at.sidebar.caption)
    at.switch_page("pages/train.py").run()
    no_errors(at)
    assert at.button(key="train_go").disabled and any("may not train" in c.value for c in at.caption)


def test_operations_page_scores_checks_drift_and_lists_jobs(app, reviewed, page_lake):
    from core.governance import registry

    lake = Lake.open(page_lake)
    registry.register(lake, reviewed.run_id, name="ops_model", actor="t", alias="champion")
    lake.close()
    at = app.run().switch_page("pages/operations.py").run()
    no_errors(at)
    at.selectbox(key="ops_model").select("ops_model").run()
    at.selectbox(key="ops_score_dataset").select("applications_batch2")
    at.button(key="ops_score_go").click().run()
    no_errors(at)
    assert [m.label for m in at.metric][:4] == ["Rows", "Rejected", "Rows per second", "Output"]
    at.selectbox(key="ops_drift_dataset").select("applications_batch2")
    at.button(key="ops_drift_go").click().run()
    no_errors(at)
    assert any("features drifted" in s.value for s in at.success) or at.warning
    assert any("Prediction drift" in m.value for m in at.markdown)


def test_review_meeting_pins_decides_presents_and_exports(app, reviewed, page_lake):
    at = app.run().switch_page("pages/meeting.py").run()
    no_errors(at)
    at.selectbox(key="_review_picker").select(reviewed.review_id).run()
    at.text_input(key="pin_title").input("Group B misses more defaults").run()
    at.selectbox(key="pin_component").select("fairness")
    at.text_input(key="pin_settings").input('{"sensitive": ["race_ethnicity"]}')
    at.button(key="pin_go").click().run()
    no_errors(at)
    assert any(h.value == "Group B misses more defaults" for h in at.header)
    finding = at.query_params["finding"][0] if isinstance(at.query_params["finding"], list) else at.query_params["finding"]
    at.selectbox(key=f"decision_{finding}").select("must_fix")
    at.text_input(key=f"decision_reason_{finding}").input("Before release").run()
    at.button(key=f"decide_{finding}").click().run()
    no_errors(at)
    at.text_input(key=f"comment_{finding}").input("Seen in the meeting")
    at.button(key=f"FormSubmitter:comment_form_{finding}-Add the comment").click().run()
    no_errors(at)
    assert any("Seen in the meeting" in m.value for m in at.markdown)
    assert at.text_input(key=f"comment_{finding}").value == ""  # the box clears: no double submit
    # Enter and then a click before the page redrew: the second submission carries the same text again
    at.text_input(key=f"comment_{finding}").input("Seen in the meeting")
    at.button(key=f"FormSubmitter:comment_form_{finding}-Add the comment").click().run()
    no_errors(at)
    assert sum("Seen in the meeting" in m.value for m in at.markdown) == 1
    at.text_input(key=f"action_text_{finding}").input("Retrain without region")
    at.text_input(key=f"action_owner_{finding}").input("dana")
    at.button(key=f"FormSubmitter:action_{finding}-Add the action item").click().run()
    no_errors(at)
    assert at.text_input(key=f"action_text_{finding}").value == ""
    at.text_input(key=f"action_text_{finding}").input("Retrain without region")  # sent a second time
    at.text_input(key=f"action_owner_{finding}").input("dana")
    at.button(key=f"FormSubmitter:action_{finding}-Add the action item").click().run()
    assert sum("Retrain without region" in m.value for m in at.markdown) == 1
    at.text_input(key="pin_title").input("Debt leads the model").run()
    at.selectbox(key="pin_component").select("explain")
    at.text_input(key="pin_settings").input("{}")
    at.button(key="pin_go").click().run()  # the link now names this second finding
    no_errors(at)
    at.toggle(key="meeting_present").set_value(True).run()
    no_errors(at)
    from core.governance import findings

    lake = Lake.open(page_lake)
    pinned = findings.list_findings(lake, reviewed.review_id)  # other tests may pin on this review too
    lake.close()
    assert len(pinned) >= 2 and pinned[-1]["title"] == "Debt leads the model"
    assert any(c.value == f"Finding 1 of {len(pinned)}" for c in at.caption)  # opens on the first finding
    assert [h.value for h in at.header] == [pinned[0]["title"]]
    assert not at.main.text_input and not at.main.get("date_input")  # no editing control is left
    assert [b.key for b in at.main.button] == ["present_prev", "present_next"]
    shown = pinned[0]["finding_id"] == finding  # comments and items still shown, without their boxes
    assert any("Seen in the meeting" in m.value for m in at.markdown) or not shown
    at.toggle(key="meeting_present").set_value(False).run()
    at.button(key="meeting_export_go").click().run()
    no_errors(at)
    assert len(at.get("download_button")) == 1


def test_side_by_side_page(app, reviewed, page_lake):
    from core import review, training

    lake = Lake.open(page_lake)
    other = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"],
                           sensitive=["sex", "race_ethnicity"]).runs[0]
    review.create(lake, run_id=other.run_id, actor="t")
    lake.close()
    at = app.run().switch_page("pages/side_by_side.py").run()
    at.selectbox(key="sbs_a").select(reviewed.run_id)
    at.selectbox(key="sbs_b").select(other.run_id).run()
    no_errors(at)
    assert [s.value for s in at.subheader][:3] == ["Metrics on the held-out rows", "Fairness by group", "Top features"]


def test_reviews_page_shows_each_components_time_estimate_before_it_starts(app, reviewed):
    from core import review

    at = app.run().switch_page("pages/reviews.py").run()
    at.selectbox(key="new_review_run").select(reviewed.run_id).run()
    at.multiselect(key="new_review_components").set_value(["explain", "errors", "counterfactuals"]).run()
    no_errors(at)
    plan = review.estimate(["explain", "errors", "counterfactuals"], rows=reviewed.rows, cf_rows=100, cf_count=5)
    assert f"About **{sum(e.seconds for e in plan):,.0f} s** on 2 cores" in [c.value for c in at.caption]
    bars = [p.proto.text for p in at.get("progress")]
    assert bars == [f"{e.component} · about {e.seconds:,.0f} s ({e.basis})" for e in plan]
