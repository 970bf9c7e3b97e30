"""The demo's planted truths are really in the generated data."""
from __future__ import annotations

import numpy as np
import pytest

from core.data import datasets, demo
from core.errors import InputError


@pytest.fixture(scope="module")
def frames(demo_lake):
    read = lambda name: datasets.read_frame(demo_lake, datasets.get(demo_lake, name))
    return read("applications"), read("transactions"), read("applications_batch2")


def test_tables_sizes_and_usecase(demo_lake, frames):
    apps, tx, batch = frames
    assert len(apps) == 6_000 and len(batch) == 1_200
    assert 15 < len(tx) / len(apps) < 25
    assert apps["applicant_id"].is_unique and set(tx["applicant_id"]) <= set(apps["applicant_id"])
    assert {v.usecase for v in datasets.latest(demo_lake) if v.name != "ihdp"} == {demo.USECASE}
    assert apps["income"].isna().mean() > 0.03 and apps["years_employed"].isna().mean() > 0.05


def test_planted_disparity_and_proxy(frames):
    apps, _, _ = frames
    rates = apps.groupby("race_ethnicity")["defaulted"].mean()
    others = rates.drop(demo.PLANTED.disparity_group)
    assert rates[demo.PLANTED.disparity_group] > others.max() + 0.08
    south = apps.groupby("race_ethnicity")["region"].apply(lambda r: (r == "south").mean())
    assert south[demo.PLANTED.disparity_group] > 0.55 > south.drop(demo.PLANTED.disparity_group).max()


def test_planted_treatment_effect_and_confounding(demo_lake, frames):
    apps, _, _ = frames
    truths = demo.truths(demo_lake)
    assert -0.12 < truths["true_ate"] < -0.06
    assert truths["true_effect_under_35"] < truths["true_effect_35_and_over"] < 0  # stronger for the young
    naive = apps[apps.counselling == 1]["defaulted"].mean() - apps[apps.counselling == 0]["defaulted"].mean()
    assert naive > truths["true_ate"] + 0.02  # confounded: counselling goes to riskier applicants
    dti = apps["debt"] / apps["income"]
    assert dti[apps.counselling == 1].median() > dti[apps.counselling == 0].median()


def test_planted_noisy_cohort(demo_lake, frames):
    apps, _, _ = frames
    truths = demo.truths(demo_lake)
    cohort = (apps.employment == "self_employed") & (apps.age < 40)
    assert cohort.sum() == truths["noisy_cohort_rows"] > 200
    assert truths["noisy_cohort_flipped"] / truths["noisy_cohort_rows"] == pytest.approx(0.5, abs=0.06)


def test_planted_drift_only_in_the_drifted_features(frames):
    apps, _, batch = frames
    assert batch["income"].median() / apps["income"].median() == pytest.approx(0.7, abs=0.06)
    assert batch["loan_amount"].median() / apps["loan_amount"].median() == pytest.approx(1.5, abs=0.12)
    assert (batch.home_ownership == "rent").mean() > 0.58 > 0.47 > (apps.home_ownership == "rent").mean()
    for column in ("age", "debt", "credit_history_months", "years_employed", "late_payments_12m", "loan_term_months"):
        assert batch[column].mean() == pytest.approx(apps[column].mean(), rel=0.1), column
    for column in ("sex", "region", "employment", "race_ethnicity"):
        shares_a = apps[column].value_counts(normalize=True)
        shares_b = batch[column].value_counts(normalize=True)
        assert np.abs(shares_a - shares_b).max() < 0.04, column
    assert batch["applicant_id"].min() > apps["applicant_id"].max()


def test_some_transactions_fall_after_the_application(frames):
    apps, tx, _ = frames
    joined = tx.merge(apps[["applicant_id", "applied_at"]], on="applicant_id")
    assert 0.05 < (joined.tx_at > joined.applied_at).mean() < 0.15


def test_generator_is_seeded_and_rows_are_bounded():
    first, _ = demo.applications(500, seed=3)
    again, _ = demo.applications(500, seed=3)
    assert first.equals(again)
    with pytest.raises(InputError, match="--rows"):
        demo.build(None, rows=10)


def test_ihdp_sample(demo_lake):
    version = datasets.get(demo_lake, "ihdp")
    assert version.rows == 985 and version.usecase == "ihdp_trial"
    assert {"treat", "iqsb_36"} <= set(version.column_names)
