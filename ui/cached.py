"""st.cache_data wrappers around core reads.

A dataset version is immutable (it is a lake snapshot), so results keyed by the lake folder,
the version's snapshot and the cohort filter never go stale.
"""
from __future__ import annotations

from typing import Optional

import pandas as pd
import streamlit as st

from core.data import cohorts, datasets, profile
from ui.state import lake


def _version(ref: str) -> datasets.DatasetVersion:
    return datasets.get(lake(), ref)


@st.cache_data(show_spinner="Profiling…", max_entries=64)
def dataset_profile(folder: str, ref: str, snapshot: int, where: str, params: tuple, cohort: str) -> profile.DatasetProfile:
    return profile.profile(lake(), _version(ref), where=where, params=list(params), cohort=cohort)


@st.cache_data(show_spinner=False, max_entries=256)
def histogram(folder: str, ref: str, snapshot: int, column: str, bins: int, where: str, params: tuple) -> pd.DataFrame:
    return profile.histogram(lake(), _version(ref), column, bins=bins, where=where, params=list(params))


@st.cache_data(show_spinner=False, max_entries=128)
def target_balance(folder: str, ref: str, snapshot: int, target: str, group: str, where: str, params: tuple) -> pd.DataFrame:
    return profile.target_balance(lake(), _version(ref), target, group, where=where, params=list(params))


@st.cache_data(show_spinner="Computing correlations…", max_entries=64)
def correlations(folder: str, ref: str, snapshot: int, where: str, params: tuple, exclude: tuple = ()) -> pd.DataFrame:
    return profile.correlations(lake(), _version(ref), where=where, params=list(params), exclude=exclude)


def cohort_filter(version: datasets.DatasetVersion, cohort: Optional[cohorts.Cohort]) -> tuple[str, tuple]:
    if cohort is None:
        return "true", ()
    where, params = cohorts.where_sql(cohort.conditions, version.column_names)
    return where, tuple(params)
