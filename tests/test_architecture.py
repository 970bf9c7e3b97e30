"""The architecture's promises that a test can count: a full review loads (hash-checks) the run's model once and
reads its evaluation rows once, handing both to every component."""
from __future__ import annotations

import pytest

from core import review
from core.data import datasets
from core.training import _runs  # the loader's internals: every model load hash-checks its bytes here

from support import credit_model


@pytest.fixture(scope="module")
def credit(tmp_path_factory):
    opened, run = credit_model(tmp_path_factory.mktemp("arch") / "lake", rows=1_500, algorithm="logistic")
    yield opened, run
    opened.close()


@pytest.fixture
def counted(monkeypatch):
    """Counting wrappers around the model loader (its hash check) and the dataset reader."""
    calls = {"model_loads": 0, "dataset_reads": []}
    check, read = _runs.model_from_bytes, datasets.read_frame

    def counting_check(*args, **kwargs):
        calls["model_loads"] += 1
        return check(*args, **kwargs)

    def counting_read(lake, version, *args, **kwargs):
        calls["dataset_reads"].append((version.ref, kwargs.get("where")))
        return read(lake, version, *args, **kwargs)

    monkeypatch.setattr(_runs, "model_from_bytes", counting_check)
    monkeypatch.setattr(datasets, "read_frame", counting_read)
    return calls


def test_a_default_review_loads_the_model_once_and_reads_the_dataset_once(credit, counted):
    lake, run = credit
    made = review.create(lake, run_id=run.run_id, actor="t", explain_rows=100)
    assert made.components == list(review.DEFAULT_COMPONENTS)
    assert counted["model_loads"] == 1
    assert len(counted["dataset_reads"]) == 1, counted["dataset_reads"]
    assert counted["dataset_reads"][0][0] == "applications@1"


def test_counterfactuals_and_privacy_use_the_reviews_model_instead_of_loading_it_again(credit, counted):
    lake, run = credit
    made = review.create(lake, run_id=run.run_id, actor="t", explain_rows=100, cf_rows=3, cf_count=2,
                         components=list(review.DEFAULT_COMPONENTS) + ["counterfactuals", "privacy"])
    saved = review.results(lake, made.review_id)
    assert saved["privacy"]["membership_inference"]["run_id"] == run.run_id
    assert len(saved["counterfactuals"]["rows"]) == 3
    assert counted["model_loads"] == 1


def test_records_reads_rows_into_objects_by_column_name_with_json_decoded():
    from dataclasses import dataclass

    import duckdb

    from core.lake import records

    @dataclass(frozen=True)
    class Pair:
        name: str
        values: list
        extra: dict = None

    con = duckdb.connect()
    sql = "SELECT * FROM (VALUES ('a', '[1, 2]', '{\"k\": 1}'), ('b', '[]', NULL)) t(name, \"values\", extra) ORDER BY name"
    assert records(con, sql, json=("values", "extra"), into=Pair) == [Pair("a", [1, 2], {"k": 1}), Pair("b", [], None)]
    assert records(con, sql)[0] == {"name": "a", "values": "[1, 2]", "extra": '{"k": 1}'}
