"""Pages whose state must match what was just done (AppTest over a real lake): accounts made in the app, the
monitoring page's defaults, the dataset the explorer opens after an upload, the registry after a promotion,
the lifecycle's reviewed runs, and page titles that match the sidebar."""
from __future__ import annotations

import ast

import pytest
from streamlit.testing.v1 import AppTest

from support import ROOT
from core.data import demo
from core.lake import Lake

TIMEOUT = 120


@pytest.fixture(scope="module")
def lake_folder(tmp_path_factory):
    from core import review, training
    from core.governance import registry
    from core.operations import drift, scoring

    folder = tmp_path_factory.mktemp("state") / "lake"
    lake = Lake.open(folder)
    demo.build(lake, rows=2_500)
    run = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
    review.create(lake, run_id=run.run_id, actor="t", components=["overview", "fairness"])
    registry.set_required_approvals(lake, {"data_science_lead": 1}, actor="local")
    registry.register(lake, run.run_id, name="credit", actor="t", alias="challenger")
    registry.signoff(lake, "credit@1", decision="approve", comment="ok", actor="dana", role="data_science_lead")
    scoring.score(lake, "credit@1", dataset="applications_batch2", actor="t")
    report = drift.report(lake, "credit@1", dataset="applications_batch2", actor="t", drift_share=1.0)
    lake.close()
    return folder, run, report


def app_at(folder, monkeypatch) -> AppTest:
    monkeypatch.setenv("ASSAY_LAKE", str(folder))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_every_page_title_is_its_sidebar_title():
    tree = ast.parse((ROOT / "app.py").read_text())
    pages = ast.literal_eval(next(n.value for n in tree.body if isinstance(n, ast.Assign)
                                  and getattr(n.targets[0], "id", "") == "PAGES"))
    for script, title, _ in [entry for section in pages.values() for entry in section]:
        source = ast.parse((ROOT / script).read_text())
        titles = [n.args[0].value for n in ast.walk(source) if isinstance(n, ast.Call)
                  and getattr(n.func, "attr", "") == "title" and getattr(n.func.value, "id", "") == "st"]
        assert titles == [title], script


def test_promote_then_the_registry_shows_the_new_aliases(lake_folder, monkeypatch):
    folder, _, _ = lake_folder
    at = app_at(folder, monkeypatch).run().switch_page("pages/models.py").run()
    no_errors(at)
    assert at.dataframe[0].value["aliases"].tolist() == ["challenger → v1"]
    at.button(key="promote_go_credit@1").click().run()
    no_errors(at)
    assert any("credit@1 is now champion" in s.value for s in at.success)
    assert at.dataframe[0].value["aliases"].tolist() == ["champion → v1"]  # not "challenger → v1, champion → v1"
    assert [m.value for m in at.metric][2] == "champion"
    at.switch_page("pages/lifecycle.py").run()
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["runs reviewed"] == "1" and metrics["champion"] == "1"  # the champion's review counts


def test_monitoring_opens_on_the_champion_and_the_newest_scored_batch(lake_folder, monkeypatch):
    from core.governance import registry

    folder, _, report = lake_folder
    lake = Lake.open(folder)
    if "champion" not in registry.get(lake, "credit@1").aliases:
        registry.promote(lake, "credit@1", alias="champion", actor="t")
    lake.close()
    at = app_at(folder, monkeypatch).run().switch_page("pages/operations.py").run()
    no_errors(at)
    assert at.title[0].value == "Scoring & monitoring"
    assert at.selectbox(key="ops_ref_credit").value == "credit@champion"
    assert at.selectbox(key="ops_drift_dataset").value == "applications_batch2"  # not the training data
    assert at.selectbox(key="ops_score_dataset").value == "applications_batch2"
    at.button(key="ops_drift_go").click().run()
    no_errors(at)
    drifted = at.session_state["ops_drift"]
    assert drifted["prediction_drift"]["drifted"] and not drifted["retrain_recommended"]  # drift_share 0.5 of 13
    said = [w.value for w in at.warning] + [s.value for s in at.success]
    assert not any("no retraining needed" in text for text in said)
    assert any("predictions drifted" in text for text in said)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1 + len(drifted["drifted_features"]) + 1  # by feature, one per drifted feature, the trend
    assert report["features"][0]["distribution"]["kind"] in ("numeric", "categorical")


def test_the_explorer_names_the_dataset_just_ingested(lake_folder, monkeypatch, tmp_path):
    from support import write_csv

    folder, _, _ = lake_folder
    at = app_at(folder, monkeypatch).run()
    assert at.selectbox(key="explorer_dataset").value == "applications"
    at.switch_page("pages/datasets.py").run()
    csv = write_csv(tmp_path / "branches.csv", "store,sales\n1,2.5\n2,3.5\n")
    at.text_input(key="path_file").input(str(csv)).run()
    at.text_input(key="path_name").input("branches")
    at.button(key="path_go").click().run()
    no_errors(at)
    at.switch_page("pages/explorer.py").run()
    no_errors(at)
    assert at.selectbox(key="explorer_dataset").value == "branches"


def test_an_admin_makes_accounts_in_the_app(tmp_path, monkeypatch):
    from core.governance import accounts

    folder = tmp_path / "lake"
    Lake.open(folder).close()
    at = app_at(folder, monkeypatch).run().switch_page("pages/accounts.py").run()
    no_errors(at)
    assert at.selectbox(key="account_add_role").options == ["admin"]  # the first account administers
    at.text_input(key="account_add_name").input("ada")
    at.text_input(key="account_add_password").input("admin password 1")
    at.text_input(key="account_add_again").input("admin password 1")
    at.button(key="FormSubmitter:account_add-Add the account").click().run()
    no_errors(at)
    assert at.session_state["actor"] == "ada"  # this session goes on as the admin it made
    assert any("Signed in as **ada** (admin)" in c.value for c in at.sidebar.caption)
    at.text_input(key="account_add_name").input("dana")
    at.selectbox(key="account_add_role").select("approver")
    at.text_input(key="account_add_password").input("short")
    at.text_input(key="account_add_again").input("short")
    at.button(key="FormSubmitter:account_add-Add the account").click().run()
    assert not at.exception and "at least 10 characters" in at.error[0].value
    at.text_input(key="account_add_password").input("approver pass 1")
    at.text_input(key="account_add_again").input("approver pass 1")
    at.multiselect(key="account_add_grant").select("risk_compliance")
    at.button(key="FormSubmitter:account_add-Add the account").click().run()
    no_errors(at)
    lake = Lake.open(folder)
    try:
        assert {a.name: a.role for a in accounts.list_accounts(lake)} == {"ada": "admin", "dana": "approver"}
        assert accounts.all_signoff_roles(lake) == {"dana": ["risk_compliance"]}
    finally:
        lake.close()
    table = at.dataframe[0].value.set_index("account")
    assert table.loc["dana", "sign-off roles"] == "risk_compliance" and table.loc["ada", "sign-off roles"] == "none"
