"""Registry, gate, sign-off, promotion and the audit chain: two versions run the gate with real
numbers, promotion without the required sign-offs is refused, a changed artifact voids approvals,
and editing any audit row makes `audit verify` fail at that row."""
from __future__ import annotations

import io
import json

import pytest

from core.lake import audit
from core.data import demo
from core.governance import registry
from core import training
from core.cli import main
from core.errors import AssayError, InputError
from core.lake import Lake

from support import lake_state


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    lake = Lake.open(tmp_path_factory.mktemp("registry") / "lake")
    demo.build(lake, rows=8_000, with_transactions=False)
    result = training.train(lake, dataset="applications", target="defaulted", actor="alice",
                            algorithms=["lightgbm", "logistic"], sensitive=["sex", "race_ethnicity"],
                            exclude=["applicant_id", "applied_at"])
    fewer = training.train(lake, dataset="applications", target="defaulted", actor="alice", algorithms=["logistic"],
                           sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at", "debt"]).runs[0]
    ranked = sorted(result.runs, key=lambda r: r.metrics["roc_auc"])  # on 8,000 rows logistic edges out LightGBM
    yield lake, {"worse": ranked[0], "better": ranked[1]}, fewer
    lake.close()


def approve(lake, ref, who=("dana", "rick")):
    registry.signoff(lake, ref, decision="approve", comment="Reviewed the scorecard", actor=who[0],
                     role="data_science_lead")
    registry.signoff(lake, ref, decision="approve", comment="Risk accepted", actor=who[1], role="risk_compliance")


def test_two_versions_run_the_gate_and_promotion_needs_sign_offs(trained):
    lake, runs, fewer = trained
    first = registry.register(lake, runs["worse"].run_id, name="credit", actor="alice")
    assert first.version == 1 and first.gate["status"] == "skipped" and "challenger" in first.aliases
    assert [f["name"] for f in first.signature] == runs["worse"].feature_names and len(first.input_example) == 3
    with pytest.raises(InputError, match="sign-offs"):
        registry.promote(lake, "credit@1", actor="alice")
    with pytest.raises(InputError, match="separation of duties"):
        registry.signoff(lake, "credit@1", decision="approve", comment="mine", actor="alice", role="data_science_lead")
    approve(lake, "credit@1")
    assert registry.promote(lake, "credit@1", actor="alice")["alias"] == "champion"
    second = registry.register(lake, runs["better"].run_id, name="credit", actor="alice")
    gate = second.gate
    assert gate["status"] == "passed", gate and gate["champion"] == "credit@1"
    auc = gate["metrics"]["roc_auc"]
    assert auc["candidate"] == pytest.approx(runs["better"].metrics["roc_auc"])  # the same held-out rows
    assert auc["candidate"] > auc["champion"] and auc["improvement"] == pytest.approx(auc["candidate"] - auc["champion"])
    approve(lake, "credit@2")
    registry.promote(lake, "credit@2", actor="alice")
    assert registry.get(lake, "credit@champion").version == 2


def test_a_failed_gate_needs_an_override_and_a_changed_feature_set_is_skipped(trained):
    lake, runs, fewer = trained
    strict = {"roc_auc": {"min_absolute": 0.5, "min_relative": 0.0, "higher_is_better": True}}
    third = registry.register(lake, fewer.run_id, name="credit", actor="alice")
    assert third.gate["status"] == "skipped" and "feature set changed" in third.gate["reason"]
    registry.register(lake, runs["worse"].run_id, name="strict", actor="alice")
    approve(lake, "strict@1")
    registry.promote(lake, "strict@1", actor="alice")
    failed = registry.register(lake, runs["better"].run_id, name="strict", actor="alice", thresholds=strict)
    assert failed.gate["status"] == "failed" and not failed.gate["metrics"]["roc_auc"]["passed"]
    approve(lake, "strict@2")
    with pytest.raises(InputError, match="failed the gate"):
        registry.promote(lake, "strict@2", actor="alice")
    done = registry.promote(lake, "strict@2", actor="alice", override_reason="Accepted by the risk board on 26 Nov")
    assert done["override"]
    entry = audit.entries(lake, action="promote", limit=1)[0]
    assert entry["details"]["override_reason"] == "Accepted by the risk board on 26 Nov"


def test_a_rejection_blocks_and_a_changed_artifact_voids_approvals(trained, tmp_path):
    lake, runs, _ = trained
    version = registry.register(lake, runs["better"].run_id, name="fragile", actor="alice")
    approve(lake, version.ref)
    registry.signoff(lake, version.ref, decision="reject", comment="Group B misses too many defaults", actor="rosa",
                     role="risk_compliance")
    with pytest.raises(InputError, match="rejected by rosa"):
        registry.promote(lake, version.ref, actor="alice")
    artifact = lake.config.folder / version.artifact
    original = artifact.read_bytes()
    try:
        artifact.write_bytes(original + b"tampered")
        status = registry.approval_status(lake, version.ref)
        assert not status["artifact_unchanged"] and not status["approved"]
        with pytest.raises(InputError, match="changed"):
            registry.signoff(lake, version.ref, decision="approve", comment="ok", actor="rosa", role="risk_compliance")
    finally:
        artifact.write_bytes(original)


def test_editing_an_audit_row_breaks_the_chain_at_that_row(trained):
    lake, runs, _ = trained
    checked = audit.verify(lake)
    assert checked["ok"] and checked["entries"] >= 10
    actions = {e["action"] for e in audit.entries(lake, limit=1000)}
    assert {"ingest", "train", "register", "signoff", "promote"} <= actions
    target = audit.entries(lake, action="signoff", limit=1000)[-1]["seq"]

    def tamper(cur) -> None:
        cur.execute("UPDATE lake.assay.audit SET actor = 'mallory' WHERE seq = ?", [target])

    lake.write(tamper, actor="mallory", action="edit", message="edit audit row")  # an UPDATE of the row, in an audited snapshot
    broken = audit.verify(lake)
    assert not broken["ok"] and broken["first_bad"] == target and "edited" in broken["problem"]
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "audit", "verify"], out=out) == 1
    assert json.loads(out.getvalue())["first_bad"] == target

    def restore(cur) -> None:
        cur.execute("UPDATE lake.assay.audit SET actor = 'dana' WHERE seq = ?", [target])

    lake.write(restore, actor="t", action="edit", message="edit audit row back")


def test_bad_registry_requests_fail_clearly_and_change_nothing(trained):
    lake, runs, _ = trained
    before = lake_state(lake)
    cases = [(lambda: registry.register(lake, "nope", name="x", actor="a"), "No run"),
             (lambda: registry.register(lake, runs["better"].run_id, name="bad/name", actor="a"), "Model name"),
             (lambda: registry.register(lake, runs["better"].run_id, name="credit", actor="a"), "already credit@2"),
             (lambda: registry.get(lake, "credit"), "NAME@VERSION"), (lambda: registry.get(lake, "credit@9"), "No version 9"),
             (lambda: registry.get(lake, "ghost@champion"), "No registered model"),
             (lambda: registry.signoff(lake, "credit@2", decision="maybe", comment="x", actor="b", role="risk_compliance"),
              "approve or reject"),
             (lambda: registry.signoff(lake, "credit@2", decision="approve", comment=" ", actor="b", role="risk_compliance"),
              "comment"),
             (lambda: registry.signoff(lake, "credit@2", decision="approve", comment="x", actor="b", role="cfo"),
              "Unknown sign-off role")]
    for call, message in cases:
        with pytest.raises(AssayError, match=message):
            call()
    assert lake_state(lake) == before


def test_the_registry_through_the_cli(trained, monkeypatch):
    lake, runs, _ = trained
    folder = str(lake.config.folder)

    def cli(*args, user="alice", code=0):
        monkeypatch.setattr("core.cli._context.local_actor", lambda: user)  # where the CLI calls it
        out = io.StringIO()
        assert main(["--lake", folder, *args], out=out) == code, out.getvalue()
        return json.loads(out.getvalue())

    made = cli("register", "--run", runs["worse"].run_id, "--name", "cli_model", "--owner", "risk-analytics")
    assert made == {**made, "name": "cli_model", "version": 1, "aliases": ["challenger"]}
    assert made["gate"]["status"] == "skipped"
    refused = cli("promote", "cli_model@1", code=2)
    assert "sign-offs" in refused["error"]
    cli("signoff", "cli_model@1", "--decision", "approve", "--comment", "fine", "--role", "data_science_lead", user="dana")
    status = cli("signoff", "cli_model@1", "--decision", "approve", "--comment", "fine", "--role", "risk_compliance",
                 user="rick")
    assert status["approved"]
    assert cli("promote", "cli_model@1")["alias"] == "champion"
    shown = cli("model", "show", "cli_model@champion")
    assert shown["version"] == 1 and shown["approvals"]["approved"] and len(shown["signoffs"]) == 2
    assert {n["kind"] for n in shown["lineage"]["nodes"]} >= {"model version", "run", "dataset"}
    listed = cli("models")["models"]
    assert any(m["name"] == "cli_model" and m["aliases"] == {"champion": 1} for m in listed)  # no longer the challenger
    assert cli("audit", "verify")["ok"]
    assert cli("audit", "list", "--only", "promote")["entries"][0]["actor"] == "alice"


@pytest.mark.slow
def test_the_scorecard_pdf_and_html_show_every_section_with_real_figures(trained, tmp_path):
    import pypdfium2

    from core import review

    lake, runs, _ = trained
    run = runs["better"]
    made = review.create(lake, run_id=run.run_id, actor="t",
                         components=["overview", "explain", "errors", "fairness", "counterfactuals", "causal", "privacy"],
                         cf_rows=10, cf_count=2, treatments=["counselling"], quasi=["age", "sex"],
                         higher_is_better=False)
    version = registry.register(lake, run.run_id, name="carded", actor="alice", description="Predict default",
                                review_id=made.review_id)
    registry.update_card(lake, version.ref, {"intended_use": "Pre-screening, a person decides",
                                             "targets": {"roc_auc": {"min": 0.99}, "accuracy": {"min": 0.5}}}, actor="alice")
    with pytest.raises(InputError, match="min"):
        registry.update_card(lake, version.ref, {"targets": {"roc_auc": {"above": 1}}}, actor="alice")
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "scorecard", version.ref, "--out", str(tmp_path / "card.pdf")],
                out=out) == 0
    written = json.loads(out.getvalue())
    expected = ["Purpose and intended use", "Data used", "Model", "Performance on held-out rows", "Fairness by group",
                "Top features (SHAP)", "Error cohorts", "Counterfactuals", "Causal highlights", "Privacy",
                "Validation checks", "Champion/challenger gate", "Sign-off"]
    assert written["sections"] == expected
    pdf = pypdfium2.PdfDocument(str(tmp_path / "card.pdf"))
    text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    for title in expected:
        assert title in text
    assert f"{run.metrics['roc_auc']:.4f}" in text and "FAIL" in text and "pass" in text  # targets judged
    assert "Pre-screening, a person decides" in text and "counselling on defaulted" in text
    page = pdf[1].render(scale=1).to_pil()
    assert page.size[0] > 500 and len(set(page.convert("L").getdata())) > 10  # a drawn page, not a blank one
    assert main(["--lake", str(lake.config.folder), "scorecard", version.ref, "--out", str(tmp_path / "card.html")],
                out=io.StringIO()) == 0
    page_html = (tmp_path / "card.html").read_text()
    # group rates by sex, by race_ethnicity and by both, top features, worst error cohorts, counterfactual changes
    assert page_html.count("data:image/png;base64,") == 6 and "http" not in page_html.split("<body>")[1]
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "scorecard", version.ref, "--out", str(tmp_path / "card.docx")],
                out=out) == 2
    assert ".pdf or .html" in json.loads(out.getvalue())["error"]


def test_an_open_must_fix_item_on_the_champion_shows_in_the_registry_and_the_lifecycle(trained, monkeypatch):
    """A critical must-fix finding with an open action item, decided after the champion was approved and
    promoted: approval status, lifecycle, the Model registry page and the Lifecycle page all say so."""
    from streamlit.testing.v1 import AppTest

    from support import ROOT
    from core.governance import findings
    from core import review

    lake, runs, fewer = trained
    version = registry.register(lake, fewer.run_id, name="watched", actor="alice")
    approve(lake, version.ref)
    registry.promote(lake, version.ref, actor="alice")
    made = review.create(lake, run_id=fewer.run_id, actor="alice", components=["overview"])
    finding = findings.pin(lake, made.review_id, title="Group B misses defaults", severity="critical",
                           component="overview", actor="dana")
    findings.decide(lake, finding["finding_id"], "must_fix", actor="dana", reason="Before the next scoring run")
    findings.add_action(lake, finding["finding_id"], "Retrain with reweighing", owner="alice", due="2026-12-15",
                        actor="dana")
    status = registry.approval_status(lake, version.ref)
    assert status["approved"] and [i["title"] for i in status["open_must_fix"]] == ["Group B misses defaults"]
    assert status["open_must_fix"] == findings.blocking(lake, fewer.run_id)  # one owner: core.findings
    overview = registry.lifecycle(lake)
    entry = next(v for v in overview["versions"] if v["model"] == version.ref)
    sentence = ("Champion and approved, but 1 must-fix action open: Group B misses defaults: Retrain with reweighing "
                "(alice, due 2026-12-15)")
    assert entry["stage"] == "champion" and entry["open_must_fix"] == 1 and entry["attention"] == sentence
    same_run = {f"{n}@{v}" for n, v, r in lake.query("SELECT name, version, run_id FROM lake.assay.model_versions")
                if r == fewer.run_id}  # every version of that run, and no other
    assert {b["model"] for b in overview["open_must_fix"]} == same_run
    assert {v["model"] for v in overview["versions"] if v["open_must_fix"]} == same_run
    with pytest.raises(InputError, match="must-fix item"):
        registry.promote(lake, version.ref, actor="alice")  # approved, but not (again) champion while it is open
    shown = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "model", "show", "watched@champion"], out=shown) == 0
    assert json.loads(shown.getvalue())["approvals"]["open_must_fix"][0]["action"] == "Retrain with reweighing"

    monkeypatch.setenv("ASSAY_LAKE", str(lake.config.folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/models.py").run()
    at.selectbox(key="registry_model_pick").select("watched").run()
    assert not at.exception
    banner = [e.value for e in at.error]
    assert any("Approved, but 1 must-fix action open" in b and "Retrain with reweighing (alice, due 2026-12-15)" in b
               for b in banner), banner
    assert at.metric[1].value == "approved" and at.metric[1].proto.delta == "1 must-fix open"
    at.switch_page("pages/lifecycle.py").run()
    assert not at.exception
    assert any(f"{version.ref}" in e.value and sentence in e.value for e in at.error), [e.value for e in at.error]
    findings.close_action(lake, findings.get(lake, finding["finding_id"])["actions"][0]["action_id"], actor="alice")
    assert registry.approval_status(lake, version.ref)["open_must_fix"] == []
    at.run()
    assert not [e.value for e in at.error if "must-fix" in e.value]
