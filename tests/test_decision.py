"""One decision rule from training to the endpoint: a binary run trained at threshold 0.3 is reviewed,
gated, scored and served at 0.3; a registered version changes its threshold only through an
audited registry action, after which scoring and the endpoint decide at the new one."""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from core.governance import accounts, registry
from core.lake import audit
from core.analysis import counterfactuals
from core.data import datasets, demo
from core import review, training
from core.operations import scoring
from core.cli import main
from core.errors import InputError
from core.lake import Lake
from core.lake.permissions import PermissionDenied
from core.analysis.whatif import WhatIf

from support import DEMO_ROWS, lake_state

THRESHOLD = 0.3


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The demo lake with two binary runs trained at 0.3 on the same split: lightgbm registered as the
    champion (credit@1), logistic as the challenger (credit@2, gated against it)."""
    lake = Lake.open(tmp_path_factory.mktemp("decision") / "lake")
    demo.build(lake, rows=DEMO_ROWS, with_transactions=False)
    result = training.train(lake, dataset="applications", target="defaulted", actor="t",
                            algorithms=["lightgbm", "logistic"], sensitive=["sex", "race_ethnicity"],
                            exclude=["applicant_id", "applied_at"], threshold=THRESHOLD)
    champion, challenger = result.runs
    registry.register(lake, champion.run_id, name="credit", actor="t", alias="champion")
    registry.register(lake, challenger.run_id, name="credit", actor="t", alias="challenger")
    yield lake, champion, challenger
    lake.close()


@pytest.fixture(scope="module")
def reviewed(trained):
    lake, run, _ = trained
    made = review.create(lake, run_id=run.run_id, actor="t", sensitive=["sex", "race_ethnicity"],
                         components=["overview", "errors", "fairness"])
    return made, review.results(lake, made.review_id)


def _scores(lake: Lake, run: training.Run, frame: pd.DataFrame) -> np.ndarray:
    model = training.load_model(lake, run)
    return model.predict_proba(frame[run.feature_names])[:, run.classes.index(run.positive)]


def _between(lake: Lake, run: training.Run, reviewed_rows: pd.DataFrame, n: int) -> list[int]:
    """Held-out rows whose score lies in [0.3, 0.5): positive at the run's threshold, negative at 0.5."""
    inside = reviewed_rows[(reviewed_rows["score"] >= THRESHOLD) & (reviewed_rows["score"] < 0.5)]
    assert len(inside) >= n
    return [int(v) for v in inside["__row_id"].head(n)]


def test_the_run_records_its_threshold_and_the_owner_hands_it_out(trained):
    lake, run, _ = trained
    assert run.metrics["threshold"] == THRESHOLD
    opened = training.open_run(lake, run.run_id)
    assert opened.threshold == THRESHOLD and opened.run == run
    assert list(opened.decide(np.array([0.29, 0.3, 0.31]))) == [False, True, True]
    held = opened.held_out_ids(lake)
    assert len(held) == run.test_rows and (np.diff(held) > 0).all()


def test_review_overview_errors_and_confusion_are_at_the_runs_threshold(trained, reviewed):
    lake, run, _ = trained
    made, results = reviewed
    assert made.rows == run.test_rows
    assert results["errors"]["overall_error_rate"] == pytest.approx(1 - run.metrics["accuracy"], abs=1e-12)
    assert results["overview"]["overall"]["accuracy"] == pytest.approx(run.metrics["accuracy"], abs=1e-12)
    stored = run.metrics["confusion_matrix"]
    matrix = results["overview"]["confusion_matrix"]
    pos = matrix["labels"].index(str(run.positive))
    neg = 1 - pos
    assert {"tn": matrix["matrix"][neg][neg], "fp": matrix["matrix"][neg][pos], "fn": matrix["matrix"][pos][neg],
            "tp": matrix["matrix"][pos][pos]} == stored
    assert made.config["threshold"] == THRESHOLD


def test_the_fairness_component_decides_at_the_runs_threshold(trained, reviewed):
    lake, run, _ = trained
    made, results = reviewed
    stored = results["fairness"]
    assert stored["threshold"] == THRESHOLD
    frame = review.evaluation_frame(lake, made, ["sex", "race_ethnicity"])
    frame = frame[frame["truth_label"].notna()]
    reports = stored["reports"]
    assert [r["sensitive"] for r in reports] == [["sex"], ["race_ethnicity"], ["sex", "race_ethnicity"]]
    for report in reports:
        assert report["groups"]
        for group in report["groups"]:
            mask = np.logical_and.reduce([frame[c].astype(str).to_numpy() == v for c, v in group["group"].items()])
            assert group["count"] == int(mask.sum())
            assert group["selection_rate"] == pytest.approx(float((frame["score"][mask] >= THRESHOLD).mean()), abs=1e-12)


@pytest.mark.parametrize("engine", ["embedded", "dask"])
def test_batch_scoring_predicts_at_the_versions_threshold(trained, engine):
    lake, run, _ = trained
    job = scoring.score(lake, "credit@champion", dataset="applications_batch2", actor="t", engine=engine)
    out = datasets.read_frame(lake, datasets.get(lake, job.output)).sort_values("row_id").reset_index(drop=True)
    batch = datasets.read_frame(lake, datasets.get(lake, "applications_batch2"))
    expected = _scores(lake, run, batch)
    assert np.allclose(out["probability"].to_numpy(), expected)
    positive = out["prediction"] == str(run.positive)
    assert int(positive.sum()) == int((expected >= THRESHOLD).sum())
    assert (positive.to_numpy() == (out["probability"].to_numpy() >= THRESHOLD)).all()
    assert int(positive.sum()) > int((expected >= 0.5).sum())  # the rows between 0.3 and 0.5 count


def test_the_endpoint_predicts_at_the_versions_threshold(trained, monkeypatch):
    from starlette.testclient import TestClient

    from core.operations import serve

    lake, run, _ = trained
    batch = datasets.read_frame(lake, datasets.get(lake, "applications_batch2"), limit=300)
    rows = json.loads(batch[run.feature_names].to_json(orient="records"))
    expected = _scores(lake, run, batch)
    endpoint = serve.Endpoint(lake, "credit@champion", "t")
    with TestClient(serve.app(endpoint)) as client:
        answer = client.post("/predict", json={"rows": rows}).json()
    got = [p["prediction"] == str(run.positive) for p in answer["predictions"]]
    assert got == list(expected >= THRESHOLD)
    assert answer["threshold"] == THRESHOLD
    assert any(THRESHOLD <= s < 0.5 for s in expected)


def test_counterfactuals_and_what_if_decide_at_the_runs_threshold(trained, reviewed):
    lake, run, _ = trained
    made, _ = reviewed
    rows = review.evaluation_frame(lake, made, [])
    picked = _between(lake, run, rows, 3)
    found = counterfactuals.for_run(lake, run.run_id, row_ids=picked, count=2, vary=["income", "debt",
                                                                                    "late_payments_12m"])
    model = training.load_model(lake, run)
    index = run.classes.index(run.positive)
    for row in found["rows"]:
        assert row["prediction"] == run.positive  # its score is at least 0.3
        for cf in row["counterfactuals"]:
            score = model.predict_proba(pd.DataFrame([cf["values"]])[run.feature_names])[0, index]
            assert score < THRESHOLD and cf["prediction"] != run.positive  # valid: the decision at 0.3 flips
    assert sum(len(r["counterfactuals"]) for r in found["rows"]) > 0 and found["threshold"] == THRESHOLD
    tool = WhatIf.open(lake, run.run_id)
    for row_id in picked:
        answer = tool.predict(tool.row(lake, row_id))
        assert THRESHOLD <= answer["score"] < 0.5
        assert answer["prediction"] == run.positive
        assert answer["threshold"] == THRESHOLD


def test_the_gate_evaluates_each_model_at_its_threshold(trained):
    lake, champion, challenger = trained
    gate = registry.get(lake, "credit@2").gate
    assert gate["rows"] == challenger.test_rows
    for side, run in (("candidate", challenger), ("champion", champion)):
        for metric in ("accuracy", "f1", "precision", "recall", "balanced_accuracy"):
            assert gate["all_metrics"][side][metric] == pytest.approx(run.metrics[metric], abs=1e-12), (side, metric)
    assert gate["decision_thresholds"] == {"candidate": THRESHOLD, "champion": THRESHOLD}
    assert registry.get(lake, "credit@1").output.endswith(f"decision at {THRESHOLD:g}")


def test_the_fairness_page_defaults_its_slider_to_the_runs_threshold(trained, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from support import ROOT

    lake, run, _ = trained
    monkeypatch.setenv("ASSAY_LAKE", str(lake.config.folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at = at.switch_page("pages/fairness.py").run()
    at.segmented_control(key="fairness_mode").set_value("A trained model").run()  # a saved review opens first
    at.selectbox(key="_run_picker").select(run.run_id).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="fairness_threshold").value == pytest.approx(THRESHOLD)


def test_set_threshold_is_audited_refused_for_bad_input_and_used_by_scoring(trained, monkeypatch):
    from starlette.testclient import TestClient

    from core.operations import serve

    lake, run, _ = trained
    monkeypatch.setattr(serve, "RESOLVE_SECONDS", 0.0)
    endpoint = serve.Endpoint(lake, "credit@champion", "local")
    assert registry.get(lake, "credit@1").threshold == THRESHOLD
    before = lake_state(lake)
    for bad in (0, 1, float("nan"), "abc", -0.2, None):
        with pytest.raises(InputError, match="strictly between 0 and 1"):
            registry.set_threshold(lake, "credit@1", bad, actor="t", reason="try")
    with pytest.raises(InputError, match="Say why"):
        registry.set_threshold(lake, "credit@1", 0.4, actor="t", reason=" ")
    with pytest.raises(InputError, match="already decides at 0.3"):
        registry.set_threshold(lake, "credit@1", 0.3, actor="t", reason="same")
    assert lake_state(lake) == before
    # A sign-off given before the change no longer counts: the rule it approved is gone.
    registry.signoff(lake, "credit@1", decision="approve", comment="fine at 0.3", actor="alice", role="data_science_lead")
    assert registry.approval_status(lake, "credit@1")["roles"]["data_science_lead"]["approved_by"] == ["alice"]
    accounts.add(lake, "vera", role="viewer", actor="local", oidc=True)
    with pytest.raises(PermissionDenied, match="vera is a viewer and may not edit"):
        registry.set_threshold(lake, "credit@1", 0.6, actor="vera", reason="stricter")
    assert lake.query("SELECT count(*) FROM lake.assay.model_thresholds")[0][0] == 0  # only the refusal is on record
    assert registry.get(lake, "credit@1").threshold == THRESHOLD
    changed = registry.set_threshold(lake, "credit@1", 0.6, actor="local", reason="fewer false positives")
    assert changed["threshold"] == 0.6 and changed["previous"] == THRESHOLD and changed["signoffs_voided"] == 1
    assert changed["approvals"]["roles"]["data_science_lead"]["approved_by"] == []
    version = registry.get(lake, "credit@1")
    assert version.threshold == 0.6 and version.output.endswith("decision at 0.6")
    entry = audit.entries(lake, limit=1, obj="model:credit@1")[0]
    assert entry["action"] == "edit" and entry["actor"] == "local"
    assert entry["details"]["threshold"] == 0.6 and entry["details"]["previous"] == THRESHOLD
    assert entry["details"]["reason"] == "fewer false positives"
    assert audit.verify(lake)["ok"]
    job = scoring.score(lake, "credit@champion", dataset="applications_batch2", actor="local")
    out = datasets.read_frame(lake, datasets.get(lake, job.output))
    positive = (out["prediction"] == str(run.positive)).to_numpy()
    assert (positive == (out["probability"].to_numpy() >= 0.6)).all() and positive.any()
    batch = datasets.read_frame(lake, datasets.get(lake, "applications_batch2"), limit=200)
    rows = json.loads(batch[run.feature_names].to_json(orient="records"))
    with TestClient(serve.app(endpoint)) as client:  # opened at 0.3; follows the change without a restart
        answer = client.post("/predict", json={"rows": rows}).json()
    assert answer["threshold"] == 0.6
    assert [p["prediction"] == str(run.positive) for p in answer["predictions"]] == \
        [p["probability"] >= 0.6 for p in answer["predictions"]]
    # The other version keeps its own (its run's) threshold.
    assert registry.get(lake, "credit@2").threshold == THRESHOLD


def test_set_threshold_through_the_cli(trained):
    lake, _, _ = trained
    folder = str(lake.config.folder)
    out = io.StringIO()
    code = main(["--lake", folder, "model", "threshold", "credit@2", "--threshold", "abc", "--reason", "x"], out=out)
    assert code == 2 and "strictly between 0 and 1" in json.loads(out.getvalue())["error"]
    out = io.StringIO()
    code = main(["--lake", folder, "model", "threshold", "credit@2", "--threshold", "0.45", "--reason", "cost review"],
                out=out)
    shown = json.loads(out.getvalue())
    assert code == 0 and shown["model"] == "credit@2" and shown["threshold"] == 0.45 and shown["previous"] == THRESHOLD
    out = io.StringIO()
    assert main(["--lake", folder, "model", "show", "credit@2"], out=out) == 0
    assert json.loads(out.getvalue())["threshold"] == 0.45


@pytest.mark.slow
def test_mitigated_runs_keep_their_own_decision(trained):
    lake, run, _ = trained
    from core.analysis import mitigation

    result = mitigation.mitigate(lake, run.run_id, sensitive=["sex"], method="threshold",
                                 constraint="demographic_parity", actor="local")
    mitigated = result.run
    assert training.decision_threshold(mitigated) == 0.5 and mitigated.metrics["threshold"] == 0.5
    # "before" is the base run at its own threshold: its accuracy is the run's stored one
    assert result.before["accuracy"] == pytest.approx(run.metrics["accuracy"], abs=1e-12)
    registry.register(lake, mitigated.run_id, name="credit_fair", actor="local", alias=None)
    with pytest.raises(InputError, match="fairness-mitigated"):
        registry.set_threshold(lake, "credit_fair@1", 0.3, actor="local", reason="no")
    assert not math.isnan(result.after["accuracy"])
