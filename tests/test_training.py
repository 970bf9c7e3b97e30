"""Training: the same numbers as plain scikit-learn / LightGBM, every problem type, tracking with
safe artifacts, and clear refusals of bad problems with nothing half-written."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.data import datasets, demo
from core import features, training
from core.cli import main
from core.errors import InputError
from core.lake import Lake

from support import lake_state


@pytest.fixture(scope="module")
def tlake(tmp_path_factory):
    lake = Lake.open(tmp_path_factory.mktemp("training") / "lake")
    demo.build(lake, rows=4_000)
    yield lake
    lake.close()


def cli(*argv: str) -> tuple[int, dict]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, json.loads(out.getvalue())


def test_cli_runs_on_a_real_public_dataset_match_plain_sklearn_and_lightgbm(tmp_path):
    """Wisconsin breast cancer (shipped with scikit-learn): our runs give the metrics the same code gives outside."""
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame["target"] = np.where(frame["target"] == 1, "benign", "malignant")
    frame.to_csv(tmp_path / "breast_cancer.csv", index=False)
    lake = str(tmp_path / "lake")
    assert cli("--lake", lake, "ingest", str(tmp_path / "breast_cancer.csv"), "--name", "breast_cancer")[0] == 0
    code, result = cli("--lake", lake, "train", "--dataset", "breast_cancer", "--target", "target",
                       "--algorithms", "logistic,lightgbm", "--positive", "malignant", "--seed", "7")
    assert code == 0, result
    ours = {r["algorithm"]: r["metrics"] for r in result["runs"]}

    X, y = frame.drop(columns="target"), (frame["target"] == "malignant").astype(int)
    positions = np.arange(len(frame))
    rest, test = train_test_split(positions, test_size=0.3, random_state=7, stratify=frame["target"])
    train, valid = train_test_split(rest, test_size=0.1, random_state=7, stratify=frame["target"].iloc[rest])
    train, valid, test = np.sort(train), np.sort(valid), np.sort(test)
    logistic = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000))
    logistic.fit(X.iloc[train], y.iloc[train])
    score = logistic.predict_proba(X.iloc[test])[:, 1]
    assert ours["logistic"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y.iloc[test], score), abs=1e-12)
    assert ours["logistic"]["accuracy"] == pytest.approx(skm.accuracy_score(y.iloc[test], score >= 0.5), abs=1e-12)
    assert ours["logistic"]["log_loss"] == pytest.approx(skm.log_loss(y.iloc[test], score), abs=1e-9)

    from lightgbm import LGBMClassifier, early_stopping
    booster = LGBMClassifier(n_estimators=2000, learning_rate=0.05, num_leaves=31, random_state=7, verbose=-1)
    booster.fit(X.iloc[train], y.iloc[train], eval_X=(X.iloc[valid],), eval_y=(y.iloc[valid],),
                callbacks=[early_stopping(50, verbose=False)])
    score = booster.predict_proba(X.iloc[test])[:, 1]
    assert ours["lightgbm"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y.iloc[test], score), abs=1e-12)
    assert ours["lightgbm"]["brier"] == pytest.approx(skm.brier_score_loss(y.iloc[test], score), abs=1e-12)
    assert ours["lightgbm"]["roc_auc"] > 0.95


def test_every_algorithm_binary_with_tracking_and_sensitive_columns(tlake):
    result = training.train(tlake, dataset="applications", target="defaulted", actor="ana",
                            algorithms=list(training.ALGORITHMS), sensitive=["sex", "race_ethnicity"])
    assert len(result.runs) == 4 and result.primary_metric == "roc_auc"
    assert result.best_run_id == max(result.runs, key=lambda r: r.metrics["roc_auc"]).run_id
    apps = datasets.get(tlake, "applications")
    for run in result.runs:
        assert 0.6 < run.metrics["roc_auc"] < 0.9
        assert {"sex", "race_ethnicity", "applicant_id", "applied_at", "defaulted"}.isdisjoint(run.feature_names)
        assert run.sensitive == ["sex", "race_ethnicity"] and run.input_snapshot == apps.snapshot
        assert run.positive == 1 and run.classes == [0, 1] and run.created_by == "ana"
        assert run.test_rows == 1_200 and run.split["stratified"]
        assert set(run.metrics["confusion_matrix"]) == {"tn", "fp", "fn", "tp"}
        model = training.load_model(tlake, run)
        proba = model.predict_proba(datasets.read_frame(tlake, apps, limit=50))  # the raw frame, extra columns and all
        assert proba.shape == (50, 2)
    curves = training.curves(tlake, [result.runs[0].run_id])
    assert set(curves["curve"]) == {"roc", "pr", "calibration"}
    assert any("identifier" in w for w in result.warnings) and any("date or time" in w for w in result.warnings)


@pytest.mark.slow
def test_multiclass_regression_and_time_series(tlake):
    multi = training.train(tlake, dataset="applications", target="employment", actor="t", algorithms=["hist_gb"])
    run = multi.runs[0]
    assert run.task == "multiclass" and len(run.classes) == 5
    assert {"f1_macro", "f1_micro", "roc_auc_ovr_macro", "log_loss"} <= set(run.metrics)
    regression = training.train(tlake, dataset="applications", target="loan_amount", actor="t",
                                algorithms=["logistic", "lightgbm"], test_size=0.2)
    run = regression.runs[1]
    assert run.task == "regression" and run.test_rows == 800 and {"rmse", "mae", "r2", "mape"} <= set(run.metrics)
    assert set(training.curves(tlake, [run.run_id])["curve"]) == {"residuals", "calibration"}
    series = training.train(tlake, dataset="applications", target="loan_amount", actor="t", task="timeseries",
                            algorithms=["lightgbm"], split_method="time", time_column="applied_at")
    run = series.runs[0]
    assert run.split["method"] == "time" and len(run.metrics["backtest"]) == 3
    frame = datasets.read_frame(tlake, datasets.get(tlake, "applications"))
    cutoff = frame["applied_at"].sort_values().iloc[int(round(len(frame) * 0.7))]
    assert pd.Timestamp(run.metrics["backtest"][0]["start"]) >= cutoff - pd.Timedelta(seconds=1)


def test_the_backtest_fits_the_recorded_model_not_another(tlake, monkeypatch):
    """Each backtest fold is fitted with the run's parameters (the searched ones too) and the boosting rounds
    its early stopping kept, so the backtest printed with a run measures that run's model."""
    from core.training import _train

    built = []
    original = _train.build_pipeline

    def spy(*args, **kwargs):
        built.append(dict(kwargs.get("params") or {}))
        return original(*args, **kwargs)

    monkeypatch.setattr(_train, "build_pipeline", spy)
    run = training.train(tlake, dataset="applications", target="loan_amount", actor="t", task="timeseries",
                         algorithms=["lightgbm"], split_method="time", time_column="applied_at",
                         params={"lightgbm": {"num_leaves": 7}}).runs[0]
    kept = run.params["best_iteration"]
    assert run.params["num_leaves"] == 7 and 0 < kept < 2000
    assert built[0] == {"num_leaves": 7}  # the recorded fit
    assert built[1:] == [{"num_leaves": 7, "n_estimators": kept}] * 3  # each fold: the same model
    assert len(run.metrics["backtest"]) == 3


def test_training_from_a_feature_set_version(tlake):
    spec = features.load_spec("name: credit_features\nbase: applications\nentity: applicant_id\ntimestamp: applied_at\n"
                              "columns: [age, income, employment, late_payments_12m]\nderived:\n"
                              "  debt_to_income: debt / nullif(income, 0)\naggregates:\n"
                              "  - {source: transactions, timestamp: tx_at, column: amount, functions: [sum, min], "
                              "window: 90 days}\nlabel: defaulted\n")
    built = features.build(tlake, spec, actor="t")
    result = training.train(tlake, feature_set=built.ref, target="defaulted", actor="t", algorithms=["lightgbm"])
    run = result.runs[0]
    assert (run.input_kind, run.input_ref, run.input_snapshot) == ("feature_set", built.ref, built.snapshot)
    assert set(run.feature_names) == set(built.features)


def test_a_tampered_artifact_is_refused(tlake):
    run = training.train(tlake, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"]).runs[0]
    path = tlake.config.folder / run.artifact
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(training.ArtifactError, match="changed after it was recorded"):
        training.load_model(tlake, run)


@pytest.mark.parametrize("frame, kwargs, message", [
    (pd.DataFrame({"x": range(10), "y": [1] * 10}), {"target": "nope"}, "not in the input"),
    (pd.DataFrame({"x": range(10), "y": [1] * 10}), {"target": "y"}, "single value"),
    (pd.DataFrame({"x": range(12), "y": ["a"] * 6 + ["b"] * 5 + ["c"]}), {"target": "y"}, r"fewer than 2 rows"),
    (pd.DataFrame({"x": range(12), "y": list("abcdefabcdef")}), {"target": "y", "task": "regression"}, "numeric target"),
    (pd.DataFrame({"x": range(120), "y": [f"c{i % 60}" for i in range(120)]}), {"target": "y"}, "over the limit"),
    (pd.DataFrame({"y": [0, 1] * 10, "s": ["f", "m"] * 10}), {"target": "y", "sensitive": ["s"]}, "No usable feature"),
    (pd.DataFrame({"x": range(10), "y": [0, 1] * 5}), {"target": "y", "task": "multiclass", "positive": "7"}, None),
])
def test_bad_problems_fail_clearly(frame, kwargs, message):
    if message is None:
        problem, _ = training.define_problem(frame, **kwargs)
        assert problem.task == "multiclass"
        return
    with pytest.raises(InputError, match=message):
        training.define_problem(frame, **kwargs)


def test_warnings_for_empty_and_leaking_columns():
    frame = pd.DataFrame({"x": np.arange(100) % 7, "empty": [None] * 100, "copy": [0, 1] * 50, "y": [0, 1] * 50,
                          "almost": np.r_[[0.0, 1.0] * 49, [1.0, 1.0]]})
    problem, _ = training.define_problem(frame, target="y")
    assert "empty" in problem.excluded and "copy" in problem.excluded
    assert "almost" in problem.numeric
    text = " ".join(problem.warnings)
    assert "'empty' has no values" in text and "'copy' equals the target" in text and "'almost' predicts" in text


def test_a_failed_training_leaves_no_run_and_no_artifact(tlake, monkeypatch):
    before = lake_state(tlake)
    artifacts = sorted((tlake.config.folder / "artifacts").glob("*"))
    with pytest.raises(InputError):
        training.train(tlake, dataset="applications", target="defaulted", actor="t", algorithms=["nope"])
    with pytest.raises(InputError, match="single value"):
        datasets.ingest_frame(tlake, pd.DataFrame({"a": range(60), "b": [1] * 60}), name="flat", actor="t",
                              usecase=demo.USECASE)
        training.train(tlake, dataset="flat", target="b", actor="t")
    from core.training import _runs

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(_runs, "record", broken)
    after_ingest = lake_state(tlake)
    with pytest.raises(RuntimeError):
        training.train(tlake, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"])
    assert lake_state(tlake) == after_ingest
    assert sorted((tlake.config.folder / "artifacts").glob("*")) == artifacts
    assert before["snapshot"] < after_ingest["snapshot"]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_model_type_is_on_the_trusted_list(task):
    import skops.io as sio

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(300), "b": rng.choice(["x", "y", None], 300)})
    y = {"binary": (X.a > 0.5).astype(int), "multiclass": pd.Series(rng.integers(0, 3, 300)), "regression": X.a * 3}[task]
    for algorithm in training.ALGORITHMS:
        model = training.build_pipeline(algorithm, task, ["a"], ["b"], seed=1).fit(X, y)
        assert set(sio.get_untrusted_types(data=sio.dumps(model))) <= training.TRUSTED_TYPES, algorithm


def test_cli_runs_and_run_show(tlake):
    folder = str(tlake.config.folder)
    code, listing = cli("--lake", folder, "runs")
    assert code == 0 and listing["runs"]
    run_id = listing["runs"][0]["run_id"]
    code, shown = cli("--lake", folder, "run", "show", run_id)
    assert code == 0 and shown["run_id"] == run_id and shown["artifact_sha256"] and shown["curves"]
    code, shown = cli("--lake", folder, "run", "show", "no-such-run")
    assert code == 2 and "No run" in shown["error"]
    code, shown = cli("--lake", folder, "train", "--dataset", "applications", "--target", "defaulted", "--split", "sideways")
    assert code == 2 and "random or time:COLUMN" in shown["error"]


def test_a_bounded_hyperparameter_search_is_recorded_and_never_worse_on_validation(tlake):
    result = training.train(tlake, dataset="applications", target="defaulted", actor="t",
                            algorithms=["hist_gb", "logistic"], search_seconds=4)
    for run in result.runs:
        search = run.params["search"]
        assert search["candidates"] >= 1 and search["seconds"] < 15
        assert set(search["best_params"]) <= set(training._search.SPACES[run.algorithm])
    assert "alpha" not in result.runs[1].params["search"]["best_params"]
    with pytest.raises(InputError, match="search budget"):
        training.train(tlake, dataset="applications", target="defaulted", actor="t", search_seconds=-1)


def test_metrics_at_a_chosen_threshold(tlake):
    low = training.train(tlake, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"],
                         threshold=0.2).runs[0]
    high = training.train(tlake, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"],
                          threshold=0.8).runs[0]
    assert low.metrics["threshold"] == 0.2 and high.metrics["threshold"] == 0.8
    assert low.metrics["recall"] > high.metrics["recall"] and low.metrics["roc_auc"] == pytest.approx(high.metrics["roc_auc"])
    assert sum(low.metrics["confusion_matrix"].values()) == low.test_rows
    with pytest.raises(InputError, match="threshold"):
        training.train(tlake, dataset="applications", target="defaulted", actor="t", threshold=1.5)
