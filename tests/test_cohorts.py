"""Cohorts: conditions compile to parameterised SQL, are saved in the lake and reused."""
from __future__ import annotations

import pytest

from core.data import cohorts, datasets
from core.errors import InputError, NotFoundError


def test_where_sql_quotes_columns_and_passes_values_as_parameters():
    conditions = [cohorts.Condition('we"ird', "==", "x' OR 1=1 --"), cohorts.Condition("age", "between", [18, 30]),
                  cohorts.Condition("region", "in", ["north", "south"]), cohorts.Condition("income", "is null")]
    where, params = cohorts.where_sql(conditions, ['we"ird', "age", "region", "income"])
    assert where == '"we""ird" = ? AND "age" BETWEEN ? AND ? AND "region" IN (?, ?) AND "income" IS NULL'
    assert params == ["x' OR 1=1 --", 18, 30, "north", "south"]
    with pytest.raises(InputError, match="not in this dataset"):
        cohorts.where_sql([cohorts.Condition("nope", "==", 1)], ["age"])
    with pytest.raises(InputError, match="not supported"):
        cohorts.Condition("age", "LIKE", "%")
    with pytest.raises(InputError, match="two values"):
        cohorts.Condition("age", "between", [1])


def test_condition_from_text():
    assert cohorts.condition_from_text("age", "<", "30", "BIGINT").value == 30
    assert cohorts.condition_from_text("income", ">=", "1e4", "DOUBLE").value == 10000.0
    assert cohorts.condition_from_text("region", "in", "north, south", "VARCHAR").value == ["north", "south"]
    assert cohorts.condition_from_text("age", "between", "18, 30", "INTEGER").value == [18, 30]
    with pytest.raises(InputError, match="not a number"):
        cohorts.condition_from_text("age", "<", "young", "BIGINT")
    with pytest.raises(InputError, match="needs a value"):
        cohorts.condition_from_text("age", "<", "", "BIGINT")


def test_save_list_apply_replace_delete(own_demo_lake):
    version = datasets.get(own_demo_lake, "applications")
    conditions = cohorts.conditions_from(demo_lake_planted_filter())
    saved = cohorts.save(own_demo_lake, "noisy_test", dataset="applications", conditions=conditions, actor="t",
                         usecase="credit_approval", columns=version.column_names)
    assert saved.conditions == tuple(conditions)
    assert "noisy_test" in [c.name for c in cohorts.list_cohorts(own_demo_lake, dataset="applications")]
    frame = datasets.read_frame(own_demo_lake, version)
    expected = ((frame.employment == "self_employed") & (frame.age < 40)).sum()
    assert cohorts.count_rows(own_demo_lake, version, saved.conditions) == expected
    replaced = cohorts.save(own_demo_lake, "noisy_test", dataset="applications", actor="t", usecase="credit_approval",
                            conditions=[cohorts.Condition("age", "<", 25)])
    assert replaced.conditions[0].value == 25
    assert len([c for c in cohorts.list_cohorts(own_demo_lake) if c.name == "noisy_test"]) == 1
    cohorts.delete(own_demo_lake, "noisy_test", actor="t", usecase="credit_approval")
    with pytest.raises(NotFoundError):
        cohorts.get(own_demo_lake, "noisy_test", usecase="credit_approval")
    with pytest.raises(InputError, match="at least one condition"):
        cohorts.save(own_demo_lake, "empty", dataset="applications", conditions=[], actor="t")
    with pytest.raises(InputError, match="not in this dataset"):
        cohorts.save(own_demo_lake, "bad", dataset="applications", conditions=[cohorts.Condition("zz", "==", 1)],
                     actor="t", columns=version.column_names)


def demo_lake_planted_filter():
    from core.data.demo import PLANTED

    return list(PLANTED.noisy_cohort)
