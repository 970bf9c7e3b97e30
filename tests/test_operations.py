"""Operations: batch scoring (signature checks, rejected rows, atomic output, identical on Dask),
the real-time endpoint, drift against the training data (the demo's planted drift), and retraining."""
from __future__ import annotations

import io
import json
import time

import numpy as np
import pandas as pd
import pytest

from core.data import datasets
from core.operations import drift, scoring
from core.governance import registry
from core import training
from core.cli import main
from core.errors import InputError

from support import credit_model, lake_state


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    lake, run = credit_model(tmp_path_factory.mktemp("ops") / "lake", rows=10_000, algorithm="lightgbm", actor="t")
    registry.register(lake, run.run_id, name="credit", actor="t", alias="champion")
    yield lake, run
    lake.close()


def test_batch_scoring_writes_predictions_and_the_job(served):
    lake, run = served
    job = scoring.score(lake, "credit@champion", dataset="applications_batch2", actor="t", batch_rows=1_000)
    batch = datasets.read_frame(lake, datasets.get(lake, "applications_batch2"), with_row_ids=True)
    assert job.status == "succeeded" and job.rows == job.scored == len(batch) and job.rejected == 0
    assert job.rows_per_second > 0 and job.output.startswith("scores_credit@")
    out = datasets.read_frame(lake, datasets.get(lake, job.output)).sort_values("row_id").reset_index(drop=True)
    model = training.load_model(lake, run)
    expected = model.predict_proba(batch[run.feature_names])[:, run.classes.index(run.positive)]
    assert np.allclose(out["probability"].to_numpy(), expected)
    assert (out["applicant_id"].to_numpy() == batch["applicant_id"].to_numpy()).all()
    assert set(out["model_version"]) == {1} and set(out["input"]) == {"applications_batch2@1"}
    again = scoring.score(lake, "credit@champion", dataset="applications_batch2", actor="t")
    assert again.output != job.output  # a rerun is a new version, never a half one
    assert [j.job_id for j in scoring.jobs(lake, model="credit")][:2] == [again.job_id, job.job_id]


def test_the_dask_engine_gives_identical_predictions(served):
    lake, _ = served
    embedded = scoring.score(lake, "credit@1", dataset="applications_batch2", actor="t")
    distributed = scoring.score(lake, "credit@1", dataset="applications_batch2", actor="t", engine="dask")
    a = datasets.read_frame(lake, datasets.get(lake, embedded.output)).sort_values("row_id").reset_index(drop=True)
    b = datasets.read_frame(lake, datasets.get(lake, distributed.output)).sort_values("row_id").reset_index(drop=True)
    assert distributed.engine == "dask" and len(a) == len(b)
    assert (a["row_id"] == b["row_id"]).all() and (a["prediction"] == b["prediction"]).all()
    assert (a["probability"] == b["probability"]).all()


def test_signature_checks_rejected_rows_and_atomic_failure(served, tmp_path, monkeypatch):
    lake, run = served
    frame = datasets.read_frame(lake, datasets.get(lake, "applications_batch2"), limit=3_000)  # the batch holds 2,000
    text = frame.assign(income=frame["income"].astype(object).where(frame.index % 500 != 0, "unknown").astype(str),
                        extra_column="ignored")
    text.loc[text["income"] == "nan", "income"] = None
    datasets.ingest_frame(lake, text, name="text_income", actor="t")
    job = scoring.score(lake, "credit@1", dataset="text_income", actor="t")
    planted = int((frame.index % 500 == 0).sum())
    assert job.rejected == planted and job.reasons == {"income: not a number": planted}
    assert job.scored == len(frame) - planted
    out = datasets.read_frame(lake, datasets.get(lake, job.output))
    assert out["rejected_reason"].notna().sum() == planted and out.loc[out["rejected_reason"].notna(), "probability"].isna().all()
    datasets.ingest_frame(lake, frame.drop(columns=["debt"]), name="no_debt", actor="t")
    datasets.ingest_frame(lake, frame.assign(age=pd.Timestamp("2020-01-01")), name="dated_age", actor="t")
    before = lake_state(lake)
    with pytest.raises(InputError, match=r"lacks the model's input column\(s\) \['debt'\]"):
        scoring.score(lake, "credit@1", dataset="no_debt", actor="t")
    with pytest.raises(InputError, match="needs a number there"):
        scoring.score(lake, "credit@1", dataset="dated_age", actor="t")
    with pytest.raises(InputError, match="not both"):
        scoring.score(lake, "credit@1", dataset="no_debt", path="x.parquet", actor="t")
    assert lake_state(lake) == before
    calls = {"n": 0}
    real = scoring.score_frame

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real(*args)

    monkeypatch.setattr(scoring, "score_frame", failing)
    versions = len(datasets.versions(lake, "scores_credit"))
    with pytest.raises(RuntimeError):
        scoring.score(lake, "credit@1", dataset="applications_batch2", actor="t", batch_rows=1_000)
    assert len(datasets.versions(lake, "scores_credit")) == versions  # no partial output
    failed = scoring.jobs(lake, model="credit")[0]
    assert failed.status == "failed" and "worker lost" in failed.error


def test_scoring_a_parquet_path_through_the_cli(served, tmp_path):
    lake, _ = served
    path = tmp_path / "batch.parquet"
    datasets.read_frame(lake, datasets.get(lake, "applications_batch2"), limit=500).to_parquet(path)
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "score", "--model", "credit@champion", "--path", str(path)],
                out=out) == 0
    job = json.loads(out.getvalue())
    assert job["rows"] == 500 and job["input"] == str(path) and job["output"] == "scores_credit"
    assert {"output", "version", "rows", "seconds", "rows_per_second"} <= set(job) and job["version"] >= 1
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "score", "--model", "credit@champion", "--dataset",
                 "applications_batch2", "--output", "batch2_scores", "--engine", "embedded"], out=out) == 0
    assert json.loads(out.getvalue())["output"] == "batch2_scores"
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "score", "--model", "credit@champion", "--path",
                 str(tmp_path / "missing.parquet")], out=out) == 2
    assert "Cannot read" in json.loads(out.getvalue())["error"]


def test_drift_finds_the_planted_shift_and_nothing_else(served):
    lake, _ = served
    shifted = drift.report(lake, "credit@champion", dataset="applications_batch2", actor="t")
    assert set(shifted["drifted_features"]) == {"income", "loan_amount", "home_ownership"}
    assert not shifted["dataset_drift"] and shifted["prediction_drift"]["drifted"]
    assert shifted["performance"]["rows_with_labels"] == shifted["rows"]  # the batch carries its outcomes
    same = datasets.read_frame(lake, datasets.get(lake, "applications")).sample(3_000, random_state=1)
    datasets.ingest_frame(lake, same, name="same_population", actor="t")
    calm = drift.report(lake, "credit@champion", dataset="same_population", actor="t")
    assert calm["drifted_features"] == [] and not calm["retrain_recommended"]
    strict = drift.report(lake, "credit@champion", dataset="applications_batch2", actor="t", drift_share=0.2,
                          method="psi")
    assert strict["dataset_drift"] and strict["retrain_recommended"] and strict["features"][0]["test"] == "psi"
    assert len(drift.reports(lake, model="credit")) == 3
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "drift", "--model", "credit@champion", "--current",
                 "applications_batch2", "--reference", "same_population"], out=out) == 0
    result = json.loads(out.getvalue())
    assert {"dataset_drift", "drift_share", "features"} <= set(result)
    assert {"feature", "method", "statistic", "drifted"} <= set(result["features"][0])
    assert {f["feature"] for f in result["features"] if f["drifted"]} == {"income", "loan_amount", "home_ownership"}


def test_small_references_use_statistical_tests():
    rng = np.random.default_rng(0)
    moved = drift.feature_drift(pd.Series(rng.normal(0, 1, 500)), pd.Series(rng.normal(0.5, 1, 500)), numeric=True)
    still = drift.feature_drift(pd.Series(rng.normal(0, 1, 500)), pd.Series(rng.normal(0, 1, 500)), numeric=True)
    assert moved["test"] == "ks" and moved["drifted"] and not still["drifted"]
    categories = drift.feature_drift(pd.Series(rng.choice(["a", "b"], 500)), pd.Series(rng.choice(["a", "b"], 500, p=[0.8, 0.2])),
                                     numeric=False)
    assert categories["test"] == "chi_square" and categories["drifted"]


def test_the_endpoint_validates_predicts_and_follows_the_alias(served, monkeypatch):
    from starlette.testclient import TestClient

    from core.operations import serve

    lake, run = served
    monkeypatch.setattr(serve, "RESOLVE_SECONDS", 0.0)
    endpoint = serve.Endpoint(lake, "credit@champion", "t")
    row = datasets.read_frame(lake, datasets.get(lake, "applications"), limit=1)[run.feature_names].iloc[0].to_dict()
    row = {k: (None if isinstance(v, float) and np.isnan(v) else (v.item() if hasattr(v, "item") else v)) for k, v in row.items()}
    with TestClient(serve.app(endpoint)) as client:
        assert client.get("/health").json() == {"status": "ok", "model": "credit@1"}
        answer = client.post("/predict", json={"rows": [row, {**row, "income": "52000"}]}).json()
        assert answer["model"] == "credit@1" and len(answer["predictions"]) == 2
        bad = client.post("/predict", json={"rows": [{**row, "income": "a lot"}]})
        assert bad.status_code == 422 and "income: not a number" in bad.json()["error"]
        assert client.post("/predict", json={"rows": [{"age": 3}]}).status_code == 422
        assert client.post("/predict", content=b"{", headers={"content-type": "application/json"}).status_code == 400
        other = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"],
                               sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
        registry.register(lake, other.run_id, name="credit", actor="t", alias="champion")  # the alias moves
        for _ in range(600):  # the background refresh resolves the alias again (bounded wait, no timing asserted)
            if client.get("/health").json()["model"] == "credit@2":
                break
            time.sleep(0.05)
        assert client.post("/predict", json={"rows": [row]}).json()["model"] == "credit@2"
        metrics = client.get("/metrics").json()
        assert metrics["requests"] == 5 and metrics["errors"] == 3 and metrics["latency_ms_p95"] > 0
    logged = {j.model_version: j for j in scoring.jobs(lake, model="credit") if j.engine == "endpoint"}
    # written to the lake when the server stopped, one job per version served: 4 requests to @1, 1 to @2
    assert {v: (j.rows, j.scored, j.rejected) for v, j in logged.items()} == {1: (4, 1, 3), 2: (1, 1, 0)}
    assert logged[1].reasons["rows_scored"] == 2 and logged[2].reasons["rows_scored"] == 1
    assert sum(logged[1].reasons["decisions"].values()) == 2 and logged[1].reasons["inputs"]["income"]["count"] == 2


def test_retraining_registers_a_challenger_and_runs_the_gate(served):
    lake, _ = served
    newer = pd.concat([datasets.read_frame(lake, datasets.get(lake, "applications")),
                       datasets.read_frame(lake, datasets.get(lake, "applications_batch2"))], ignore_index=True)
    datasets.ingest_frame(lake, newer, name="applications", actor="t")
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "retrain", "--model", "credit"], out=out) == 0
    result = json.loads(out.getvalue())
    assert result["trained_on"] == "applications@2" and result["gate"]["status"] in ("passed", "failed")
    assert result["gate"]["champion"] == "credit@2" and "roc_auc" in result["gate"]["metrics"]
    version = registry.get(lake, result["model"])
    assert "challenger" in version.aliases and version.review_id == result["review_id"]
