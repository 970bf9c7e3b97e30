"""Review meetings: findings pinned with their settings, comments, decisions, action items that block
sign-off until closed or overridden, the CLI, and the exported report that stands alone."""
from __future__ import annotations

import io
import json

import pytest

from core.lake import audit
from core.governance import findings, registry
from core import review, training
from core.cli import main
from core.errors import AssayError, InputError
from core.lake.permissions import PermissionDenied

from support import credit_model


@pytest.fixture(scope="module")
def meeting(tmp_path_factory):
    lake, run = credit_model(tmp_path_factory.mktemp("meeting") / "lake", rows=4_000, algorithm="lightgbm", actor="alice")
    made = review.create(lake, run_id=run.run_id, actor="alice")
    version = registry.register(lake, run.run_id, name="met", actor="alice", review_id=made.review_id)
    yield lake, made, version
    lake.close()


def test_a_meeting_pins_comments_decides_and_blocks_sign_off(meeting, tmp_path):
    lake, made, version = meeting
    finding = findings.pin(lake, made.review_id, title="Group B misses more defaults", severity="high",
                           component="fairness", settings={"sensitive": ["race_ethnicity"], "threshold": 0.5},
                           actor="alice")
    findings.comment(lake, finding["finding_id"], "FNR 0.43 against 0.39 for Group A", actor="dana")
    findings.decide(lake, finding["finding_id"], "must_fix", actor="dana", reason="Before release")
    with pytest.raises(InputError, match="open must-fix items"):
        registry.signoff(lake, version.ref, decision="approve", comment="ok", actor="dana", role="data_science_lead")
    done = findings.add_action(lake, finding["finding_id"], "Mitigate with threshold optimizer", owner="alice",
                               due="2026-12-15", actor="dana")
    action = done["actions"][0]["action_id"]
    with pytest.raises(InputError, match="Mitigate with threshold optimizer"):
        registry.signoff(lake, version.ref, decision="approve", comment="ok", actor="dana", role="data_science_lead")
    findings.close_action(lake, action, actor="alice")
    registry.signoff(lake, version.ref, decision="approve", comment="fixed", actor="dana", role="data_science_lead")
    stored = findings.get(lake, finding["finding_id"])
    assert stored["settings"] == {"sensitive": ["race_ethnicity"], "threshold": 0.5}
    assert stored["comments"][0]["author"] == "dana" and stored["decision"] == "must_fix"
    assert stored["actions"][0]["status"] == "closed"
    assert {"meet"} <= {e["action"] for e in audit.entries(lake, limit=50)}


def test_an_override_needs_an_admin_and_a_reason(meeting):
    lake, made, version = meeting
    from core.governance import accounts

    worst = review.results(lake, made.review_id)["errors"]["cohorts"][0]["filter"]
    finding = findings.pin(lake, made.review_id, title="Noisy cohort", severity="medium", component="errors",
                           settings={"top_cohort": worst}, actor="alice")
    findings.decide(lake, finding["finding_id"], "must_fix", actor="alice")
    item = findings.add_action(lake, finding["finding_id"], "Relabel", owner="bob", due="2027-01-10",
                               actor="alice")["actions"][0]["action_id"]
    accounts.add(lake, "ann", role="analyst", actor="local", password="analyst password")
    try:
        with pytest.raises(PermissionDenied, match="needs an admin"):
            findings.close_action(lake, item, actor="ann", override_reason="no time")
        findings.close_action(lake, item, actor="local", override_reason="Accepted by the risk board")
        assert findings.get(lake, finding["finding_id"])["actions"][0]["status"] == "overridden"
    finally:
        accounts.remove(lake, "ann", actor="local")  # back to single-user mode for the other tests


def test_bad_findings_are_refused(meeting):
    lake, made, _ = meeting
    for kwargs, message in [({"title": " ", "severity": "low", "component": "explain"}, "title"),
                            ({"title": "x", "severity": "dire", "component": "explain"}, "Severity"),
                            ({"title": "x", "severity": "low", "component": "causal"}, "no causal component"),
                            ({"title": "x", "severity": "low", "component": "astrology"}, "Unknown component")]:
        with pytest.raises(AssayError, match=message):
            findings.pin(lake, made.review_id, actor="alice", **kwargs)
    with pytest.raises(AssayError, match="YYYY-MM-DD"):
        first = findings.list_findings(lake, made.review_id)[0]
        findings.add_action(lake, first["finding_id"], "x", owner="y", due="next week", actor="alice")


def test_the_cli_lists_findings_and_exports_a_report_that_stands_alone(meeting, tmp_path):
    lake, made, _ = meeting
    findings.pin(lake, made.review_id, title="What drives the score", severity="low", component="explain",
                 settings={"feature": "debt"}, actor="alice")
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "findings", made.review_id], out=out) == 0
    listed = json.loads(out.getvalue())["findings"]
    assert [f["title"] for f in listed][0] == "Group B misses more defaults"
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "report", made.review_id, "--out", str(tmp_path / "r.html")],
                out=out) == 0
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64,") >= 2  # the fairness and explain charts, embedded
    assert "Group B misses more defaults" in page and "Mitigate with threshold optimizer" in page
    assert "src='http" not in page and "<script" not in page  # nothing to fetch: it opens offline


def test_two_models_side_by_side(meeting):
    from core.governance import side_by_side

    lake, made, _ = meeting
    other = training.train(lake, dataset="applications", target="defaulted", actor="alice", algorithms=["logistic"],
                           sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
    with pytest.raises(InputError, match="Review"):
        side_by_side.compare(lake, made.run_id, other.run_id)
    review.create(lake, run_id=other.run_id, actor="alice")
    result = side_by_side.compare(lake, made.run_id, other.run_id)
    auc = next(m for m in result["metrics"] if m["metric"] == "roc_auc")
    first, second = training.get(lake, made.run_id), training.get(lake, other.run_id)
    assert auc["a"] == first.metrics["roc_auc"] and auc["b"] == second.metrics["roc_auc"]
    assert auc["better"] == ("a" if auc["a"] > auc["b"] else "b")
    accuracy = next(m for m in result["metrics"] if m["metric"] == "accuracy")
    assert accuracy["a_ci"][0] <= accuracy["a"] <= accuracy["a_ci"][1]  # the review's bootstrap interval
    brier = next(m for m in result["metrics"] if m["metric"] == "brier")
    assert brier["better"] == ("a" if brier["a"] < brier["b"] else "b")  # lower is better there
    assert result["fairness"] and result["top_features"] and result["error_cohorts"]["a"]
    assert result["calibration"]["a"] and result["calibration"]["b"]


def test_the_same_comment_or_action_submitted_twice_is_stored_once(meeting, monkeypatch):
    """Enter in a box and then a click on its button send the comment (or action item) twice: one record, no
    second snapshot or audit entry; another author, other text, or the same text after the window are new."""
    lake, made, _ = meeting
    finding = findings.pin(lake, made.review_id, title="Debt drives the score", severity="low", component="explain",
                           settings={"feature": "debt"}, actor="alice")["finding_id"]
    findings.comment(lake, finding, "Seen twice?", actor="dana")
    entries, snapshot = len(audit.entries(lake, limit=10_000)), lake.current_snapshot()
    again = findings.comment(lake, finding, "  Seen twice?  ", actor="dana")
    assert [c["text"] for c in again["comments"]] == ["Seen twice?"]
    assert len(audit.entries(lake, limit=10_000)) == entries and lake.current_snapshot() == snapshot
    findings.comment(lake, finding, "Seen twice?", actor="alice")
    findings.comment(lake, finding, "Seen twice? Yes.", actor="dana")
    other = findings.pin(lake, made.review_id, title="Debt again", severity="low", component="explain",
                         settings={"feature": "debt"}, actor="alice")["finding_id"]
    findings.add_action(lake, other, "Look at debt", owner="bob", due="2027-01-10", actor="alice")
    findings.add_action(lake, other, "Look at debt ", owner="bob", due="2027-01-10", actor="alice")  # sent again
    findings.add_action(lake, other, "Look at debt", owner="carol", due="2027-01-10", actor="alice")  # another owner
    monkeypatch.setattr(findings, "REPEAT_SECONDS", 0)  # past the window: said again on purpose
    findings.comment(lake, finding, "Seen twice?", actor="dana")
    findings.add_action(lake, other, "Look at debt", owner="bob", due="2027-01-10", actor="alice")
    assert [(c["author"], c["text"]) for c in findings.get(lake, finding)["comments"]] == [
        ("dana", "Seen twice?"), ("alice", "Seen twice?"), ("dana", "Seen twice? Yes."), ("dana", "Seen twice?")]
    assert [a["owner"] for a in findings.get(lake, other)["actions"]] == ["bob", "carol", "bob"]
    listed = findings.list_findings(lake, made.review_id)  # read together, each finding keeps its own comments and items
    assert listed == [findings.get(lake, f["finding_id"]) for f in listed]
    assert [(f["finding_id"], len(f["comments"]), len(f["actions"])) for f in listed][-2:] == [(finding, 4, 0), (other, 0, 3)]
