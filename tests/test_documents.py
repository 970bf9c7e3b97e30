"""Every document generated from a review (scorecard HTML and PDF, the meeting report, side by side,
the meeting page's findings) prints the stored review results: every sensitive column and their
intersection, every group, failing verdicts first, components not computed said plainly."""
from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import pytest

from core.governance import findings, meeting, registry, scorecard, side_by_side
from core import review, review_views, training
from core.cli import main
from core.errors import InputError
from core.lake import Lake

from support import ROOT, lake_state

SENSITIVE = ["sex", "race_ethnicity"]
RATES = ("selection_rate", "accuracy", "tpr", "fpr", "fnr", "precision")


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    from core.data import demo

    lake = Lake.open(tmp_path_factory.mktemp("documents") / "lake")
    demo.build(lake, rows=6_000)
    run = training.train(lake, dataset="applications", target="defaulted", actor="alice", algorithms=["lightgbm"],
                         sensitive=SENSITIVE, exclude=["applicant_id", "applied_at"]).runs[0]
    full = review.create(lake, run_id=run.run_id, actor="alice", components=list(review.COMPONENTS), cf_rows=10,
                         cf_count=2, treatments=["counselling"], quasi=["age", "region"],
                         higher_is_better=False)  # fewer defaults are better
    small = review.create(lake, run_id=run.run_id, actor="alice", components=["overview", "explain", "errors"])
    version = registry.register(lake, run.run_id, name="documented", actor="alice", review_id=full.review_id)
    yield lake, run, full, small, version
    lake.close()


class Document(HTMLParser):
    """Tables (by their data-title), headings, list items and image alt texts of an HTML document."""

    def __init__(self, text: str):
        super().__init__()
        self.tables, self.headings, self.items, self.images, self._cell, self._tag = {}, [], [], [], None, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._tag.append(tag)
        if tag == "table":
            self._table = []
            self.tables.setdefault(attrs.get("data-title") or f"untitled {len(self.tables)}", []).append(self._table)
        elif tag == "tr":
            self._table.append([])
        elif tag in ("td", "th", "li", "h2", "h3", "h4"):
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs.get("alt", ""))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        self._tag.pop() if self._tag else None
        if tag in ("td", "th"):
            self._table[-1].append(self._cell.strip())
        elif tag == "li":
            self.items.append(self._cell.strip())
        elif tag in ("h2", "h3", "h4"):
            self.headings.append(self._cell.strip())
        if tag in ("td", "th", "li", "h2", "h3", "h4"):
            self._cell = None

    def table(self, title: str) -> list[list[str]]:
        found = self.tables.get(title)
        assert found, f"no table {title!r}; tables: {list(self.tables)}"
        return found[0]


def label(group: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in group.items())


def check_fairness_printed(doc: Document, stored: dict) -> None:
    """Every column and intersection, every group, every metric and verdict, as stored; failing first."""
    reports = stored["reports"]
    assert [r["sensitive"] for r in reports] == [["sex"], ["race_ethnicity"], SENSITIVE]
    for report in reports:
        name = " × ".join(report["sensitive"])
        groups = doc.table(f"Group metrics by {name}")
        header, rows = groups[0], {row[0]: row for row in groups[1:]}
        assert len(rows) == len(report["groups"])
        for group in report["groups"]:
            row = dict(zip(header, rows[label(group["group"])]))
            assert row["count"] == f"{group['count']:,}"
            for metric in RATES:
                assert row[metric.replace("_", " ")] == f"{group[metric]:.4f}", (name, group["group"], metric)
        rule = doc.table(f"Four-fifths rule by {name}")
        printed = {row[0]: row for row in rule[1:]}
        assert set(printed) == set(report["four_fifths"]["metrics"])
        for metric, verdict in report["four_fifths"]["metrics"].items():
            assert printed[metric][1] == f"{verdict['worst_ratio']:.4f}"
            assert printed[metric][2] == label(verdict["worst_group"] or {})
            assert printed[metric][3] == ("pass" if verdict["passed"] else "FAIL")
        verdicts = [row[3] for row in rule[1:]]
        assert verdicts == sorted(verdicts, key=lambda v: v != "FAIL")  # failing verdicts first
        heading = next(h for h in doc.headings if h.startswith(f"By {name}"))
        assert heading.endswith("FAIL" if not report["four_fifths"]["passed"] else "pass")
    fairness_headings = [h for h in doc.headings if h.startswith("By ")]
    passed = [h.endswith("pass") for h in fairness_headings]
    assert passed == sorted(passed)  # failing sections come first


def test_scorecard_and_report_print_every_group_of_every_sensitive_column(reviewed, tmp_path):
    import pypdfium2

    lake, run, full, _, version = reviewed
    stored = review.results(lake, full.review_id)["fairness"]
    race = next(r for r in stored["reports"] if r["sensitive"] == ["race_ethnicity"])
    assert not race["four_fifths"]["passed"]  # the planted disparity fails the rule
    for command, name in (("scorecard", "card.html"), ("report", "report.html")):
        target = version.ref if command == "scorecard" else full.review_id
        out = io.StringIO()
        assert main(["--lake", str(lake.config.folder), command, target, "--out", str(tmp_path / name)], out=out) == 0
        page = (tmp_path / name).read_text()
        head = json.loads(out.getvalue())["audit_head"]
        assert f"Audit chain head: entry {head['seq']}, SHA-256 {head['hash']}." in page  # one line on each document
        doc = Document(page)
        check_fairness_printed(doc, stored)
        assert f"Rates by race_ethnicity at threshold {stored['threshold']:g}" in doc.images
        assert f"Rates by sex × race_ethnicity at threshold {stored['threshold']:g}" in doc.images
        failing = [m for m, v in race["four_fifths"]["metrics"].items() if not v["passed"]]
        for metric in failing:
            ratio = race["four_fifths"]["metrics"][metric]["worst_ratio"]
            assert f"Four-fifths rule by race_ethnicity: FAILED for {metric}, ratio {ratio:.4f}" in page
        assert "four-fifths rule passed" not in page.lower()
    card_page = (tmp_path / "card.html").read_text()
    assert "Four-fifths rule FAILED by" in card_page and "race_ethnicity" in card_page.split("Four-fifths rule FAILED by")[1][:200]
    assert scorecard.build(lake, version.ref)["audit_head"]["hash"] in (tmp_path / "card.html").read_text()
    report = Document((tmp_path / "report.html").read_text())
    verdicts = [i for i in report.items if i.endswith(("pass", "FAIL"))]
    assert verdicts and verdicts[0].endswith("FAIL") and verdicts == sorted(verdicts, key=lambda v: v.endswith("pass"))
    # the PDF prints the same numbers
    assert main(["--lake", str(lake.config.folder), "scorecard", version.ref, "--out", str(tmp_path / "card.pdf")],
                out=io.StringIO()) == 0
    pdf = pypdfium2.PdfDocument(str(tmp_path / "card.pdf"))
    text = re.sub(r"\s+", " ", " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))))
    pdf.close()
    for report_ in stored["reports"]:
        name = " × ".join(report_["sensitive"])
        assert f"By {name}" in text
        for group in report_["groups"]:
            for metric in RATES:
                assert f"{group[metric]:.4f}" in text, (name, group["group"], metric)
        for metric, verdict in report_["four_fifths"]["metrics"].items():
            assert f"{verdict['worst_ratio']:.4f}" in text
    assert "Four-fifths rule by race_ethnicity: FAILED for" in text


def test_a_finding_is_redrawn_with_its_own_settings_and_unknown_settings_raise(reviewed, tmp_path):
    lake, _, full, _, _ = reviewed
    current, results = review.get(lake, full.review_id), review.results(lake, full.review_id)
    before = lake_state(lake)
    for settings, message in (({"sensitive": "age"}, "no fairness result for age"),
                              ({"sensitive": "race_ethnicity", "colour": "red"}, "no setting 'colour'"),
                              ({"threshold": 0.3}, "computed at threshold")):
        with pytest.raises(InputError, match=message):
            findings.pin(lake, full.review_id, title="x", severity="high", component="fairness", settings=settings,
                         actor="alice")
    assert lake_state(lake) == before  # nothing pinned
    with pytest.raises(review_views.ViewSettingsError, match="no cohort"):
        review_views.render("errors", results, {"top_cohort": "age > 200"})
    pinned = findings.pin(lake, full.review_id, title="Group C is flagged more often", severity="high",
                          component="fairness", settings={"sensitive": "race_ethnicity"}, actor="alice")
    assert findings.get(lake, pinned["finding_id"])["settings"] == {"sensitive": "race_ethnicity"}
    shown = meeting.finding_view(lake, current, results, pinned)
    assert [s.title for s in shown.sections] == ["By race_ethnicity"]
    assert [review_views.chart_title(c) for c in shown.sections[0].charts] == ["Rates by race_ethnicity at threshold 0.5"]
    stored = next(r for r in results["fairness"]["reports"] if r["sensitive"] == ["race_ethnicity"])
    assert all("sex =" not in line for line in shown.sections[0].sentences)
    assert shown.sections[0].passed == stored["four_fifths"]["passed"]
    assert "Every metric passes the four-fifths rule" not in " ".join(shown.sections[0].sentences)
    page = meeting.report_html(lake, full.review_id)
    block = page.split(f"id='{pinned['finding_id']}'")[1].split("<div class='finding'")[0]
    doc = Document(block)
    assert doc.images == ["Rates by race_ethnicity at threshold 0.5"]
    assert "race_ethnicity = Group" in block and "Rates by sex" not in block and "sex = " not in block
    check_groups = doc.table("Group metrics by race_ethnicity")
    assert len(check_groups) - 1 == len(stored["groups"])
    both = findings.pin(lake, full.review_id, title="Intersection", severity="medium", component="fairness",
                        settings={"sensitive": SENSITIVE}, actor="alice")
    assert [s.title for s in meeting.finding_view(lake, current, results, both).sections] == [
        "By sex × race_ethnicity (intersection)"]


def test_a_report_without_findings_carries_the_review(reviewed, tmp_path):
    lake, _, full, small, _ = reviewed
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "report", small.review_id, "--out", str(tmp_path / "r.html")],
                out=out) == 0
    answer = json.loads(out.getvalue())
    assert answer["findings"] == 0 and answer["bytes"] > 20_000 and answer["audit_head"]["seq"] > 0
    page = (tmp_path / "r.html").read_text()
    doc = Document(page)
    stored = review.results(lake, small.review_id)
    overall = stored["overview"]["overall"]
    metrics = {row[0]: row[1] for row in doc.table("Metrics on the evaluated rows")[1:]}
    for metric in ("accuracy", "roc_auc", "selection_rate", "positive_rate"):
        assert metrics[metric] == f"{overall[metric]:.4f}"
    printed = [t for t in doc.tables if t.startswith("untitled")]
    features = next(doc.tables[t][0] for t in printed if doc.tables[t][0][0] == ["feature", "mean |SHAP|"])
    assert [(r[0], r[1]) for r in features[1:]] == [(f["feature"], f"{f['mean_abs_shap']:.4f}")
                                                     for f in stored["explain"]["top_features"][:10]]
    assert "Top features: mean |SHAP value|" in doc.images and "Worst error cohorts (dashed: all rows)" in doc.images
    worst = sorted(stored["errors"]["cohorts"], key=lambda c: -c["error_rate"])
    cohorts = doc.table("Worst cohorts")[1:]
    assert [(r[0], r[1], r[3]) for r in cohorts] == [(c["filter"], f"{c['error_rate']:.4f}", f"{c['rows']:,}") for c in worst[:8]]
    assert f"error rate, all rows: {stored['errors']['overall_error_rate']:.4f}" in " ".join(
        re.sub(r"<[^>]+>", "", page).split())
    for component in ("fairness", "counterfactuals", "causal", "privacy"):
        assert f"Not computed: this review has no {component} component." in page
    assert f"Audit chain head: entry {answer['audit_head']['seq']}, SHA-256 {answer['audit_head']['hash']}" in page
    # the full review: counterfactual, causal and privacy highlights
    text = " ".join(re.sub(r"<[^>]+>", " ", meeting.report_html(lake, full.review_id)).split())
    results = review.results(lake, full.review_id)
    assert f"{results['counterfactuals']['counterfactuals']:,} counterfactuals for {len(results['counterfactuals']['rows'])}" in text
    effect = results["causal"]["effects"][0]
    assert f"Effect of counselling on defaulted: {effect['ate']:+.4g}" in text
    assert f"Membership-inference attack AUC {results['privacy']['membership_inference']['auc']:.4f}" in text
    assert "Not computed" not in text


def test_side_by_side_covers_every_sensitive_column(reviewed):
    lake, run, full, _, _ = reviewed
    other = training.train(lake, dataset="applications", target="defaulted", actor="alice", algorithms=["logistic"],
                           sensitive=SENSITIVE, exclude=["applicant_id", "applied_at"]).runs[0]
    made = review.create(lake, run_id=other.run_id, actor="alice")
    result = side_by_side.compare(lake, run.run_id, other.run_id)
    reviews = {"a": result["a"]["review_id"], "b": result["b"]["review_id"]}
    assert reviews["b"] == made.review_id
    names = {"sex", "race_ethnicity", "sex × race_ethnicity"}
    assert {row["sensitive"] for row in result["fairness"]} == names
    assert {v["sensitive"] for v in result["fairness_verdicts"]} == names
    for side in ("a", "b"):
        stored = review.results(lake, reviews[side])["fairness"]["reports"]
        for report in stored:
            name = " × ".join(report["sensitive"])
            verdict = next(v for v in result["fairness_verdicts"] if v["sensitive"] == name)
            assert verdict[f"{side}_passed"] == report["four_fifths"]["passed"]
            for group in report["groups"]:
                for metric in ("selection_rate", "tpr", "fpr"):
                    row = next(r for r in result["fairness"] if r["sensitive"] == name
                               and r["group"] == label(group["group"]) and r["metric"] == metric)
                    assert row[side] == group[metric]


def test_the_fairness_page_pins_a_finding_on_the_chosen_column(reviewed, monkeypatch):
    from streamlit.testing.v1 import AppTest

    lake, _, full, _, _ = reviewed
    monkeypatch.setenv("ASSAY_LAKE", str(lake.config.folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/fairness.py").run()
    at.segmented_control(key="fairness_mode").set_value("A saved review").run()
    at.selectbox(key="_review_picker").select(full.review_id).run()
    at.selectbox(key=f"fairness_review_sensitive_{full.review_id}").select("race_ethnicity").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Four-fifths rule by race_ethnicity" in m.value for m in at.markdown)
    assert not any("Four-fifths rule by sex" in m.value for m in at.markdown)
    assert any(c.value == "Settings kept with it: sensitive = race_ethnicity" for c in at.caption)  # words, not a dict
    at.text_input(key="pin_here_title_fairness").input("Group C gets more false alarms").run()
    at.button(key="pin_here_go_fairness").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    made = [f for f in findings.list_findings(lake, full.review_id) if f["title"] == "Group C gets more false alarms"]
    assert len(made) == 1 and made[0]["component"] == "fairness"
    assert made[0]["settings"] == {"sensitive": "race_ethnicity"}
