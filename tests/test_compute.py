"""core.compute: one thread setting, applied to OpenMP/BLAS pools and LightGBM; row chunks on a Dask
cluster give exactly what this process gives (explanations, counterfactuals, a whole review)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from core import compute, review, training
from core.analysis import causal, counterfactuals, explain
from core.errors import InputError

from support import credit_model


def _pools() -> list[dict]:
    from threadpoolctl import threadpool_info

    return [{"api": i["internal_api"], "threads": i["num_threads"]} for i in threadpool_info()]


def test_the_setting_follows_assay_threads_and_the_cpus_this_process_may_use(monkeypatch):
    import os

    monkeypatch.delenv("ASSAY_THREADS", raising=False)
    assert compute.threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("ASSAY_THREADS", "1")
    assert compute.threads() == 1
    for bad in ("two", "0", "-3"):
        monkeypatch.setenv("ASSAY_THREADS", bad)
        with pytest.raises(InputError, match="ASSAY_THREADS"):
            compute.threads()


def test_openmp_threads_sleep_when_idle_in_every_assay_process():
    import subprocess
    import sys

    code = "import os, core, lightgbm; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in __import__("os").environ.items() if k != "OMP_WAIT_POLICY"}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "PASSIVE"  # set by `import core`, before LightGBM loads OpenMP


def test_a_limited_block_caps_every_openmp_and_blas_pool_and_lightgbm(monkeypatch):
    import lightgbm  # noqa: F401  (loads OpenMP, so its pool is listed)
    import sklearn.ensemble  # noqa: F401

    monkeypatch.setenv("ASSAY_THREADS", "2")
    with compute.limit(1) as n:
        assert n == 1 and compute.threads() == 1
        pools = _pools()
        assert {p["api"] for p in pools} >= {"openmp"} and all(p["threads"] == 1 for p in pools), pools
        assert causal._nuisance(True, 0).get_params()["n_jobs"] == 1
        assert compute.lightgbm_kwargs(causal._nuisance(False, 0)) == {"num_threads": 1}
    assert compute.threads() == 2
    pipeline = training.build_pipeline("lightgbm", "binary", ["a"], [], seed=0)
    assert pipeline.named_steps["model"].get_params()["n_jobs"] == 2  # never -1 (every core, whatever else runs)
    forest = training.build_pipeline("random_forest", "binary", ["a"], [], seed=0)
    assert forest.named_steps["model"].get_params()["n_jobs"] == 2


class _Recorder(ClassifierMixin, BaseEstimator):
    """Records the thread pools and the setting it sees while it is fitted."""

    def fit(self, X, y):
        self.seen_ = (_pools(), compute.threads())
        self.classes_ = np.unique(y)
        return self


def test_training_fits_inside_the_limit(monkeypatch):
    import lightgbm  # noqa: F401

    from core.training._pipelines import fit_pipeline  # what every training fit goes through

    monkeypatch.setenv("ASSAY_THREADS", "1")
    pipeline = training.build_pipeline("logistic", "binary", ["a"], [], seed=0)
    pipeline.steps[-1] = ("model", _Recorder())
    fit_pipeline(pipeline, pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}), pd.Series([0, 1, 0, 1]))
    pools, setting = pipeline.named_steps["model"].seen_
    assert setting == 1 and pools and all(p["threads"] == 1 for p in pools), pools


def _square_sum(chunk: pd.DataFrame, start: int, power: int) -> tuple[int, float]:
    return start, float((chunk["x"] ** power).sum())


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    made = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    yield made.scheduler_address
    made.close()


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    lake, run = credit_model(tmp_path_factory.mktemp("compute") / "lake", rows=4_000, algorithm="lightgbm")
    yield lake, run
    lake.close()


def test_row_chunks_come_back_in_order_and_equal_here_and_on_the_cluster(cluster):
    frame = pd.DataFrame({"x": np.arange(10_000, dtype=float)})
    here = compute.map_row_chunks(_square_sum, frame, args=(2,), chunk_rows=3_000)
    there = compute.map_row_chunks(_square_sum, frame, args=(2,), chunk_rows=3_000, scheduler=cluster)
    assert here == there == [(s, float((frame["x"][s:s + 3_000] ** 2).sum())) for s in (0, 3_000, 6_000, 9_000)]


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch):
    from core.compute import _dask

    monkeypatch.setattr(_dask, "CONNECT_TIMEOUT", "1s")  # the same refusal, said sooner
    frame = pd.DataFrame({"x": [1.0]})
    with pytest.raises(InputError, match="Dask scheduler at 'tcp://127.0.0.1:9'"):
        compute.map_row_chunks(_square_sum, frame, args=(1,), scheduler="tcp://127.0.0.1:9")


def test_explanations_and_counterfactuals_equal_on_the_cluster(model_run, cluster, monkeypatch):
    lake, run = model_run
    trained = training.open_run(lake, run.run_id)
    from core.data import datasets

    X = datasets.read_frame(lake, datasets.get(lake, "applications"))[run.feature_names]
    monkeypatch.setattr(explain, "BATCH", 1_500)  # several chunks, spread over both workers
    kwargs = dict(task=run.task, classes=run.classes, positive=run.positive, seed=3)
    here, base_here, rows_here = explain.shap_matrix(trained.model, X, **kwargs)
    there, base_there, rows_there = explain.shap_matrix(trained.model, X, **kwargs, scheduler=cluster)
    pd.testing.assert_frame_equal(here, there, check_exact=True)
    assert base_here == base_there and np.array_equal(rows_here, rows_there) and len(here) == len(X)

    from core.analysis import _counterfactual_search

    monkeypatch.setattr(_counterfactual_search, "CHUNK_CANDIDATES", 20_000)  # 20 rows a chunk: several chunks
    ids = [int(v) for v in trained.held_out_ids(lake)[:70]]
    first = counterfactuals.for_run(lake, trained, row_ids=ids, count=4, seed=5)
    second = counterfactuals.for_run(lake, trained, row_ids=ids, count=4, seed=5, scheduler=cluster)
    assert first["rows"] == second["rows"] and first["counterfactuals"] >= 0.9 * 4 * 70
    assert first["feature_changes"] == second["feature_changes"]
    again = counterfactuals.for_run(lake, trained, row_ids=ids, count=4, seed=5)
    assert again["rows"] == first["rows"]  # seeded: reproducible


def test_a_review_on_the_cluster_equals_the_embedded_one_and_explains_every_row(model_run, cluster, monkeypatch):
    lake, run = model_run
    monkeypatch.setattr(explain, "EXPLAIN_ROWS", 500)  # the default cap, small, so a sample is taken here
    settings = dict(run_id=run.run_id, actor="t", components=["explain", "counterfactuals"], cf_rows=30, cf_count=3,
                    seed=1, explain_rows=500)
    embedded = review.create(lake, **settings)
    monkeypatch.setenv("ASSAY_DASK_SCHEDULER", cluster)
    clustered = review.create(lake, **settings)
    here, there = review.results(lake, embedded.review_id), review.results(lake, clustered.review_id)
    assert here["counterfactuals"]["rows"] == there["counterfactuals"]["rows"]
    assert here["explain"]["explained_rows"] == 500 and there["explain"]["explained_rows"] == embedded.rows
    shap_here = lake.query(f"SELECT * FROM {embedded.shap_table} ORDER BY __row_id")
    shap_there = {r[-1]: r for r in lake.query(f"SELECT * FROM {clustered.shap_table} ORDER BY __row_id")}
    assert shap_here and all(shap_there[r[-1]] == r for r in shap_here)  # the sampled rows: the same values
