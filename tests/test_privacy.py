"""Privacy: personal data found by name and by value pattern, k-anonymity and l-diversity equal a
hand count, membership inference tells an overfitted model from a regularized one."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from core.data import datasets
from core.analysis import privacy
from core import training
from core.cli import main
from core.errors import InputError

from support import lake_state


def people(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = rng.choice(["Ann", "Bob", "Cleo", "Dev", "Eve"], n)
    return pd.DataFrame({
        "customer_id": np.arange(n), "contact": [f"user{i}@example.org" for i in range(n)],
        "full_name": [f"{f} Smith" for f in first], "phone_no": [f"+44 20 7946 {i:04d}" for i in range(n)],
        "ssn": [f"{rng.integers(100, 999)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}" for _ in range(n)],
        "remarks": ["Customer called twice about the late fee and asked for a callback next week"] * n,
        "age": rng.integers(18, 80, n), "zip3": rng.choice(["100", "101", "102"], n), "sex": rng.choice(["f", "m"], n),
        "diagnosis": rng.choice(["a", "b", "c"], n), "spend": rng.normal(100, 30, n).round(2)})


def test_personal_data_is_found_by_name_and_by_value():
    found = {(f["column"], f["kind"]) for f in privacy.scan(people())}
    assert {("contact", "email"), ("full_name", "name"), ("phone_no", "phone"), ("ssn", "national_id"),
            ("remarks", "free_text"), ("customer_id", "identifier")} <= found
    assert not any(column in ("age", "spend", "sex", "diagnosis") for column, _ in found)
    assert ("ssn", "phone") not in found  # the more specific pattern wins


def test_k_anonymity_and_l_diversity_equal_a_hand_count():
    frame = people()
    result = privacy.k_anonymity(frame, ["age", "zip3", "sex"], k=5, sensitive="diagnosis")
    sizes = frame.groupby(["age", "zip3", "sex"]).size()
    assert result["groups"] == len(sizes) and result["smallest_group"] == sizes.min()
    below = frame.merge(sizes.rename("n").reset_index(), on=["age", "zip3", "sex"])["n"] < 5
    assert result["share_below_k"] == pytest.approx(below.mean())
    diversity = frame.groupby(["age", "zip3", "sex"])["diagnosis"].nunique()
    assert result["l_diversity"]["l"] == diversity.min()
    assert not result["passed"]
    generalized = privacy.k_anonymity(privacy.bucketed(frame, ["age", "zip3", "sex"]), ["age", "zip3", "sex"], k=5)
    assert generalized["share_below_k"] < result["share_below_k"]


def test_membership_inference_separates_an_overfitted_model(lake):
    rng = np.random.default_rng(1)
    n = 3_000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(8)})
    frame["y"] = (rng.random(n) < 0.5).astype(int)  # pure noise: anything the model learns is memorized
    datasets.ingest_frame(lake, frame, name="noise", actor="t")
    memorizing = training.train(lake, dataset="noise", target="y", actor="t", algorithms=["random_forest"],
                                params={"random_forest": {"min_samples_leaf": 1, "max_depth": 40}}).runs[0]
    sober = training.train(lake, dataset="noise", target="y", actor="t", algorithms=["logistic"]).runs[0]
    leaky = privacy.membership_inference(lake, memorizing.run_id)
    safe = privacy.membership_inference(lake, sober.run_id)
    assert leaky["auc"] > 0.7 and leaky["risk"] == "high"
    assert safe["auc"] < 0.56 and safe["risk"] in ("low", "moderate")
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "privacy", "--dataset", "noise", "--run", memorizing.run_id], out=out) == 0
    result = json.loads(out.getvalue())
    assert any("regularize" in r for r in result["recommendations"])


def test_the_whole_check_and_bad_input(lake):
    datasets.ingest_frame(lake, people(), name="people", actor="t")
    result = privacy.assess(lake, "people", quasi=["age", "zip3", "sex"], sensitive="diagnosis")
    assert any(r.startswith("contact: drop it") for r in result["recommendations"])
    assert any("k-anonymity fails" in r for r in result["recommendations"])
    before = lake_state(lake)
    for kwargs, message in [({"quasi": ["nope"]}, "nope"), ({"sensitive": "diagnosis"}, "quasi-identifiers too"),
                            ({"quasi": ["age"], "k": 1}, "at least 2")]:
        with pytest.raises(InputError, match=message):
            privacy.assess(lake, "people", **kwargs)
    assert lake_state(lake) == before
