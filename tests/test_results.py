"""Typed review results (core.review.results): read from what is stored and written back exactly, tolerant
of older reviews; and every document drawn from them (the review Views, the meeting report, the
scorecard) prints the stored numbers of every sensitive column and group, in plain words."""
from __future__ import annotations

import json
import re

import pytest

from core import review, review_views, training
from core.governance import meeting, registry, scorecard
from core.review.results import TYPES, Outcome, ReviewResults, SensitiveReport

from support import credit_model
from test_documents import Document, check_fairness_printed

SENSITIVE = ["sex", "race_ethnicity"]
RATES = ("selection_rate", "accuracy", "tpr", "fpr", "fnr", "precision")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    lake, run = credit_model(tmp_path_factory.mktemp("results") / "lake", rows=3_000, algorithm="lightgbm", actor="alice")
    made = review.create(lake, run_id=run.run_id, actor="alice", components=list(review.COMPONENTS), cf_rows=8,
                         cf_count=2, treatments=["counselling"], quasi=["age", "region"], higher_is_better=False)
    version = registry.register(lake, run.run_id, name="typed", actor="alice", review_id=made.review_id)
    yield lake, run, made, version
    lake.close()


def test_typed_results_give_back_exactly_what_is_stored(demo):
    lake, run, made, _ = demo
    stored = review.results(lake, made.review_id)
    typed = review.typed_results(lake, made.review_id)
    assert set(typed.computed) == set(review.COMPONENTS) == set(stored)
    assert typed.to_dict() == stored
    for component, result in stored.items():
        again = TYPES[component].from_stored(result).to_dict()
        assert json.dumps(again) == json.dumps(result), component  # the same keys in the same order
    assert typed.outcome == Outcome(run.target, run.task, run.positive, tuple(run.classes))
    # the numbers are reachable by name, as stored
    fairness = stored["fairness"]
    assert [list(r.sensitive) for r in typed.fairness.reports] == [["sex"], ["race_ethnicity"], SENSITIVE]
    for report, raw in zip(typed.fairness.reports, fairness["reports"]):
        assert report.four_fifths.passed == raw["four_fifths"]["passed"]
        for group, raw_group in zip(report.groups, raw["groups"]):
            assert group.group == raw_group["group"] and group.count == raw_group["count"]
            for metric in RATES:
                assert group.metrics.get(metric) == raw_group[metric]
                assert list(group.metrics.interval(metric)) == raw_group[f"{metric}_ci"]
    assert typed.explain.top_features[0].mean_abs_shap == stored["explain"]["top_features"][0]["mean_abs_shap"]
    assert typed.errors.overall_error_rate == stored["errors"]["overall_error_rate"]
    assert typed.counterfactuals.found == stored["counterfactuals"]["counterfactuals"]
    assert typed.causal.effects[0].placebo.passed == stored["causal"]["effects"][0]["placebo"]["passed"]
    assert typed.privacy.membership_inference.auc == stored["privacy"]["membership_inference"]["auc"]


def _older(value, drop: str):
    """The stored result as an older review might have kept it: without key `drop` wherever it appears."""
    if isinstance(value, dict):
        return {k: _older(v, drop) for k, v in value.items() if k != drop}
    if isinstance(value, list):
        return [_older(v, drop) for v in value]
    return value


def test_an_older_review_missing_any_key_is_read_and_drawn(demo):
    lake, _, made, _ = demo
    stored = review.results(lake, made.review_id)
    keys = set()

    def collect(value):
        if isinstance(value, dict):
            keys.update(value)
            [collect(v) for v in value.values()]
        elif isinstance(value, list):
            [collect(v) for v in value[:3]]
    collect(stored)
    current = review.get(lake, made.review_id)
    for key in sorted(keys - {"group", "feature", "filter", "sensitive", "treatment", "outcome", "row", "original",
                              "values", "column", "quasi_identifiers", "labels"}):  # the names a result is about
        older = {c: _older(r, key) for c, r in stored.items()}
        typed = ReviewResults.from_stored(older)
        assert typed.to_dict() == older, key  # nothing added, nothing lost
        views = review_views.render_all(typed, lake=lake, review=current)  # never a crash
        assert all(v.computed for v in views), key


def test_views_scorecard_and_report_print_the_stored_numbers_in_plain_words(demo, tmp_path):
    lake, run, made, version = demo
    stored = review.results(lake, made.review_id)
    typed = review.typed_results(lake, made.review_id)
    current = review.get(lake, made.review_id)
    views = review_views.render_all(typed, lake=lake, review=current)
    documents = {"views": review_views.STYLE.join(review_views.view_html(v) for v in views),
                 "report": meeting.report_html(lake, made.review_id),
                 "scorecard": scorecard.to_html(scorecard.build(lake, version.ref))}
    row = typed.counterfactuals.rows[0]
    picked = review_views.render("counterfactuals", typed, {"row": row.row}, lake=lake, review=current)
    documents["counterfactual row"] = review_views.view_html(picked)
    for name, page in documents.items():
        if name != "counterfactual row":
            check_fairness_printed(Document(page), stored["fairness"])  # every column, group, metric and verdict
        text = " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<img[^>]+>", "", page)).split())
        for banned in ("predicted 1", "predicted 0", "{'", "'}", "000000"):
            assert banned not in text, (name, banned, text[max(0, text.find(banned) - 120):text.find(banned) + 60])
        assert not re.search(r"\d{4,}\.0{2,}\b", text), (name, re.findall(r"\S*\d{4,}\.0{2,}\S*", text)[:5])
    # sentences name the outcome and the groups in words
    report = documents["report"]
    assert "predicted to have defaulted" in report and "race_ethnicity = Group" in report
    matrix = Document(documents["views"]).table("Confusion matrix")
    assert matrix[0] == ["", "predicted not defaulted", "predicted defaulted"]
    assert [r[0] for r in matrix[1:]] == ["actually not defaulted", "actually defaulted"]
    labels = stored["overview"]["confusion_matrix"]["labels"]
    assert [r[1:] for r in matrix[1:]] == [[f"{n:,}" for n in r] for r in stored["overview"]["confusion_matrix"]["matrix"]]
    assert labels == ["0", "1"]
    # a counterfactual's values at its column's precision
    cf_table = Document(documents["counterfactual row"]).tables["untitled 0"][0]
    changed = cf_table[0][1:]
    for column, printed in zip(changed, cf_table[1][1:]):
        value = row.original[column]
        expected = str(value) if isinstance(value, str) else None
        if expected is not None:
            assert printed == expected
        else:
            assert float(printed.replace(",", "")) == pytest.approx(float(value), abs=0.05)
            assert not printed.endswith(".0") or isinstance(value, float) and not float(value).is_integer()


def test_a_fairness_sentence_is_made_from_the_numbers(demo):
    lake, _, made, _ = demo
    typed = review.typed_results(lake, made.review_id)
    race = next(r for r in typed.fairness.reports if list(r.sensitive) == ["race_ethnicity"])
    shown = review_views.render("fairness", typed, {"sensitive": "race_ethnicity"})
    sentences = shown.sections[0].sentences
    judged = [g for g in race.groups if not g.small]
    high = max(judged, key=lambda g: g.metrics.get("selection_rate"))
    low = min(judged, key=lambda g: g.metrics.get("selection_rate"))
    expected = (f"race_ethnicity = {high.group['race_ethnicity']} were predicted to have defaulted in "
                f"{high.metrics.get('selection_rate'):.1%} of cases, race_ethnicity = {low.group['race_ethnicity']} in "
                f"{low.metrics.get('selection_rate'):.1%}.")
    assert expected in sentences
    assert not any("predicted 1" in s or "true outcome was not 1" in s for s in sentences)


def test_a_live_fairness_report_and_a_run_are_said_in_words(demo):
    lake, run, made, _ = demo
    report = SensitiveReport.from_stored(review.results(lake, made.review_id)["fairness"]["reports"][0])
    live = review_views.fairness_live(report.to_dict(), threshold=0.5, target="defaulted")
    assert any("predicted to have defaulted" in s for s in live.sections[0].sentences)
    unnamed = review_views.fairness_live(report.to_dict(), threshold=0.5)  # no target: still no bare class
    assert not any("predicted 1" in s for s in unnamed.sections[0].sentences)
    said = training.describe_run(run)
    assert said.startswith("LightGBM of defaulted on applications@1 · ") and run.run_id not in said
    assert f"{run.created_at:%Y-%m-%d %H:%M}" in said
    described = review.describe_review(review.get(lake, made.review_id), run)
    assert said in described and "held-out rows" in described and made.review_id not in described


@pytest.mark.parametrize("target, positive, classes, predicted, negative", [
    ("defaulted", 1, (0, 1), "predicted to have defaulted", "not defaulted"),
    ("is_fraud", True, (False, True), "predicted to be fraud", "not fraud"),
    ("credit_risk", "bad", ("bad", "good"), "predicted credit_risk = bad", "good"),
    ("churn", "yes", ("no", "yes"), "predicted churn", "not churn"),
])
def test_words_name_the_outcome(target, positive, classes, predicted, negative):
    words = review_views.Words(Outcome(target, "binary", positive, classes))
    assert words.predicted == predicted
    assert words.class_name(classes[0] if classes[1] == positive else classes[1]) == negative
    assert words.class_name(str(positive)) == words.positive_name


def test_values_print_at_their_precision():
    assert review_views.value_text(64400.0, 0) == "64,400"
    assert review_views.value_text(4.7, 1) == "4.7"
    assert review_views.fmt(64400.0) == "64,400" and review_views.fmt(0.125) == "0.1250"
    assert review_views.group_label({"sex": "female", "race_ethnicity": "Group B"}) == "sex = female, race_ethnicity = Group B"
