"""Feature sets: spec parsing, point-in-time correct aggregates and as-of joins, lineage,
statistics, refusal of hostile or broken specs with the lake left unchanged."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.data import datasets, demo
from core import features
from core.errors import AssayError, InputError
from core.lake import Lake

from support import lake_state

SPEC = """
name: applicant_features
description: Applicant basics with 90-day account activity
base: applications
entity: applicant_id
timestamp: applied_at
columns: [age, income, sex]
derived:
  debt_to_income: debt / nullif(income, 0)
  young: CASE WHEN age < 30 THEN 1 ELSE 0 END
aggregates:
  - source: transactions
    entity: applicant_id
    timestamp: tx_at
    column: amount
    functions: [count, sum, avg, max]
    window: 90 days
label: defaulted
"""


@pytest.fixture(scope="module")
def flake(tmp_path_factory):
    lake = Lake.open(tmp_path_factory.mktemp("features") / "lake")
    demo.build(lake, rows=3_000)
    yield lake
    lake.close()


def reference_aggregates(apps: pd.DataFrame, tx: pd.DataFrame, days: int) -> pd.DataFrame:
    """The same aggregates computed the slow, obvious way in pandas."""
    joined = tx.merge(apps[["applicant_id", "applied_at"]], on="applicant_id")
    inside = joined[(joined.tx_at <= joined.applied_at) & (joined.tx_at > joined.applied_at - pd.Timedelta(days=days))]
    grouped = inside.groupby("applicant_id")["amount"]
    out = pd.DataFrame({"count": grouped.count(), "sum": grouped.sum(), "max": grouped.max()})
    return out.reindex(apps["applicant_id"]).fillna({"count": 0})


def test_yaml_and_json_specs_are_the_same(flake):
    spec = features.load_spec(SPEC)
    again = features.load_spec(json.dumps(spec.to_dict()))
    assert again == spec
    assert features.load_spec(spec.to_yaml()) == spec
    assert spec.aggregates[0].output_name("sum") == "transactions_amount_sum_90d"
    assert str(features.parse_window("1 year")) == "1 year"


@pytest.mark.parametrize("text, message", [
    ("name: x\nbase: applications", "needs 'entity'"),
    ("name: x\nbase: applications\nentity: applicant_id\ncolour: red", "Unknown key"),
    ("name: Bad Name\nbase: applications\nentity: applicant_id", "not allowed"),
    ("name: x\nbase: applications\nentity: a\naggregates: [{source: transactions, column: amount, functions: [mode]}]",
     "not supported"),
    ("name: x\nbase: applications\nentity: a\naggregates: [{source: t, column: amount, functions: [sum], window: soon}]",
     "does not parse"),
    ("name: x\nbase: applications\nentity: a\nderived: {x: ''}", "needs an expression"),
    ("[1, 2", "not valid YAML"),
])
def test_malformed_specs_are_refused(text, message):
    with pytest.raises(InputError, match=message):
        features.load_spec(text)


def test_build_registers_lineage_statistics_and_versions(flake):
    built = features.build(flake, features.load_spec(SPEC), actor="ana")
    apps = datasets.get(flake, "applications")
    tx = datasets.get(flake, "transactions")
    assert built.ref == "applicant_features@1" and built.rows == apps.rows and built.usecase == demo.USECASE
    assert built.lineage == ({"role": "base", "dataset": "applications", "version": apps.version, "snapshot": apps.snapshot},
                             {"role": "source", "dataset": "transactions", "version": tx.version, "snapshot": tx.snapshot})
    assert built.features == ["age", "income", "sex", "debt_to_income", "young", "transactions_amount_count_90d",
                              "transactions_amount_sum_90d", "transactions_amount_avg_90d", "transactions_amount_max_90d"]
    assert built.label == "defaulted" and built.owner == "ana"
    stats = features.statistics_profile(built)
    frame = datasets.read_frame(flake, built)
    assert stats.column("income").missing == frame["income"].isna().sum() > 0
    assert stats.column("young").mean == pytest.approx((frame["age"] < 30).mean())
    assert np.allclose(frame["debt_to_income"].dropna(), (frame.merge(datasets.read_frame(flake, apps)[["applicant_id", "debt"]],
                       on="applicant_id").eval("debt / income")).dropna())
    second = features.build(flake, features.load_spec(SPEC.replace("90 days", "30 days")), actor="ana")
    assert second.version == 2 and "transactions_amount_sum_30d" in second.column_names
    first = features.get(flake, "applicant_features@1")
    assert "transactions_amount_sum_90d" in datasets.read_frame(flake, first, limit=1).columns  # v1 still readable
    assert [f.ref for f in features.latest(flake, search="activity")] == ["applicant_features@2"]
    assert features.latest(flake, search="no-such-thing") == []


def test_aggregates_are_point_in_time_correct(flake):
    """Events after each application must not leak into its features, however large they are."""
    apps = datasets.read_frame(flake, datasets.get(flake, "applications"))
    tx = datasets.read_frame(flake, datasets.get(flake, "transactions"))
    future = pd.DataFrame({"applicant_id": apps.applicant_id, "tx_at": apps.applied_at + pd.Timedelta(seconds=1),
                           "amount": 1e9, "category": "future"})
    at_the_moment = pd.DataFrame({"applicant_id": apps.applicant_id, "tx_at": apps.applied_at, "amount": 7.0,
                                  "category": "same_time"})
    planted = pd.concat([tx, future, at_the_moment], ignore_index=True)
    datasets.ingest_frame(flake, planted, name="transactions_planted", actor="t", usecase=demo.USECASE)
    assert (tx.merge(apps, on="applicant_id").eval("tx_at > applied_at")).mean() > 0.05  # the demo has later events
    spec = features.load_spec(SPEC.replace("source: transactions", "source: transactions_planted")
                              .replace("applicant_features", "pit_check"))
    built = datasets.read_frame(flake, features.build(flake, spec, actor="t")).set_index("applicant_id")
    assert built["transactions_planted_amount_max_90d"].max() < 1e9
    expected = reference_aggregates(apps, planted, days=90).loc[built.index]
    assert (built["transactions_planted_amount_count_90d"] == expected["count"]).all()
    assert np.allclose(built["transactions_planted_amount_sum_90d"].fillna(0), expected["sum"].fillna(0))
    assert (built["transactions_planted_amount_max_90d"].dropna() == 7.0).sum() > 0  # the event at the moment counts


def test_as_of_and_keyed_joins(flake):
    apps = datasets.read_frame(flake, datasets.get(flake, "applications")).head(50)
    rows = []
    for _, r in apps.iterrows():
        for days, score in ((-400, 500), (-10, 600), (5, 900)):
            rows.append({"applicant_id": r.applicant_id, "reported_at": r.applied_at + pd.Timedelta(days=days),
                         "score": score + r.applicant_id % 7})
    datasets.ingest_frame(flake, pd.DataFrame(rows), name="bureau", actor="t", usecase=demo.USECASE)
    regions = pd.DataFrame({"code": ["north", "south", "east", "west", "central"], "gdp_index": [1.1, 0.8, 1.0, 1.2, 0.9]})
    datasets.ingest_frame(flake, regions, name="regions", actor="t", usecase=demo.USECASE)
    spec = features.spec_from_dict({
        "name": "joined", "base": "applications", "entity": "applicant_id", "timestamp": "applied_at",
        "columns": ["region"],
        "joins": [{"source": "bureau", "columns": ["score"], "as_of": "reported_at", "prefix": "bureau_"},
                  {"source": "regions", "on": "region", "key": "code", "columns": ["gdp_index"]}]})
    built = datasets.read_frame(flake, features.build(flake, spec, actor="t")).set_index("applicant_id")
    sample = built.loc[apps.applicant_id]
    assert (sample["bureau_score"] == 600 + apps.applicant_id.to_numpy() % 7).all()  # latest at or before, not after
    assert built["bureau_score"].isna().sum() == len(built) - 50
    assert (built["gdp_index"] == built["region"].map(dict(zip(regions.code, regions.gdp_index)))).all()
    assert len(built) == datasets.get(flake, "applications").rows


@pytest.mark.parametrize("expression, message", [
    ("(SELECT max(income) FROM applications)", "subqueries"),
    ("read_csv('/etc/passwd')", "read_csv"),
    ("read_text('/etc/passwd')", "read_text"),
    ("getenv('HOME')", "getenv"),
    ("income; DROP TABLE lake.assay.usecases", "semicolons"),
    ("sum(income) OVER ()", "window"),
    ("income FROM read_parquet('x.parquet')", "one scalar expression"),
    ("nosuchcolumn * 2", "unknown column"),
    ("sex + 1", "does not compute"),
])
def test_hostile_or_broken_expressions_are_refused_and_nothing_is_written(flake, expression, message):
    spec = features.spec_from_dict({"name": "evil", "base": "applications", "entity": "applicant_id",
                                    "derived": {"x": expression}})
    before = lake_state(flake)
    with pytest.raises(InputError, match=message):
        features.build(flake, spec, actor="t")
    assert lake_state(flake) == before


@pytest.mark.parametrize("change, message", [
    ({"columns": ["nope"]}, "Column 'nope' is not a column"),
    ({"timestamp": "age"}, "not a date or time"),
    ({"aggregates": [{"source": "transactions", "column": "amount", "functions": ["sum"], "window": "30 days"}]},
     "needs 'timestamp'"),
    ({"timestamp": None, "aggregates": [{"source": "transactions", "column": "amount", "functions": ["sum"],
                                         "window": "30 days"}]}, "needs a base 'timestamp'"),
    ({"aggregates": [{"source": "transactions", "timestamp": "tx_at", "column": "category", "functions": ["sum"]}]},
     "needs a numeric column"),
    ({"aggregates": [{"source": "stringy", "timestamp": "tx_at", "column": "amount", "functions": ["sum"]}]},
     "Key types differ"),
    ({"joins": [{"source": "transactions", "columns": ["amount"]}]}, "repeated value"),
    ({"derived": {"age": "age * 2"}}, "appear twice"),
    ({"base": "missing_dataset"}, "No dataset named"),
])
def test_broken_specs_fail_clearly_and_leave_the_lake_unchanged(flake, change, message):
    if not any(v.name == "stringy" for v in datasets.latest(flake)):
        tx = datasets.read_frame(flake, datasets.get(flake, "transactions"), limit=100)
        datasets.ingest_frame(flake, tx.astype({"applicant_id": str}), name="stringy", actor="t", usecase=demo.USECASE)
    raw = {"name": "broken", "base": "applications", "entity": "applicant_id", "timestamp": "applied_at",
           "columns": ["age"], **change}
    before = lake_state(flake)
    with pytest.raises(AssayError, match=message):
        features.build(flake, features.spec_from_dict(raw), actor="t")
    assert lake_state(flake) == before


def test_preview_is_live_and_small(flake):
    frame = features.preview(flake, features.load_spec(SPEC), rows=100)
    assert len(frame) == 100 and "transactions_amount_avg_90d" in frame.columns
