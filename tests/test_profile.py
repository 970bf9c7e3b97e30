"""Profiles and explorer aggregates agree with the same figures computed in pandas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import cohorts, datasets, profile
from core.errors import InputError


@pytest.fixture(scope="module")
def apps(demo_lake):
    version = datasets.get(demo_lake, "applications")
    return version, datasets.read_frame(demo_lake, version)


def test_profile_matches_pandas(demo_lake, apps):
    version, frame = apps
    result = profile.profile(demo_lake, version)
    assert result.rows == len(frame) and not result.approximate
    for column in result.columns:
        series = frame[column.name]
        assert column.missing == series.isna().sum(), column.name
        assert column.count == series.notna().sum()
        assert column.distinct == series.nunique()
    income = result.column("income")
    assert income.kind == "numeric" and income.missing > 0
    assert income.mean == pytest.approx(frame["income"].mean())
    assert income.std == pytest.approx(frame["income"].std())
    assert income.quantiles["0.5"] == pytest.approx(frame["income"].median())
    assert income.quantiles["0.25"] == pytest.approx(frame["income"].quantile(0.25))
    race = result.column("race_ethnicity")
    assert race.kind == "categorical"
    assert list(race.top_values[0]) == [frame["race_ethnicity"].value_counts().index[0],
                                        frame["race_ethnicity"].value_counts().iloc[0]]
    assert result.column("applied_at").kind == "temporal"
    assert result.identifiers() == ["applicant_id"]
    table = result.table()
    assert list(table["column"]) == version.column_names


def test_profile_of_a_cohort(demo_lake, apps):
    version, frame = apps
    conditions = [cohorts.Condition("employment", "==", "self_employed"), cohorts.Condition("age", "<", 35)]
    where, params = cohorts.where_sql(conditions, version.column_names)
    result = profile.profile(demo_lake, version, where=where, params=params, cohort="noisy")
    expected = frame[(frame.employment == "self_employed") & (frame.age < 35)]
    assert result.rows == len(expected) and result.cohort == "noisy"
    assert result.column("age").max < 35


def test_histograms_count_every_non_missing_value(demo_lake, apps):
    version, frame = apps
    numeric = profile.histogram(demo_lake, version, "income", bins=25)
    assert numeric["count"].sum() == frame["income"].notna().sum()
    assert len(numeric) <= 25 and numeric["bin_start"].min() == frame["income"].min()
    categorical = profile.histogram(demo_lake, version, "employment")
    assert dict(zip(categorical["value"], categorical["count"])) == frame["employment"].value_counts().to_dict()
    temporal = profile.histogram(demo_lake, version, "applied_at", bins=12)
    assert temporal["count"].sum() == len(frame)
    assert pd.api.types.is_datetime64_any_dtype(temporal["bin_start"])
    with pytest.raises(InputError, match="not in"):
        profile.histogram(demo_lake, version, "no_such_column")


def test_target_balance_and_binning(demo_lake, apps):
    version, frame = apps
    balance = profile.target_balance(demo_lake, version, "defaulted", "race_ethnicity")
    rate = balance[balance.target == "1"].set_index("group")["share"]
    expected = frame.groupby("race_ethnicity")["defaulted"].mean()
    assert rate.to_dict() == pytest.approx(expected.to_dict())
    binned = profile.target_balance(demo_lake, version, "defaulted", "income")
    assert binned["group"].nunique() == 6  # five bins plus '(missing)'
    assert binned[binned.group == "(missing)"]["count"].sum() == frame["income"].isna().sum()
    assert binned["count"].sum() == len(frame)
    with pytest.raises(InputError, match="other than the target"):
        profile.target_balance(demo_lake, version, "defaulted", "defaulted")
    with pytest.raises(InputError, match="distinct values"):
        profile.target_balance(demo_lake, version, "defaulted", "applied_at")


def test_correlations_match_pandas(demo_lake, apps):
    version, frame = apps
    result = profile.correlations(demo_lake, version, columns=["age", "income", "debt", "credit_history_months"])
    pivot = result.pivot(index="a", columns="b", values="correlation")
    expected = frame[["age", "income", "debt", "credit_history_months"]].corr()
    # pandas drops missing pairwise, DuckDB's corr skips rows with a NULL: the same pairs
    assert np.allclose(pivot.loc[expected.index, expected.columns].to_numpy(dtype=float), expected.to_numpy(), atol=1e-9)


def test_a_wide_table_profiled_in_long_form_says_exactly_what_the_column_batches_say(tmp_path, monkeypatch):
    """A wide table of few cells is profiled in long form (one query per type); every figure of every column,
    and of a cohort, equals the batch path's: numbers of three types, booleans, dates, times, text with odd
    names, a column with nothing in it."""
    import json

    from core.lake import Lake

    rng = np.random.default_rng(3)
    n = 40
    frame = pd.DataFrame({"id": np.arange(n)})
    for i in range(12):
        values = rng.integers(0, 9, n).astype(float)
        values[rng.random(n) < 0.2] = np.nan
        frame[f"n {i}"] = pd.array(values, dtype="Int64") if i % 3 == 0 else values
        frame[f"t'{i}"] = pd.Series(rng.choice(["a", "b", "B ", None], n), dtype="object")
        frame[f"b{i}"] = pd.array(rng.choice([True, False, None], n), dtype="boolean")
        frame[f"d{i}"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D")
        frame[f"f{i}"] = rng.normal(size=n).astype("float32")
    frame["empty"] = pd.Series([None] * n, dtype="float64")
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path)
    lake = Lake.open(tmp_path / "lake")
    datasets.ingest_path(lake, path, name="mixed", actor="local")
    version = datasets.get(lake, "mixed")
    assert len(version.columns) > profile.COLUMN_BATCH
    said = lambda p: json.dumps(p.to_dict(), default=str, sort_keys=True)
    long = [profile.profile(lake, version), profile.profile(lake, version, where="id >= ?", params=[7], cohort="late")]
    monkeypatch.setattr(profile, "LONG_CELLS", 0)
    batches = [profile.profile(lake, version), profile.profile(lake, version, where="id >= ?", params=[7], cohort="late")]
    assert [said(p) for p in long] == [said(p) for p in batches]
    empty = long[0].column("empty")
    assert empty.count == 0 and empty.missing == n and empty.mean is None and empty.top_values == ()
    assert long[1].rows == n - 7
    lake.close()
