"""The review pages under AppTest: a row picked by clicking it in a table is explained and edited in
what-if (original beside edited, SHAP changes), partial dependence is drawn for every stored feature
with no library text, and a cohort chosen once (from an error-tree node) is named on every review page."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import review, training
from core.analysis.whatif import WhatIf
from core.data import demo
from core.lake import Lake

from support import ROOT

TIMEOUT = 120
RAW = ("not supported", "integer data", "Traceback", "ValueError", "{'")


@pytest.fixture(scope="module")
def reviewed_lake(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rows_pages") / "lake"
    lake = Lake.open(folder)
    demo.build(lake, rows=3_000, with_transactions=False)
    run = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"]).runs[0]
    made = review.create(lake, run_id=run.run_id, actor="t")
    lake.close()
    return folder, run, made


@pytest.fixture
def app(reviewed_lake, monkeypatch):
    monkeypatch.setenv("ASSAY_LAKE", str(reviewed_lake[0]))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at: AppTest) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "info", "warning", "success") for e in at.get(kind)]


def click_row(at: AppTest, key: str, position: int) -> AppTest:
    """What a click on a table row does: the dataframe's selection state names that row."""
    at.session_state[key] = {"selection": {"rows": [position], "columns": [], "cells": []}}
    return at.run()


def test_a_row_clicked_in_the_table_is_explained(app, reviewed_lake):
    folder, run, made = reviewed_lake
    at = app.run().switch_page("pages/explainability.py").run()
    no_errors(at)
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["row", "applicant_id", "defaulted (true)", "predicted defaulted"]
    assert any("Click a row in the table" in t for t in texts(at))
    at = click_row(at, f"explain_rows_{made.review_id}_", 4)
    no_errors(at)
    picked = table.iloc[4]
    said = [t for t in texts(at) if t.startswith(f"**Row {picked['row']}**")]
    assert said and f"applicant_id {picked['applicant_id']}" in said[0]
    assert f"predicted **defaulted = {picked['predicted defaulted']}**" in said[0]
    assert at.session_state["explain_row"] == picked["row"]
    lake = Lake.open(folder)
    stored = review.local_explanation(lake, made, int(picked["row"]))
    curves = review.results(lake, made.review_id)["explain"]["partial_dependence"]
    lake.close()
    assert any("contribution (from base value" in c.proto.spec for c in at.get("vega_lite_chart"))
    shown = at.dataframe[1].value
    assert list(shown["feature"]) == list(stored["feature"]) and list(shown["value"]) == list(stored["value"])
    assert shown["shap"].to_numpy() == pytest.approx(stored["shap"].to_numpy())  # the review's stored SHAP values
    # Partial dependence: a chart for every stored feature (integer columns too), no library text anywhere.
    pd_charts = [c for c in at.get("vega_lite_chart") if "partial dependence (red) and ICE" in c.proto.spec]
    assert len(pd_charts) == len(curves) and {"counselling", "credit_history_months"} & {c["feature"] for c in curves}
    assert not [t for t in texts(at) if any(raw in t for raw in RAW)]


def test_what_if_on_a_clicked_row_shows_original_edited_and_shap_changes(app, reviewed_lake):
    folder, run, made = reviewed_lake
    at = app.run().switch_page("pages/counterfactuals.py").run()
    no_errors(at)
    assert at.selectbox(key="_run_picker").value == run.run_id
    table = next(d.value for d in at.dataframe if "applicant_id" in d.value)  # the explained rows
    at = click_row(at, f"whatif_rows_{made.review_id}_", 2)
    no_errors(at)
    row_id = int(table.iloc[2]["row"])
    at.number_input(key=f"whatif_{run.run_id}_{row_id}_late_payments_12m").set_value(6).run()
    no_errors(at)
    lake = Lake.open(folder)
    tool = WhatIf.open(lake, run.run_id)
    original = tool.row(lake, row_id)
    lake.close()
    expected = tool.compare(original, dict(original, late_payments_12m=6))
    metrics = {m.label: m for m in at.metric}
    assert metrics["Original row"].value == f"defaulted = {expected['original']['prediction']}"
    assert metrics["Edited row"].value == f"defaulted = {expected['edited']['prediction']}"
    assert metrics["Edited row"].delta == f"{expected['edited']['score'] - expected['original']['score']:+.1%}"
    assert any("changed: late_payments_12m" in t for t in texts(at))
    deltas = next(d.value for d in at.dataframe if "SHAP change" in d.value).set_index("feature")
    for entry in expected["features"]:
        assert deltas.loc[entry["feature"], "SHAP change"] == pytest.approx(entry["shap_change"])
    assert deltas.loc["late_payments_12m", "SHAP change"] != 0
    assert any(t.startswith("**Nearest counterfactual**") for t in texts(at))
    at.button(key=f"whatif_try_{row_id}").click().run()  # load the counterfactual into the edit boxes
    no_errors(at)
    assert at.metric[1].value != f"defaulted = {expected['original']['prediction']}"


def test_a_cohort_picked_once_is_named_and_applied_on_every_review_page(app, reviewed_lake):
    folder, run, made = reviewed_lake
    at = app.run().switch_page("pages/error_analysis.py").run()
    no_errors(at)
    node = next(b for b in at.button if b.key.startswith("errors_node_"))
    node.click().run()
    no_errors(at)
    name = at.session_state["cohort"]
    assert any(f"Cohort **{name}**" in s.value and "every review page" in s.value for s in at.success)
    lake = Lake.open(folder)
    from core.data import cohorts

    saved = cohorts.get(lake, name, usecase=demo.USECASE)
    rows = review.cohort_metrics(lake, made, saved.conditions)["cohort"]["rows"]
    lake.close()
    for page in ("model_overview", "explainability", "fairness", "counterfactuals", "error_analysis"):
        at.switch_page(f"pages/{page}.py").run()
        no_errors(at)
        assert at.selectbox(key="_cohort_picker").value == name, page
        assert any(t.startswith(f":material/filter_alt: Cohort **{name}**") for t in texts(at)), page
        if page == "model_overview":
            assert any(f"{rows:,} rows of applications@1" in c.value and name in c.value for c in at.caption)
        if page == "error_analysis":
            assert f"{rows:,} rows" in at.metric[0].help
    at.selectbox(key="_cohort_picker").select("All rows").run()
    no_errors(at)
    assert at.session_state["cohort"] is None and any("Cohort: **all rows**" in c.value for c in at.caption)
