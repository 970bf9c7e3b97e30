"""Real public CSVs (shipped inside installed packages: statsmodels' datasets and econml's IHDP)
ingest and profile with the same row counts, missing counts and kinds of types as pandas reads."""
from __future__ import annotations

import glob
import os

import econml
import pandas as pd
import pytest
import statsmodels

from core.data import datasets, profile

pytestmark = pytest.mark.slow  # every public CSV shipped with statsmodels, and models on real files
FILES = sorted(glob.glob(os.path.join(os.path.dirname(statsmodels.__file__), "datasets", "*", "*.csv")))
FILES.append(os.path.join(os.path.dirname(econml.__file__), "data", "ihdp", "example_full.csv"))


def read_with_pandas(path: str) -> pd.DataFrame:
    with open(path, encoding="utf-8") as handle:
        header = handle.readline()
    sep = max(",;\t|", key=header.count)
    return pd.read_csv(path, sep=sep)


def test_there_are_real_files_with_missing_values():
    assert len(FILES) >= 20
    assert sum(read_with_pandas(f).isna().sum().sum() > 0 for f in FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_real_csv_matches_pandas(lake, path):
    name = "real_" + os.path.basename(path).removesuffix(".csv").lower().replace("-", "_")
    version = datasets.ingest_path(lake, path, name=name, actor="t")
    expected = read_with_pandas(path)
    result = profile.profile(lake, version)
    assert version.rows == result.rows == len(expected)
    assert version.column_names == list(expected.columns)
    for column in result.columns:
        series = expected[column.name]
        assert column.missing == series.isna().sum(), column.name
        if series.isna().all():
            continue  # an all-missing column has no type to agree on (pandas: float, DuckDB: VARCHAR)
        pandas_numeric = pd.api.types.is_numeric_dtype(series)
        assert (column.kind == "numeric") == pandas_numeric, (column.name, column.type, series.dtype)
