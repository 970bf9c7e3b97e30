"""Monitoring without labels (core.monitoring, `monitor`): on the credit demo, a model trained on the
applications; the current set is first a random sample of the same population (fresh rows from the demo's
generator), then the demo's shifted batch. Random chunks raise no alert, shifted ones do, and CBPE's estimate
tracks the realized ROC AUC; DLE for a regressor; bad input; the webhook; the page."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest

from support import ROOT, lake_state
from core import monitoring, training
from core.cli import main
from core.data import datasets, demo
from core.errors import InputError
from core.governance import registry
from core.lake import Lake

ROWS = 40_000  # held-out half: 20,000 rows, 10 reference chunks of 2,000
CHUNK = 2_000
RANDOM_ROWS = 10_000  # 5 chunks of fresh applications, then the shifted batch (8,000 rows: 4 chunks)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("monitoring") / "lake"
    lake = Lake.open(path)
    demo.build(lake, rows=ROWS, with_transactions=False)
    run = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"], test_size=0.5).runs[0]
    registry.register(lake, run.run_id, name="credit", actor="t", alias="champion")
    fresh, _ = demo.applications(RANDOM_ROWS, seed=991, start_id=10_000_000)
    shifted = datasets.read_frame(lake, datasets.get(lake, "applications_batch2"))
    current = pd.concat([fresh, shifted], ignore_index=True)
    datasets.ingest_frame(lake, current, name="current", actor="t", usecase=demo.USECASE)
    datasets.ingest_frame(lake, current.drop(columns=["defaulted"]), name="unlabelled", actor="t", usecase=demo.USECASE)
    labels = current[["applicant_id", "defaulted"]].head(2 * CHUNK)  # only the first two chunks' outcomes arrived
    datasets.ingest_frame(lake, labels, name="arrived", actor="t", usecase=demo.USECASE)
    datasets.ingest_frame(lake, labels.assign(applicant_id=labels["applicant_id"] + 10**9), name="strangers", actor="t",
                          usecase=demo.USECASE)
    lake.close()
    return path


def cli(folder, *args) -> tuple[int, dict]:
    out = io.StringIO()
    code = main(["--lake", str(folder), *args], out=out)
    return code, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def printed(folder):
    code, result = cli(folder, "monitor", "--model", "credit@champion", "--current", "current", "--chunk-size", str(CHUNK))
    assert code == 0, result
    return result


def test_random_chunks_raise_no_alert_shifted_ones_do_and_cbpe_tracks_realized_auc(printed):
    chunks = printed["chunks"]
    assert printed["method"] == "cbpe" and printed["reference"]["chunks"] == 10
    assert [c["rows"] for c in chunks] == [CHUNK] * 9
    random, shifted = chunks[:RANDOM_ROWS // CHUNK], chunks[RANDOM_ROWS // CHUNK:]
    for chunk in random:
        assert chunk["alerts"] == [], chunk["alerts"]
        assert chunk["drift"]["features_drifted"] == []
        estimated, realized = chunk["estimated"]["roc_auc"], chunk["realized"]["roc_auc"]
        assert abs(estimated["value"] - realized) < 0.03, (chunk["chunk"], estimated, realized)
        assert estimated["lower"] < estimated["value"] < estimated["upper"]
    for chunk in shifted:
        kinds = {a["kind"] for a in chunk["alerts"]}
        assert {"multivariate_drift", "domain_classifier", "feature_drift"} <= kinds, kinds
        assert set(chunk["drift"]["features_drifted"]) == set(demo.PLANTED.drifted_features)
        assert chunk["drift"]["multivariate"]["alert"] and chunk["drift"]["multivariate"]["method"] == "pca_reconstruction_error"
    assert printed["alerts"] == sum(len(c["alerts"]) for c in chunks)


def test_printed_report_is_the_stored_one(folder, printed):
    lake = Lake.open(folder)
    stored = monitoring.get(lake, printed["report_id"])
    alerts = monitoring.alerts(lake, report_id=printed["report_id"])
    lake.close()
    assert len(stored["chunks"]) == len(printed["chunks"]) and len(stored["reference_chunks"]) == 10
    for shown, kept in zip(printed["chunks"], stored["chunks"]):
        assert (shown["chunk"], shown["start"], shown["end"], shown["rows"]) == (kept["chunk"], int(kept["start"]),
                                                                                  int(kept["end"]), kept["rows"])
        assert shown["estimated"] == kept["estimated"] and shown["realized"] == kept["realized"]
        assert shown["drift"]["multivariate"] == kept["drift"]["multivariate"]
        assert shown["drift"]["features_drifted"] == kept["drift"]["features_drifted"]
        assert [a["message"] for a in shown["alerts"]] == [a["message"] for a in kept["alerts"]]
        for drifted in shown["drift"]["features_drifted"]:  # the page draws each drifted feature's distributions
            assert set(kept["distributions"][drifted]) == {"kind", "bins", "reference", "current"}
    assert len(alerts) == printed["alerts"]
    code, listed = cli(folder, "monitor-reports", "--model", "credit")
    assert code == 0 and printed["report_id"] in [r["report_id"] for r in listed["reports"]]
    code, shown = cli(folder, "monitor-reports", "--report", printed["report_id"])
    assert code == 0 and [len(c["alerts"]) for c in shown["chunks"]] == [len(c["alerts"]) for c in printed["chunks"]]


def test_labels_joined_by_id_give_realized_performance_where_they_arrived(folder, printed):
    code, joined = cli(folder, "monitor", "--model", "credit@champion", "--current", "unlabelled", "--chunk-size",
                       str(CHUNK), "--labels", "arrived@1", "--entity", "applicant_id", "--metrics", "roc_auc,accuracy")
    assert code == 0, joined
    assert "4,000 of the 18,000 rows" in joined["warnings"][0]
    for chunk, labelled in zip(joined["chunks"], printed["chunks"]):
        if chunk["chunk"] < 2:  # the same rows and outcomes as the labelled current set
            assert chunk["realized"] == {m: labelled["realized"][m] for m in ("roc_auc", "accuracy")}
        else:
            assert chunk["realized"] is None
        assert chunk["estimated"]["roc_auc"] == labelled["estimated"]["roc_auc"]
        assert set(chunk["estimated"]) == {"roc_auc", "accuracy"}


def test_chunks_by_month_start_on_the_month(folder):
    lake = Lake.open(folder)
    result = monitoring.monitor(lake, "credit@champion", current="current", actor="t", timestamp="applied_at",
                                chunk_period="month", metrics=["accuracy"])
    lake.close()
    starts = [pd.Timestamp(c["start"]) for c in result["chunks"]]
    assert all(s.day == 1 and s.hour == 0 for s in starts) and starts == sorted(starts)
    assert sum(c["rows"] for c in result["chunks"]) + sum(s["rows"] for s in result["skipped"]) == RANDOM_ROWS + 8_000
    assert result["reference"]["chunks"] == 24


BAD = [
    (["--chunk-size", "50"], "at least 200 rows"),
    (["--timestamp", "applicant_id", "--chunk-period", "week"], "is BIGINT in current@1, not a date or time"),
    (["--chunk-period", "week"], "--chunk-period needs the time column"),
    (["--chunk-size", "5000"], "thresholds need at least 5"),
    (["--chunk-size", "2000", "--metrics", "mae"], "measures roc_auc, accuracy, f1, precision, recall"),
    (["--chunk-size", "2000", "--labels", "strangers@1", "--entity", "applicant_id"], "join no row of current@1"),
    (["--chunk-size", "2000", "--labels", "arrived@1"], "give both --labels NAME@V and --entity COL"),
    (["--chunk-size", "2000", "--method", "dle", "--metrics", "roc_auc"], "measures accuracy"),
]


@pytest.mark.parametrize("options,message", BAD, ids=[b[1][:30] for b in BAD])
def test_bad_input_is_a_clear_error_and_the_lake_is_unchanged(folder, options, message):
    lake = Lake.open(folder)
    before = lake_state(lake)
    lake.close()
    code, result = cli(folder, "monitor", "--model", "credit@champion", "--current", "current", *options)
    assert code == 2 and message in result["error"], result
    lake = Lake.open(folder)
    assert lake_state(lake) == before
    lake.close()


class _PredictOnly:
    """A classifier that gives decisions but no probabilities."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.predict(X)


def test_a_model_without_probabilities_is_told_cbpe_needs_them_and_dle_estimates_accuracy(folder, monkeypatch):
    opened = registry.open_version

    def predict_only(lake, ref):
        version, trained = opened(lake, ref)
        return version, training.TrainedRun(run=trained.run, model=_PredictOnly(trained.model), threshold=trained.threshold)

    monkeypatch.setattr(registry, "open_version", predict_only)
    lake = Lake.open(folder)
    before = lake_state(lake)
    with pytest.raises(InputError, match="CBPE needs them") as refused:
        monitoring.monitor(lake, "credit@champion", current="current", actor="t", chunk_size=CHUNK)
    assert "--method dle" in str(refused.value) and "--method realized" in str(refused.value)
    assert lake_state(lake) == before
    result = monitoring.monitor(lake, "credit@champion", current="current", actor="t", chunk_size=CHUNK, method="dle")
    lake.close()
    assert result["method"] == "dle" and result["metrics"] == ["accuracy"]
    for chunk in result["chunks"][:RANDOM_ROWS // CHUNK]:
        assert abs(chunk["estimated"]["accuracy"]["value"] - chunk["realized"]["accuracy"]) < 0.03
        assert not [a for a in chunk["alerts"] if a["kind"].endswith("performance")]


def test_dle_estimates_a_regressors_mae_and_rmse(folder):
    lake = Lake.open(folder)
    run = training.train(lake, dataset="applications", target="debt", actor="t", task="regression",
                         algorithms=["lightgbm"], exclude=["applicant_id", "applied_at", "defaulted"], test_size=0.5).runs[0]
    registry.register(lake, run.run_id, name="debt", actor="t", alias="champion")
    result = monitoring.monitor(lake, "debt@champion", current="current", actor="t", chunk_size=CHUNK)
    lake.close()
    assert result["method"] == "dle" and result["metrics"] == ["mae", "rmse"]
    for chunk in result["chunks"][:RANDOM_ROWS // CHUNK]:
        for metric in ("mae", "rmse"):
            estimated, realized = chunk["estimated"][metric]["value"], chunk["realized"][metric]
            assert abs(estimated - realized) / realized < 0.1, (chunk["chunk"], metric, estimated, realized)
        assert chunk["alerts"] == [], chunk["alerts"]
    assert all(c["alerts"] for c in result["chunks"][RANDOM_ROWS // CHUNK:])


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_hears_the_alerts_and_a_failing_one_is_recorded_not_raised(folder):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lake = Lake.open(folder)
    try:
        with pytest.raises(InputError, match="http:// or https://"):
            monitoring.set_webhook(lake, "ftp://example.org/hook", actor="local:admin")
        monitoring.set_webhook(lake, f"http://127.0.0.1:{server.server_port}/hook?token=secret", actor="local:admin")
        result = monitoring.monitor(lake, "credit@champion", current="current", actor="t", chunk_size=CHUNK,
                                    metrics=["roc_auc"])
    finally:
        server.shutdown()
    path, kind, body = _Hook.received[-1]
    assert path == "/hook?token=secret" and kind == "application/json"
    assert body["report_id"] == result["report_id"] and body["alerts"] == result["alerts"] > 0
    assert [c["chunk"] for c in body["chunks"]] == [c["chunk"] for c in result["chunks"] if c["alerts"]]
    assert result["webhook"]["ok"] and "secret" not in json.dumps(result["webhook"])
    failed = monitoring.monitor(lake, "credit@champion", current="current", actor="t", chunk_size=CHUNK,
                                metrics=["roc_auc"])  # the server is gone: the run still succeeds
    assert failed["webhook"]["ok"] is False and failed["webhook"]["error"]
    assert monitoring.deliveries(lake, failed["report_id"])[0]["ok"] is False
    assert monitoring.deliveries(lake, result["report_id"])[0]["status"] == 204
    monitoring.set_webhook(lake, None, actor="local:admin")
    lake.close()


def test_retrain_from_an_alert_goes_through_the_review_and_gate_path(folder, printed, monkeypatch):
    from core.operations import retrain

    calls = []
    monkeypatch.setattr(retrain, "retrain", lambda lake, name, **kw: calls.append((name, kw)) or
                        {"model": f"{name}@9", "gate": {"status": "passed"}})
    alert = next(a for c in printed["chunks"] for a in c["alerts"])
    lake = Lake.open(folder)
    stored = monitoring.alerts(lake, report_id=printed["report_id"])
    made = monitoring.retrain_from_alert(lake, stored[0]["alert_id"], actor="t")
    lake.close()
    assert calls == [("credit", {"actor": "t", "dataset": None, "progress": None})]
    assert made["alert_id"] == stored[0]["alert_id"] and made["model"] == "credit@9" and alert["message"]


def test_monitoring_page_and_lifecycle_show_the_alerts(folder, printed, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ASSAY_LAKE", str(folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/monitoring.py").run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    at.selectbox(key="mon_model").select("credit").run()
    at.selectbox(key="mon_report_credit").select(printed["report_id"]).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Alerts"] == str(printed["alerts"]) and metrics["Chunks"] == str(len(printed["chunks"]))
    first_alerted = next(c for c in printed["chunks"] if c["alerts"])
    assert at.selectbox(key=f"mon_chunk_{printed['report_id']}").value == first_alerted["chunk"]
    assert any(", ".join(first_alerted["drift"]["features_drifted"]) in m.value for m in at.markdown)
    said = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert said == [f"- {a['message']}" for a in first_alerted["alerts"]]  # the picked chunk's alerts, in full
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2 + len(first_alerted["drift"]["features_drifted"])
    table = at.dataframe[0].value
    assert len(table) == printed["alerts"] and set(table["chunk"]) == {c["chunk"] for c in printed["chunks"] if c["alerts"]}
    at.switch_page("pages/lifecycle.py").run()
    assert not at.exception
    assert any("monitoring alert" in w.value and "credit@1" in w.value for w in at.warning)


@pytest.mark.browser
def test_monitoring_page_in_a_real_browser(folder, printed, tmp_path):
    """One screenshot of the page (tests/artifacts/monitoring.png), drawn by Chromium from `streamlit run`."""
    import time

    from browser import ARTIFACTS, chromium_tab, running_app  # skips without chromium
    from test_e2e_browser import assert_no_exception

    with running_app(folder, tmp_path) as url, chromium_tab(height=2600, timeout_ms=120_000) as page:  # one shot
        page.goto(f"{url}/monitoring")
        page.get_by_role("heading", name="Monitoring").wait_for()
        page.get_by_text("its alerts and drifted features").first.wait_for()
        page.locator('[data-testid="stVegaLiteChart"]').nth(2).wait_for()
        time.sleep(2)  # let Vega finish drawing
        assert_no_exception(page)
        assert "income" in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "monitoring.png"), full_page=True)


def test_a_current_set_smaller_than_the_smallest_chunk_is_refused(folder):
    lake = Lake.open(folder)
    tiny = datasets.read_frame(lake, datasets.get(lake, "current"), limit=150)
    datasets.ingest_frame(lake, tiny, name="tiny", actor="t", usecase=demo.USECASE)
    before = lake_state(lake)
    with pytest.raises(InputError, match="tiny@1 has no chunk of at least 200 rows"):
        monitoring.monitor(lake, "credit@champion", current="tiny", actor="t", chunk_size=CHUNK)
    assert lake_state(lake) == before
    lake.close()


SMALL = 2_400  # held-out half: 1,200 rows, 5 reference chunks of 240 (features tested by p-value: KS, chi-square)
SMALL_CHUNK = 240


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A model with a small reference (5 chunks), random samples of its population, and a shifted sample."""
    lake = Lake.open(tmp_path_factory.mktemp("small") / "lake")
    apps, _ = demo.applications(SMALL, seed=31)
    datasets.ingest_frame(lake, apps, name="small_apps", actor="t")
    run = training.train(lake, dataset="small_apps", target="defaulted", actor="t", algorithms=["lightgbm"],
                         exclude=["applicant_id", "applied_at"], test_size=0.5).runs[0]
    registry.register(lake, run.run_id, name="small", actor="t", alias="champion")
    for seed in range(3):
        sample, _ = demo.applications(SMALL, seed=41 + seed, start_id=1_000_000 * (seed + 1))
        datasets.ingest_frame(lake, sample, name=f"sample{seed}", actor="t")
    moved, _ = demo.applications(SMALL // 2, seed=77, start_id=9_000_000, shifted=True)
    datasets.ingest_frame(lake, moved, name="moved", actor="t")
    yield lake
    lake.close()


def test_few_reference_chunks_give_no_false_alert_on_random_samples_and_shifted_data_still_alerts(small):
    """Five reference chunks make a noisy sd: each sd is floored by one measured on 30 bootstrap samples of the reference
    (the domain classifier's by its null sd) and widened for the mean's error; p-values (uniform under the
    null at any size) drift only past the 3-sigma tail shared by the features."""
    for seed in range(3):
        result = monitoring.monitor(small, "small@champion", current=f"sample{seed}", actor="t", chunk_size=SMALL_CHUNK)
        assert result["reference"]["chunks"] == 5 and len(result["chunks"]) == SMALL // SMALL_CHUNK
        assert [c["alerts"] for c in result["chunks"]] == [[]] * len(result["chunks"]), seed
    moved = monitoring.monitor(small, "small@champion", current="moved", actor="t", chunk_size=SMALL_CHUNK)
    for chunk in moved["chunks"]:
        assert {"domain_classifier", "feature_drift"} <= {a["kind"] for a in chunk["alerts"]}, chunk["alerts"]
        assert set(chunk["drift"]["features_drifted"]) == set(demo.PLANTED.drifted_features), chunk["drift"]


def _grades(rows: int, seed: int, start: int) -> pd.DataFrame:
    """Three classes drawn from a softmax of two numbers and a category: a small multiclass population."""
    rng = np.random.default_rng(seed)
    x1, x2, kind = rng.normal(size=rows), rng.normal(size=rows), rng.choice(["a", "b", "c"], rows)
    logits = 1.5 * np.column_stack([x1, x2, -x1 - x2 + 1.5 * (kind == "c")])
    chance = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    drawn = (rng.random(rows)[:, None] > chance.cumsum(axis=1)).sum(axis=1)
    return pd.DataFrame({"id": np.arange(start, start + rows), "x1": x1, "x2": x2, "kind": kind,
                         "grade": np.array(["low", "mid", "high"])[drawn]})


def test_multiclass_cbpe_estimates_the_realized_accuracy_and_auc_of_an_unshifted_set(small):
    datasets.ingest_frame(small, _grades(10_000, seed=5, start=0), name="grades", actor="t")
    run = training.train(small, dataset="grades", target="grade", actor="t", algorithms=["lightgbm"], exclude=["id"],
                         test_size=0.5).runs[0]
    assert run.task == "multiclass" and len(run.classes) == 3
    registry.register(small, run.run_id, name="grader", actor="t", alias="champion")
    datasets.ingest_frame(small, _grades(5_000, seed=6, start=10**6), name="graded", actor="t")
    result = monitoring.monitor(small, "grader@champion", current="graded", actor="t", chunk_size=1_000)
    assert result["method"] == "cbpe" and result["reference"]["chunks"] == 5 and len(result["chunks"]) == 5
    for chunk in result["chunks"]:
        for metric in ("accuracy", "roc_auc", "f1"):
            estimated, realized = chunk["estimated"][metric], chunk["realized"][metric]
            assert abs(estimated["value"] - realized) < 0.05, (chunk["chunk"], metric, estimated, realized)
            assert estimated["lower"] < estimated["value"] < estimated["upper"]
        assert chunk["alerts"] == [], chunk["alerts"]
    for metric in ("accuracy", "roc_auc"):  # over all 5,000 rows the estimate is closer still
        gap = np.mean([c["estimated"][metric]["value"] - c["realized"][metric] for c in result["chunks"]])
        assert abs(gap) < 0.02, (metric, gap)


def test_bin_starts_read_as_numbers_and_never_merge_two_bins():
    from core.monitoring._views import bin_starts

    assert bin_starts([3612.7, 14632.1, 25000.0, 0.25, -3.2]) == ["3,610", "14,600", "25,000", "0.25", "-3.2"]
    close = bin_starts([14632.1, 14671.0, 14699.9])  # 3 digits would read 14,600 / 14,700 / 14,700
    assert len(set(close)) == 3 and not any("e+" in label for label in close)
