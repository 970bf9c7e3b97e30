"""The validation suite (core.validation): each problem planted on purpose makes the right check fail and name
the column or rows; the clean demo model passes the leakage checks; bad input gets the checks that apply and a
reason for the rest; the results reach the review, the CLI, the findings, the scorecard, the gate and the page."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import review, training, validation
from core.cli import main
from core.data import datasets, demo
from core.errors import InputError
from core.governance import findings, registry, scorecard

from support import ROOT, credit_model, lake_state

ROWS = 8_000


@pytest.fixture(scope="module")
def credit(tmp_path_factory):
    """The clean credit demo model (LightGBM over sex and race_ethnicity) and a review with the checks."""
    lake, run = credit_model(tmp_path_factory.mktemp("checks") / "lake", rows=ROWS, algorithm="lightgbm")
    made = review.create(lake, run_id=run.run_id, actor="t", components=["checks"])
    yield lake, run, made
    lake.close()


@pytest.fixture(scope="module")
def suite(credit):
    lake, run, _ = credit
    return validation.run_checks(lake, run.run_id)


def by_name(result) -> dict:
    return {c.check: c for c in result.checks}


def planted_frame(rows: int) -> pd.DataFrame:
    """The demo's applications with three planted problems: a column copying the label with 3% noise, 8% of the
    rows duplicated (copies fall on both sides of the split), and ids assigned so that they encode the label."""
    frame, _ = demo.applications(rows, seed=11)
    rng = np.random.default_rng(3)
    frame["settled_flag"] = np.where(rng.random(rows) < 0.03, 1 - frame["defaulted"], frame["defaulted"])
    frame["country"] = "NL"  # a single value
    frame["branch"] = rng.choice(["North", "north ", "South", "S-outh", "east"], rows)  # spellings of one value
    frame["branch_code"] = np.where(rng.random(rows) < 0.05, "A12", rng.integers(100, 999, rows).astype(str))
    conflicting = frame.sample(int(rows * 0.03), random_state=2).assign(defaulted=lambda f: 1 - f["defaulted"])
    frame = pd.concat([frame, frame.sample(int(rows * 0.08), random_state=1), conflicting], ignore_index=True)
    order = np.lexsort((rng.random(len(frame)), frame["defaulted"].to_numpy()))  # every default after every repayment
    frame["applicant_id"] = np.empty(len(frame), dtype=np.int64)
    frame.loc[order, "applicant_id"] = np.arange(1, len(frame) + 1)
    return frame


@pytest.fixture(scope="module")
def planted(credit):
    lake, _, _ = credit
    datasets.ingest_frame(lake, planted_frame(5_000), name="planted", actor="t", usecase=demo.USECASE)
    run = training.train(lake, dataset="planted", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex"], exclude=["applicant_id", "applied_at"]).runs[0]
    return run, validation.run_checks(lake, run.run_id, only="feature_label_leakage,train_test_overlap,identifier_label,"
                                                             "single_value,mixed_types,string_mismatch,conflicting_labels")


def test_a_column_copying_the_label_fails_feature_label_leakage_by_name(planted):
    run, result = planted
    check = by_name(result)["feature_label_leakage"]
    assert check.status == "fail" and check.severity == "critical"
    assert check.evidence["leaking"] == ["settled_flag"] and "settled_flag" in check.summary
    assert check.evidence["features"]["settled_flag"] >= check.conditions["fail_auc"]  # its single-feature ROC AUC
    assert list(check.evidence["features"])[0] == "settled_flag"


def test_rows_duplicated_across_the_split_fail_train_test_overlap_with_their_row_ids(credit, planted):
    lake, _, _ = credit
    run, result = planted
    check = by_name(result)["train_test_overlap"]
    assert check.status == "fail" and check.evidence["shared_rows"] > 0
    version = datasets.get(lake, "planted")
    rows = datasets.read_frame(lake, version, with_row_ids=True).set_index("__row_id")
    held = set(training.held_out_ids(lake, run.run_id).tolist())
    columns = run.feature_names + [run.target]
    for held_id, train_id in zip(check.evidence["held_out_row_ids"], check.evidence["training_row_ids"]):
        assert held_id in held and train_id not in held  # named rows on each side of the split
        assert rows.loc[held_id, columns].equals(rows.loc[train_id, columns])


def test_an_id_that_encodes_the_label_fails_identifier_label_by_name(planted):
    _, result = planted
    check = by_name(result)["identifier_label"]
    assert check.status == "fail" and check.evidence["column"] == "applicant_id"
    assert "applicant_id" in check.summary and check.evidence["columns"]["applicant_id"] >= 0.9


def test_planted_data_problems_are_named(planted):
    _, result = planted
    checks = by_name(result)
    assert checks["single_value"].status == "warn" and checks["single_value"].evidence["columns"] == ["country"]
    mixed = checks["mixed_types"].evidence["columns"]
    assert [m["column"] for m in mixed] == ["branch_code"] and mixed[0]["text_examples"] == ["A12"]
    assert 0.9 < mixed[0]["numbers_share"] < 0.99
    variants = {(v["column"], tuple(v["variants"])) for v in checks["string_mismatch"].evidence["variants"]}
    assert variants == {("branch", ("North", "north ")), ("branch", ("S-outh", "South"))}
    conflicting = checks["conflicting_labels"]
    assert conflicting.status == "fail" and conflicting.evidence["groups"] >= 150 and conflicting.evidence["row_ids"]


def test_the_clean_demo_model_passes_the_leakage_checks(suite):
    leakage = [c for c in suite.checks if c.category == "leakage"]
    assert {c.check for c in leakage} == {"train_test_overlap", "identifier_label", "feature_label_leakage",
                                          "batch_vs_row"}
    assert all(c.status == "pass" for c in leakage), [(c.check, c.summary) for c in leakage]
    skipped = {s["check"]: s["reason"] for s in suite.skipped}
    assert list(skipped) == ["date_leakage"] and "at random, not by time" in skipped["date_leakage"]


def test_the_demo_noisy_cohort_is_the_first_weak_slice(suite):
    check = by_name(suite)["weak_slices"]
    assert check.status == "fail"
    first = check.evidence["slices"][0]
    conditions = {c["column"]: c for c in first["conditions"]}
    assert set(conditions) == {"employment", "age"}
    assert conditions["employment"]["op"] == "==" and conditions["employment"]["value"] == "self_employed"
    assert conditions["age"]["op"] == "<" and conditions["age"]["value"] <= 42
    assert first["q_value"] <= check.conditions["fdr"] and first["rows"] >= check.conditions["min_rows"]
    assert all(s["rows"] >= 20 for s in check.evidence["slices"])
    assert check.evidence["rows"] == suite.rows  # every held-out row, no sample


class _Wrapped:
    """The run's real model with one planted defect in its probabilities."""

    def __init__(self, model, defect: str):
        self.model, self.defect, self.rng = model, defect, np.random.default_rng(0)
        self.classes_ = getattr(model, "classes_", None)

    def predict_proba(self, X):
        proba = np.asarray(self.model.predict_proba(X), dtype=float)
        if self.defect == "random":  # a different answer every call
            score = np.clip(proba[:, 1] + self.rng.normal(0, 0.05, len(X)), 0, 1)
        elif self.defect == "batch":  # depends on the batch it is scored in
            score = np.clip(proba[:, 1] + (0.2 if len(X) == 1 else 0.0), 0, 1)
        else:  # miscalibrated: probabilities pushed far towards 0
            score = proba[:, 1] ** 4
        return np.column_stack([1 - score, score])

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


@pytest.mark.parametrize("defect, check", [("random", "stochasticity"), ("batch", "batch_vs_row"),
                                           ("miscalibrated", "calibration")])
def test_a_planted_model_defect_fails_its_check_naming_rows(credit, defect, check):
    lake, run, _ = credit
    trained = training.open_run(lake, run.run_id)
    assert trained.positive_index == 1
    wrapped = training.TrainedRun(run=trained.run, model=_Wrapped(trained.model, defect), threshold=trained.threshold)
    result = by_name(validation.run_checks(lake, wrapped, only=check))[check]
    assert result.status == "fail", result.summary
    if check == "calibration":
        assert result.evidence["ece"] >= result.conditions["fail_ece"] and "over" not in result.summary.split("ECE")[1][:30]
        assert result.evidence["mean_predicted"] < result.evidence["observed_rate"]
    else:
        held = set(training.held_out_ids(lake, run.run_id).tolist())
        assert result.evidence["row_ids"] and set(result.evidence["row_ids"]) <= held
        assert str(result.evidence["row_ids"][0]) in result.summary or check == "stochasticity"


def test_the_clean_model_is_repeatable_and_batch_independent_and_calibrated(credit, suite):
    _, run, _ = credit
    checks = by_name(suite)
    for name in ("stochasticity", "batch_vs_row", "calibration", "baseline"):
        assert checks[name].status == "pass", (name, checks[name].summary)
    overfit = checks["overfit"].evidence  # held-out ROC AUC: the run's own, on the same rows
    assert overfit["held_out"] == pytest.approx(run.metrics["roc_auc"], abs=1e-12)
    assert checks["baseline"].evidence["model"] == pytest.approx(run.metrics["roc_auc"], abs=1e-12)
    assert overfit["gap"] == pytest.approx(overfit["training"] - overfit["held_out"])
    limits = checks["overfit"].conditions
    assert checks["overfit"].status == ("fail" if overfit["gap"] >= limits["fail_gap"] else
                                        "warn" if overfit["gap"] >= limits["warn_gap"] else "pass")
    curve = checks["calibration"].evidence["reliability_curve"]
    assert sum(b["rows"] for b in curve) == suite.rows


def test_conformal_coverage_by_sensitive_group(suite):
    check = by_name(suite)["conformal_coverage"]
    e = check.evidence
    assert e["confidence"] == 0.9 and abs(e["coverage"] - 0.9) < 0.05
    assert {g["column"] for g in e["groups"]} == {"sex", "race_ethnicity"}
    for column in ("sex", "race_ethnicity"):
        assert sum(g["rows"] for g in e["groups"] if g["column"] == column) == e["judged_rows"]
    assert e["calibration_rows"] + e["judged_rows"] == suite.rows


def test_every_check_has_the_result_shape(suite):
    names = [c.check for c in suite.checks] + [s["check"] for s in suite.skipped]
    assert sorted(names) == sorted(validation.ORDER)
    for check in suite.checks:
        out = check.to_dict()
        assert out["status"] in ("pass", "warn", "fail") and out["severity"] in validation.SEVERITIES
        assert out["summary"].endswith(".") and out["conditions"] == validation.conditions(None, None)[check.check]
        json.dumps(out, allow_nan=False)
    assert suite.counts == {s: sum(c.status == s for c in suite.checks) for s in ("pass", "warn", "fail")}


def test_a_use_case_overrides_a_condition_and_bad_overrides_change_nothing(tmp_path):
    lake, run = credit_model(tmp_path / "lake", rows=3_000, algorithm="logistic")
    try:
        before = lake_state(lake)
        for bad, message in [({"calibrationx": {}}, "Unknown check"), ({"calibration": {"fail_eec": 1}}, "no condition"),
                             ({"calibration": {"fail_ece": "high"}}, "is a number")]:
            with pytest.raises(InputError, match=message):
                validation.set_conditions(lake, demo.USECASE, bad, actor="t")
        assert lake_state(lake) == before
        validation.set_conditions(lake, demo.USECASE, {"calibration": {"warn_ece": 0.0, "fail_ece": 0.0}}, actor="t")
        check = validation.run_checks(lake, run.run_id, only="calibration").checks[0]
        assert check.status == "fail" and check.conditions["fail_ece"] == 0.0 and check.conditions["bins"] == 10
        with pytest.raises(InputError, match="Unknown check"):
            validation.run_checks(lake, run.run_id, only="calibration,nope")
        with pytest.raises(InputError, match="no column"):
            validation.run_checks(lake, run.run_id, sensitive=["nope"])
    finally:
        lake.close()


def test_regression_and_multiclass_runs_get_the_checks_that_apply(credit):
    lake, _, _ = credit
    for target, task in (("loan_amount", "regression"), ("home_ownership", "multiclass")):
        run = training.train(lake, dataset="applications", target=target, task=task, actor="t", algorithms=["lightgbm"],
                             sensitive=["sex"], exclude=["applicant_id", "applied_at"]).runs[0]
        result = validation.run_checks(lake, run.run_id)
        skipped = {s["check"]: s["reason"] for s in result.skipped}
        ran = by_name(result)
        assert set(ran) | set(skipped) == set(validation.ORDER)
        assert {"conformal_coverage", "weak_slices", "robustness", "baseline", "feature_label_leakage"} <= set(ran)
        if task == "regression":
            assert {"calibration", "class_imbalance"} <= set(skipped)
            assert "applies to classifiers" in skipped["calibration"] and "regression" in skipped["calibration"]
            assert ran["conformal_coverage"].evidence["size"] == "interval width"
            assert ran["feature_label_leakage"].evidence["measure"] == "R2"
        else:
            assert "calibration" in ran and ran["calibration"].evidence["predicted"] == "probability of the predicted class"
            assert ran["conformal_coverage"].evidence["size"] == "set size"


def test_a_run_without_held_out_rows_and_a_dataset_without_its_columns(credit):
    lake, run, _ = credit
    copy = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"],
                          sensitive=["sex"], exclude=["applicant_id", "applied_at"]).runs[0]
    lake.write(lambda cur: cur.execute("DELETE FROM lake.assay.run_test_rows WHERE run_id = ?", [copy.run_id]),
               actor="t", action="delete", message=f"delete held-out rows of {copy.run_id}")
    result = validation.run_checks(lake, copy.run_id)
    skipped = {s["check"]: s["reason"] for s in result.skipped}
    assert "calibration" in skipped and "no held-out rows" in skipped["calibration"]
    assert {"duplicates", "class_imbalance", "feature_label_leakage"} <= set(by_name(result))
    assert "seeded half" in by_name(result)["feature_label_leakage"].evidence["how"]

    frame = datasets.read_frame(lake, datasets.get(lake, "applications")).drop(columns=["income"])
    datasets.ingest_frame(lake, frame, name="no_income", actor="t", usecase=demo.USECASE)
    result = validation.run_checks(lake, run.run_id, dataset="no_income")
    skipped = {s["check"]: s["reason"] for s in result.skipped}
    assert "'income'" in skipped["calibration"] and "no_income@1" in skipped["calibration"]
    assert {"duplicates", "single_value", "outliers"} <= set(by_name(result))


def test_the_checks_command_prints_the_contract(credit):
    lake, run, _ = credit
    out = io.StringIO()
    code = main(["--lake", str(lake.config.folder), "checks", "--run", run.run_id, "--only",
                 "duplicates,calibration,date_leakage", "--sensitive", "sex"], out=out)
    printed = json.loads(out.getvalue())
    assert code == 0 and set(printed) >= {"checks", "counts", "seconds", "skipped"}
    assert [c["check"] for c in printed["checks"]] == ["duplicates", "calibration"]
    for check in printed["checks"]:
        assert set(check) == {"check", "category", "status", "severity", "summary", "evidence", "conditions"}
    assert printed["counts"] == {s: sum(c["status"] == s for c in printed["checks"]) for s in ("pass", "warn", "fail")}
    assert printed["skipped"][0]["check"] == "date_leakage"
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "checks", "--run", run.run_id, "--only", "nope"], out=out) == 2
    assert "Unknown check" in json.loads(out.getvalue())["error"]


def test_the_review_component_feeds_drafts_the_scorecard_and_the_gate(credit):
    lake, run, made = credit
    stored = review.results(lake, made.review_id)["checks"]
    assert stored["run_id"] == run.run_id and "checks" in made.timings
    failed = [c["check"] for c in stored["checks"] if c["status"] == "fail" and c["severity"] in ("high", "critical")]
    drafts = findings.drafts(lake, made.review_id)
    assert [d["settings"]["check"] for d in drafts] == failed
    view = validation_view(stored, "weak_slices")
    assert view.sections[0].charts and view.sections[0].title.startswith("weak_slices")
    if drafts:
        pinned = findings.pin(lake, made.review_id, actor="t", **drafts[0])
        assert pinned["component"] == "checks" and findings.drafts(lake, made.review_id) == drafts[1:]
    version = registry.register(lake, run.run_id, name="credit_checks", actor="t", review_id=made.review_id)
    assert version.gate["validation"]["required"] is True
    assert version.gate["validation"]["failed_critical"] == validation.failed_critical(stored)
    card = scorecard.build(lake, version.ref)
    sections = dict(scorecard._sections(card))
    assert "Validation checks" in sections
    assert any(kind == "table" and "weak_slices" in [r[0] for r in content.rows]
               for kind, content in sections["Validation checks"])


def validation_view(stored: dict, check: str):
    from core import review_views

    return review_views.render("checks", {"checks": stored}, {"check": check})


def test_the_gate_fails_on_a_failed_critical_check_unless_the_rule_is_off(credit):
    lake, _, _ = credit
    stored = {"checks": [{"check": "feature_label_leakage", "status": "fail", "severity": "critical", "summary": "x."}]}
    gate = validation.apply_gate(lake, demo.USECASE, {"status": "skipped", "reason": "No champion yet."}, stored)
    assert gate["status"] == "failed" and gate["validation"]["failed_critical"] == ["feature_label_leakage"]
    validation.set_gate_rule(lake, demo.USECASE, False, actor="t")
    try:
        gate = validation.apply_gate(lake, demo.USECASE, {"status": "skipped"}, stored)
        assert gate["status"] == "skipped" and gate["validation"]["required"] is False
    finally:
        validation.set_gate_rule(lake, demo.USECASE, True, actor="t")


def test_the_validation_page_shows_the_table_a_drill_down_and_pin(credit, monkeypatch):
    lake, _, made = credit
    monkeypatch.setenv("ASSAY_LAKE", str(lake.config.folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/validation.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Validation checks"
    stored = review.results(lake, made.review_id)["checks"]
    table = at.dataframe[0].value
    assert sorted(table["check"]) == sorted(c["check"] for c in stored["checks"])
    assert dict(zip(table["check"], table["status"])) == {c["check"]: c["status"] for c in stored["checks"]}
    assert [m.value for m in at.metric][:3] == [str(stored["counts"][s]) for s in ("pass", "warn", "fail")]
    at.selectbox(key="checks_drill").select("calibration").run()
    assert not at.exception and any("calibration" in m.value for m in at.markdown)
    calibration = next(c for c in stored["checks"] if c["check"] == "calibration")
    shown = next(d.value for d in at.dataframe if list(d.value.columns) == ["evidence", "value"])
    scalars = {k: v for k, v in calibration["evidence"].items() if isinstance(v, (int, float, str, bool)) or v is None}
    assert list(shown["evidence"]) == list(scalars)  # every scalar, each at 4 significant digits
    for name, value in scalars.items():
        said = shown.set_index("evidence").loc[name, "value"]
        if value is None:
            assert said is None or said != said, name
        else:
            assert (float(said) == float(f"{value:.4g}")) if isinstance(value, float) else str(said) == str(value), name
    assert at.get("vega_lite_chart")  # the reliability curve
