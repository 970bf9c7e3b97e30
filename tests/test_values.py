"""The user's values and settings come back as they went in (issue 15, defects 6, 7 and 9): text that
looks boolean stays the user's text, `--positive` takes the literal the file had, the causal policy of
a review follows the outcome direction it was given, and l-diversity is never computed on a
quasi-identifier."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from core.data import datasets
from core.cli import main
from core.lake import Lake

from support import credit_model, lake_state


def cli(lake: Lake, *argv: str) -> tuple[int, dict]:
    out = io.StringIO()
    code = main(["--lake", str(lake.config.folder), *argv], out=out)
    return code, json.loads(out.getvalue())


def people_csv(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Text columns of every boolean-like spelling, a 0/1 number, and a group."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], n)
    reoffended = np.where(rng.random(n) < np.where(group == "A", 0.3, 0.5), "yes", "no")
    flag = np.where(rng.random(n) < 0.8, reoffended, np.where(reoffended == "yes", "no", "yes"))
    return pd.DataFrame({
        "person": [f"p{i}" for i in range(n)], "group": group, "reoffended": reoffended, "flag": flag,
        "employed": rng.choice(["Y", "N"], n), "prior": rng.choice(["T", "F"], n),
        "verified": rng.choice(["true", "false"], n), "mixed_case": rng.choice(["TRUE", "False", "yes", "NO"], n),
        "answer": rng.choice(["Yes", "No"], n), "count01": rng.choice([0, 1], n), "age": rng.integers(18, 70, n)})


TEXT_COLUMNS = ["reoffended", "flag", "employed", "prior", "verified", "mixed_case", "answer"]


def test_boolean_looking_text_reads_back_exactly_and_fairness_takes_positive_yes(lake, tmp_path):
    original = people_csv()
    path = tmp_path / "people.csv"
    original.to_csv(path, index=False)
    code, made = cli(lake, "ingest", str(path), "--name", "people")
    assert code == 0, made
    types = {c["name"]: c["type"] for c in made["columns"]}
    assert {c: types[c] for c in TEXT_COLUMNS} == {c: "VARCHAR" for c in TEXT_COLUMNS}
    assert types["count01"] == "BIGINT" and types["age"] == "BIGINT"  # numbers stay numbers
    back = datasets.read_frame(lake, datasets.get(lake, "people"))
    for column in TEXT_COLUMNS:
        assert back[column].tolist() == original[column].tolist(), column
    assert back["count01"].tolist() == original["count01"].tolist()

    code, report = cli(lake, "fairness", "--dataset", "people", "--label", "reoffended", "--prediction", "flag",
                       "--positive", "yes", "--sensitive", "group", "--bootstrap", "0")
    assert code == 0, report
    assert report["positive"] == "yes"
    for entry in report["groups"]:
        rows = original[original["group"] == entry["group"]["group"]]
        assert entry["count"] == len(rows)
        assert entry["positives"] == int((rows["reoffended"] == "yes").sum())
        assert entry["selection_rate"] == pytest.approx((rows["flag"] == "yes").mean())
        truth_yes = rows[rows["reoffended"] == "yes"]
        assert entry["tpr"] == pytest.approx((truth_yes["flag"] == "yes").mean())
    assert len(report["groups"]) == 2

    # Text is matched as written: 'true' is not a value of a yes/no column, and the message lists what is.
    before = lake_state(lake)
    code, error = cli(lake, "fairness", "--dataset", "people", "--label", "reoffended", "--prediction", "flag",
                      "--positive", "true", "--sensitive", "group")
    assert code != 0 and "['no', 'yes']" in error["error"]
    assert lake_state(lake) == before


def test_a_boolean_column_already_in_the_lake_accepts_the_users_literal(lake, tmp_path):
    original = people_csv()
    stored = original.assign(reoffended=original["reoffended"] == "yes", flag=original["flag"] == "yes")
    path = tmp_path / "people.parquet"
    stored.to_parquet(path, index=False)
    code, made = cli(lake, "ingest", str(path), "--name", "booleans")
    assert code == 0, made
    types = {c["name"]: c["type"] for c in made["columns"]}
    assert types["reoffended"] == "BOOLEAN" and types["flag"] == "BOOLEAN"  # a real boolean type stays one

    def audit(positive: str) -> dict:
        code, report = cli(lake, "fairness", "--dataset", "booleans", "--label", "reoffended", "--prediction", "flag",
                           "--positive", positive, "--sensitive", "group", "--bootstrap", "0")
        assert code == 0, report
        return report

    reference = audit("True")
    for literal in ("true", "yes", "YES", "1", "t", "y"):
        report = audit(literal)
        assert report["positive"] == literal
        assert report["groups"] == reference["groups"]
    for entry in reference["groups"]:
        rows = original[original["group"] == entry["group"]["group"]]
        assert entry["positives"] == int((rows["reoffended"] == "yes").sum())
        assert entry["selection_rate"] == pytest.approx((rows["flag"] == "yes").mean())
    negative = audit("no")  # the other value as the positive one: the groups' positives are the rest
    assert [g["positives"] for g in negative["groups"]] == [g["count"] - g["positives"] for g in reference["groups"]]
    before = lake_state(lake)
    code, error = cli(lake, "fairness", "--dataset", "booleans", "--label", "reoffended", "--prediction", "flag",
                      "--positive", "maybe", "--sensitive", "group")
    assert code != 0 and "'maybe'" in error["error"] and "['False', 'True']" in error["error"]
    assert lake_state(lake) == before


def test_json_booleans_stay_booleans_and_json_text_stays_text(lake, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"ok": i % 2 == 0, "said": "yes" if i % 3 else "no", "n": i}) + "\n"
                            for i in range(20)), encoding="utf-8")
    version = datasets.ingest_path(lake, path, name="rows", actor="t")
    assert {c.name: c.type for c in version.columns} == {"ok": "BOOLEAN", "said": "VARCHAR", "n": "BIGINT"}


def test_training_review_and_scoring_with_yes_no_target_and_text_flags(lake, tmp_path):
    from core.governance import registry
    from core import review, training
    from core.operations import scoring

    rng = np.random.default_rng(5)
    n = 600
    age = rng.integers(18, 70, n)
    employed = rng.choice(["Y", "N"], n)
    chance = 0.15 + 0.4 * (employed == "N") + 0.2 * (age < 30)
    frame = pd.DataFrame({"age": age, "employed": employed, "prior": rng.choice(["T", "F"], n),
                          "group": rng.choice(["A", "B"], n),
                          "reoffended": np.where(rng.random(n) < chance, "yes", "no")})
    path = tmp_path / "cases.csv"
    frame.to_csv(path, index=False)
    datasets.ingest_path(lake, path, name="cases", actor="t")
    run = training.train(lake, dataset="cases", target="reoffended", actor="t", algorithms=["logistic"],
                         sensitive=["group"]).runs[0]
    assert run.classes == ["no", "yes"] and run.positive == "yes"
    assert {f["name"]: f["kind"] for f in run.features}["employed"] == "categorical"
    made = review.create(lake, run_id=run.run_id, actor="t", components=["overview", "fairness"])
    results = review.results(lake, made.review_id)
    assert {g["group"]["group"] for g in results["fairness"]["reports"][0]["groups"]} == {"A", "B"}
    assert set(review.evaluation_frame(lake, made, ["employed"])["truth_label"]) == {"no", "yes"}
    version = registry.register(lake, run.run_id, name="cases_model", actor="t", review_id=made.review_id)
    job = scoring.score(lake, version.ref, actor="t", dataset="cases")
    scored = datasets.read_frame(lake, datasets.get(lake, job.output))
    assert len(scored) == n and set(scored["prediction"].astype(str)) <= {"no", "yes"}


@pytest.fixture(scope="module")
def credit_run(tmp_path_factory):
    """The credit demo with a model of `defaulted` (lower is better) over sex and race_ethnicity."""
    lake, run = credit_model(tmp_path_factory.mktemp("values") / "lake", rows=4_000, algorithm="logistic", actor="t")
    yield lake, run
    lake.close()


def test_the_saved_causal_policy_follows_the_reviews_direction_as_the_live_one_does(credit_run):
    lake, run = credit_run
    shares = {}
    for flag, higher in (("--lower-is-better", False), ("--higher-is-better", True)):
        code, made = cli(lake, "review", "--run", run.run_id, "--components", "causal", "--treatments", "counselling",
                         flag)
        assert code == 0, made
        saved = made["components"]["causal"][0]
        assert saved["higher_is_better"] is higher and saved["policy"]["higher_is_better"] is higher
        code, shown = cli(lake, "review", "show", made["review_id"])
        assert shown["config"]["higher_is_better"] is higher  # the direction is one of the review's settings
        stored = shown["components"]["causal"]["effects"][0]["policy"]
        live_args = ["causal", "--dataset", "applications@1", "--treatment", "counselling", "--outcome", "defaulted",
                     "--exclude", *run.excluded] + ([] if higher else ["--lower-is-better"])
        code, live = cli(lake, *live_args)
        assert code == 0, live
        assert live["higher_is_better"] is higher
        assert stored["treated_share"] == live["policy"]["treated_share"]
        assert stored["gain_policy"] == pytest.approx(live["policy"]["gain_policy"])
        assert stored["rules"] == live["policy"]["rules"]
        assert stored["gain_policy"] > 0  # the policy does better than treating no one, in the chosen direction
        shares[higher] = stored["treated_share"]
        ate = live["ate"]
    # Counselling lowers default: with a lower default better, the policy treats most rows, and few otherwise.
    assert ate < 0
    assert shares[False] > 0.5 > shares[True]
    assert shares[False] != shares[True]


def test_a_causal_review_without_a_direction_is_refused_and_changes_nothing(credit_run):
    lake, run = credit_run
    before = lake_state(lake)
    code, error = cli(lake, "review", "--run", run.run_id, "--components", "causal", "--treatments", "counselling")
    assert code != 0 and "--lower-is-better" in error["error"] and "--higher-is-better" in error["error"]
    code, error = cli(lake, "review", "--run", run.run_id, "--components", "causal", "--treatments", "counselling",
                      "--lower-is-better", "--higher-is-better")
    assert code != 0 and "not allowed with" in error["error"]
    assert lake_state(lake) == before


def test_l_diversity_on_a_quasi_identifier_is_refused(credit_run):
    lake, _ = credit_run
    before = lake_state(lake)
    code, error = cli(lake, "privacy", "--dataset", "applications", "--quasi", "age", "sex", "region",
                      "--sensitive", "sex")
    assert code != 0
    assert "l-diversity of 'sex' cannot be computed while 'sex' is also a quasi-identifier" in error["error"]
    assert lake_state(lake) == before


def test_a_privacy_review_takes_the_first_sensitive_column_that_is_not_a_quasi_identifier(credit_run):
    from core.analysis import privacy

    lake, run = credit_run
    code, made = cli(lake, "review", "--run", run.run_id, "--components", "privacy", "--quasi", "age", "sex", "region")
    assert code == 0, made
    saved = made["components"]["privacy"]
    diversity = saved["k_anonymity"]["l_diversity"]
    assert diversity["sensitive"] == "race_ethnicity"  # sex, the first sensitive column, is a quasi-identifier
    frame = datasets.read_frame(lake, datasets.get(lake, "applications"))
    by_hand = frame.astype({c: str for c in ("age", "sex", "region")}).groupby(["age", "sex", "region"])[
        "race_ethnicity"].nunique(dropna=False)
    assert diversity["l"] == int(by_hand.min())
    code, live = cli(lake, "privacy", "--dataset", "applications", "--quasi", "age", "sex", "region",
                     "--sensitive", "race_ethnicity")
    assert live["k_anonymity"]["l_diversity"] == diversity
    assert "l_diversity_note" not in saved

    code, made = cli(lake, "review", "--run", run.run_id, "--components", "privacy", "--sensitive", "sex",
                     "--quasi", "age", "sex")
    assert code == 0, made
    saved = made["components"]["privacy"]
    assert "l_diversity" not in saved["k_anonymity"]
    assert saved["l_diversity_note"].startswith("l-diversity was not computed: 'sex' is also among the quasi-identifiers")
    assert saved["recommendations"][-1] == saved["l_diversity_note"]  # so the scorecard says it too
    assert privacy.l_diversity_column(["sex", "race_ethnicity"], ["sex"]) == ("race_ethnicity", ["sex"])


def test_a_text_target_spelled_t_f_or_y_n_takes_its_affirmative_class_as_positive():
    from core.training._data import _positive

    for classes, expected in ((["F", "T"], "T"), (["N", "Y"], "Y"), (["NO", "YES"], "YES"), (["FALSE", "TRUE"], "TRUE")):
        assert _positive(classes, pd.Series([9, 1], index=classes), None) == expected
    assert _positive(["a", "b"], pd.Series([9, 1], index=["a", "b"]), None) == "b"  # otherwise the rarer class
