"""Identities the record can stand on: sign-off roles granted to accounts (one person, one required role of a
version), `--as` proven by a password on standard input or an API token, the channel and OS user in every audit
entry, audited refusals, sign-ins that back off and lock, and app sessions that end with their account."""
from __future__ import annotations

import io
import json

import pytest
from streamlit.testing.v1 import AppTest

from core.governance import accounts, registry
from core.lake import audit, identity
from core.data import demo
from core import training
from core.cli import main
from core.errors import InputError
from core.lake import Lake
from core.lake.permissions import PermissionDenied

from support import ROOT, lake_state

PASSWORDS = {"boss": "boss password 1", "appr1": "approver one pw", "appr2": "approver two pw",
             "ana": "analyst pw 123", "vic": "viewer pw 1234"}


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A small demo, a run trained and registered by alice (before accounts), then five accounts."""
    lake = Lake.open(tmp_path_factory.mktemp("identity") / "lake")
    demo.build(lake, rows=2_000, with_transactions=False, actor="alice")
    runs = training.train(lake, dataset="applications", target="defaulted", actor="alice",
                          algorithms=["logistic", "lightgbm"], exclude=["applicant_id", "applied_at"]).runs
    for run in runs:
        registry.register(lake, run.run_id, name=f"id_{run.algorithm}", actor="alice")
    for name, role in (("boss", "admin"), ("appr1", "approver"), ("appr2", "approver"), ("ana", "analyst"),
                       ("vic", "viewer")):
        accounts.add(lake, name, role=role, actor="local", password=PASSWORDS[name])
    yield lake
    lake.close()


def cli(lake: Lake, *args, stdin: str = "", code: int = 0, monkeypatch=None) -> dict:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), *args], out=out) == code, out.getvalue()
    return json.loads(out.getvalue())


def last_denial(lake: Lake) -> dict:
    return audit.entries(lake, action="denied", limit=1)[0]


def signoff_rows(lake: Lake, ref: str) -> list:
    name, _, version = ref.partition("@")
    return lake.query("SELECT reviewer, role, decision FROM lake.assay.signoffs WHERE name = ? AND version = ? "
                      "ORDER BY signed_at", [name, int(version)])


def test_one_approver_cannot_fill_two_roles_and_promotion_waits_for_distinct_granted_people(team):
    lake = team
    ref = "id_logistic@1"
    for role in ("data_science_lead", "risk_compliance"):
        assert role in accounts.grant_signoff_role(lake, "appr1", role, actor="boss")
    accounts.grant_signoff_role(lake, "appr2", "risk_compliance", actor="boss")
    assert registry.signable_roles(lake, "appr1") == ["data_science_lead", "risk_compliance"]
    first = registry.signoff(lake, ref, decision="approve", comment="Scorecard read", actor="appr1",
                             role="data_science_lead")
    assert first["roles"]["data_science_lead"]["approved_by"] == ["appr1"] and not first["approved"]
    with pytest.raises(InputError, match="at most one required role"):
        registry.signoff(lake, ref, decision="approve", comment="Risk fine too", actor="appr1", role="risk_compliance")
    denied = last_denial(lake)
    assert denied["actor"] == "appr1" and "already signed" in denied["details"]["reason"]
    assert signoff_rows(lake, ref) == [("appr1", "data_science_lead", "approve")]
    with pytest.raises(InputError, match="lacks the required sign-offs"):
        registry.promote(lake, ref, actor="boss")
    status = registry.signoff(lake, ref, decision="approve", comment="Risk accepted", actor="appr2",
                              role="risk_compliance")
    assert status["approved"] and status["roles"]["risk_compliance"]["approved_by"] == ["appr2"]
    assert registry.promote(lake, ref, actor="boss")["alias"] == "champion"


def test_a_sign_off_role_must_be_granted_and_only_approvers_hold_one(team):
    lake = team
    ref = "id_lightgbm@1"
    before = lake_state(lake)
    with pytest.raises(PermissionDenied, match="does not hold the sign-off role data_science_lead"):
        registry.signoff(lake, ref, decision="approve", comment="ok", actor="appr2", role="data_science_lead")
    assert last_denial(lake)["actor"] == "appr2" and signoff_rows(lake, ref) == []
    with pytest.raises(PermissionDenied, match="local administrator holds no sign-off role"):
        registry.signoff(lake, ref, decision="approve", comment="ok", actor="local:root", role="risk_compliance")
    with pytest.raises(InputError, match="only approvers and admins"):
        accounts.grant_signoff_role(lake, "ana", "data_science_lead", actor="boss")
    with pytest.raises(InputError, match="Unknown sign-off role"):
        accounts.grant_signoff_role(lake, "appr2", "cfo", actor="boss")
    with pytest.raises(PermissionDenied):
        accounts.grant_signoff_role(lake, "appr2", "data_science_lead", actor="appr2")  # not an admin
    after = lake_state(lake)
    assert before["versions"] == after["versions"] and signoff_rows(lake, ref) == []
    assert registry.signable_roles(lake, "appr2") == ["risk_compliance"]
    # grant and revoke through the CLI (the local administrator), a demotion drops the grants
    shown = cli(lake, "users", "grant", "vic", "--signoff-role", "risk_compliance", code=2)
    assert "only approvers and admins" in shown["error"]
    assert cli(lake, "users", "grant", "boss", "--signoff-role", "data_science_lead")["signoff_roles"] == \
        ["data_science_lead"]
    assert cli(lake, "users", "revoke", "boss", "--signoff-role", "data_science_lead")["signoff_roles"] == []
    accounts.grant_signoff_role(lake, "boss", "risk_compliance", actor="local")
    accounts.set_role(lake, "boss", "analyst", actor="local")
    assert accounts.signoff_roles(lake, "boss") == []
    accounts.set_role(lake, "boss", "admin", actor="local")
    listed = {u["name"]: u for u in cli(lake, "users")["users"]}
    assert listed["appr1"]["signoff_roles"] == ["data_science_lead", "risk_compliance"]


def test_one_person_in_two_roles_counts_once_even_when_recorded_before_the_rule(team):
    """Sign-offs already in a lake (made before grants existed) count a person in the first role they signed."""
    lake = team
    ref = "id_lightgbm@1"

    def legacy_signoff(cur, role):  # as the sign-off of an older Assay wrote it: the row and its audit entry
        digest = cur.execute("SELECT artifact_sha256 FROM lake.assay.model_versions WHERE name = 'id_lightgbm' "
                             "AND version = 1").fetchall()[0][0]
        cur.execute("INSERT INTO lake.assay.signoffs VALUES ('id_lightgbm', 1, 'old_hand', ?, 'approve', 'legacy', ?, "
                    "now())", [role, digest])
        audit.append(cur, actor="old_hand", action="signoff", obj=f"model:{ref}",
                     details={"decision": "approve", "role": role, "comment": "legacy", "artifact_sha256": digest})

    for role in ("data_science_lead", "risk_compliance"):  # two sign-offs, one after the other, before the rule
        lake._write_with(lake.cursor, lambda cur, role=role: legacy_signoff(cur, role),
                         actor="t", message="signoff legacy", tag=None)
    status = registry.approval_status(lake, ref)
    assert status["roles"]["data_science_lead"]["approved_by"] == ["old_hand"]
    assert status["roles"]["risk_compliance"] == {**status["roles"]["risk_compliance"], "approved_by": [],
                                                  "met": False, "not_counted": ["old_hand"]}
    assert not status["approved"]
    with pytest.raises(InputError, match="lacks the required sign-offs"):
        registry.promote(lake, ref, actor="boss")
    def cleanup(cur):
        cur.execute("DELETE FROM lake.assay.signoffs WHERE reviewer = 'old_hand'")
        audit.append(cur, actor="t", action="cleanup", obj=f"model:{ref}", details={"removed": "legacy sign-offs"})

    lake._write_with(lake.cursor, cleanup, actor="t", message="cleanup", tag=None)
    assert audit.verify(lake)["ok"]


def test_as_needs_a_credential_refusals_are_audited_and_the_entry_names_channel_and_os_user(team, monkeypatch):
    lake = team
    ref = "id_lightgbm@1"
    monkeypatch.delenv("ASSAY_TOKEN", raising=False)
    args = ("signoff", ref, "--decision", "approve", "--comment", "signed by someone else really", "--role",
            "risk_compliance")
    refused = cli(lake, "--as", "appr2", *args, code=2, monkeypatch=monkeypatch)
    assert "needs its credential" in refused["error"] and "--password-stdin" in refused["error"]
    denied = last_denial(lake)
    assert denied["actor"] == "appr2" and denied["object"] == "sign-in" and denied["details"]["channel"] == "cli"
    assert signoff_rows(lake, ref) == []
    ghost = cli(lake, "--as", "ghost", "models", code=2, monkeypatch=monkeypatch)
    assert "No account 'ghost'" in ghost["error"] and last_denial(lake)["actor"] == "ghost"
    wrong = cli(lake, "--as", "appr2", "--password-stdin", *args, stdin="not the password\n", code=2,
                monkeypatch=monkeypatch)
    assert "wrong password" in wrong["error"] and last_denial(lake)["details"]["reason"].startswith("wrong password")
    accounts.unlock(lake, "appr2", actor="boss")  # no waiting in tests: clear the back-off
    signed = cli(lake, "--as", "appr2", "--password-stdin", *args, stdin=PASSWORDS["appr2"] + "\n",
                 monkeypatch=monkeypatch)
    assert signed["roles"]["risk_compliance"]["approved_by"] == ["appr2"]
    entry = audit.entries(lake, action="signoff", limit=1)[0]
    assert entry["actor"] == "appr2" and entry["details"]["channel"] == "cli"
    assert entry["details"]["os_user"] == identity.os_user() and entry["details"]["os_user"]
    # separation of duties through the CLI: refused and audited
    own = registry.register(lake, training.list_runs(lake)[0].run_id, name="own_work", actor="boss")
    accounts.grant_signoff_role(lake, "boss", "data_science_lead", actor="local")
    refused = cli(lake, "--as", "boss", "--password-stdin", "signoff", own.ref, "--decision", "approve", "--comment",
                  "mine", "--role", "data_science_lead", stdin=PASSWORDS["boss"] + "\n", code=2, monkeypatch=monkeypatch)
    assert "separation of duties" in refused["error"]
    denied = last_denial(lake)
    assert denied["actor"] == "boss" and "separation of duties" in denied["details"]["reason"]
    assert denied["details"]["channel"] == "cli" and signoff_rows(lake, own.ref) == []
    # the local administrator (no --as) is still the CLI's default, but signs no role once accounts exist
    refused = cli(lake, *args[:-1], "data_science_lead", code=2, monkeypatch=monkeypatch)
    assert "local administrator holds no sign-off role" in refused["error"]


def test_api_tokens_sign_in_from_the_cli_and_a_wrong_token_is_refused_and_audited(team, monkeypatch):
    lake = team
    issued = cli(lake, "users", "token", "appr1")
    token = issued["token"]
    stored = lake.query("SELECT token_sha256 FROM lake.assay.api_tokens WHERE token_id = ?", [issued["token_id"]])[0][0]
    assert token not in stored and len(stored) == 64  # kept only as its SHA-256
    monkeypatch.setenv("ASSAY_TOKEN", token)
    card = cli(lake, "--as", "appr1", "card", "id_lightgbm@1", "--set", '{"limitations": "x"}', code=2,
               monkeypatch=monkeypatch)
    assert "approver and may not edit" in card["error"]  # signed in as appr1, whose role is checked
    monkeypatch.setenv("ASSAY_TOKEN", "assay_nothing_like_a_token")
    refused = cli(lake, "--as", "appr1", "models", code=2, monkeypatch=monkeypatch)
    assert "Unknown or revoked API token" in refused["error"]
    denied = last_denial(lake)
    assert denied["actor"] == "appr1" and denied["details"]["credential"] == "token"
    assert denied["details"]["channel"] == "cli"
    monkeypatch.delenv("ASSAY_TOKEN")
    refused = cli(lake, "--as", "appr2", "--token-stdin", "models", stdin=token + "\n", code=2, monkeypatch=monkeypatch)
    assert "not appr2's" in refused["error"] and last_denial(lake)["actor"] == "appr2"
    models = cli(lake, "--token-stdin", "models", stdin=token + "\n", monkeypatch=monkeypatch)
    assert {m["name"] for m in models["models"]} >= {"id_logistic", "id_lightgbm"}
    accounts.add(lake, "tmp_user", role="analyst", actor="local", password="temporary pw 1")
    temp = accounts.issue_token(lake, "tmp_user", actor="local")["token"]
    accounts.remove(lake, "tmp_user", actor="local")
    refused = cli(lake, "--token-stdin", "models", stdin=temp + "\n", code=2, monkeypatch=monkeypatch)
    assert "Unknown or revoked API token" in refused["error"]  # a removed account's tokens go with it


def test_failed_sign_ins_back_off_lock_and_an_admin_unlocks(team, monkeypatch):
    lake = team
    now = [1_000_000.0]
    monkeypatch.setattr(accounts, "_clock", lambda: now[0])
    assert cli(lake, "users", "policy", "--lock-after", "3", "--backoff-seconds", "2") == \
        {"lock_after": 3, "backoff_seconds": 2.0}
    with pytest.raises(PermissionDenied, match="Wait 2 s"):
        accounts.authenticate(lake, "vic", "guess one")
    with pytest.raises(PermissionDenied, match="wait"):
        accounts.authenticate(lake, "vic", PASSWORDS["vic"])  # even the right password waits
    now[0] += 2.5
    with pytest.raises(PermissionDenied, match="Wait 4 s"):  # the delay doubles
        accounts.authenticate(lake, "vic", "guess two")
    now[0] += 4.5
    with pytest.raises(PermissionDenied, match="now locked after 3"):
        accounts.authenticate(lake, "vic", "guess three")
    now[0] += 10_000
    with pytest.raises(PermissionDenied, match="is locked"):
        accounts.authenticate(lake, "vic", PASSWORDS["vic"])
    reasons = [e["details"]["reason"] for e in audit.entries(lake, action="denied", limit=5) if e["actor"] == "vic"]
    assert reasons == ["the account is locked", "wrong password, account locked", "wrong password",
                       "too soon after a failed sign-in", "wrong password"]
    assert accounts.sign_in_state(lake, "vic")["locked"]
    with pytest.raises(PermissionDenied):
        accounts.unlock(lake, "vic", actor="appr1")  # only an admin
    assert cli(lake, "users", "unlock", "vic")["locked"] is False
    assert audit.entries(lake, action="users", limit=1)[0]["details"]["was_locked"] is True
    assert accounts.authenticate(lake, "vic", PASSWORDS["vic"]).role == "viewer"
    cli(lake, "users", "policy", "--lock-after", "10", "--backoff-seconds", "1")


def test_a_removed_accounts_app_session_ends_at_its_next_interaction(team, monkeypatch):
    lake = team
    accounts.add(lake, "leaver", role="viewer", actor="local", password="leaving soon 1")
    monkeypatch.setenv("ASSAY_LAKE", str(lake.config.folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert at.title[0].value == "Sign in to Assay"
    at.text_input(key="sign_in_name").input("leaver")
    at.text_input(key="sign_in_password").input("leaving soon 1")
    at.button[0].click().run()
    assert not at.exception and at.title[0].value == "Data explorer"
    assert at.session_state["actor"] == "leaver"
    accounts.remove(lake, "leaver", actor="local")
    at.run()  # the next interaction
    assert at.title[0].value == "Sign in to Assay"
    assert "leaver no longer exists" in at.warning[0].value
    assert "actor" not in at.session_state
    at.text_input(key="sign_in_name").input("leaver")
    at.text_input(key="sign_in_password").input("leaving soon 1")
    at.button[0].click().run()
    assert "wrong password" in at.error[0].value and at.title[0].value == "Sign in to Assay"
    denied = last_denial(lake)  # a failed sign-in in the app is audited, with its channel
    assert denied["actor"] == "leaver" and denied["object"] == "sign-in" and denied["details"]["channel"] == "app"


def test_the_app_offers_only_granted_roles_and_an_admin_grants_them_on_the_registry_page(team, monkeypatch):
    lake = team
    monkeypatch.setenv("ASSAY_LAKE", str(lake.config.folder))
    ref = "id_lightgbm@1"
    if "risk_compliance" not in accounts.signoff_roles(lake, "appr2"):  # when this test runs on its own
        accounts.grant_signoff_role(lake, "appr2", "risk_compliance", actor="local")

    def registry_page(who: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["actor"] = who  # signed in
        at.run().switch_page("pages/models.py").run()
        at.selectbox(key="registry_model_pick").select("id_lightgbm").run()
        assert not at.exception
        return at

    at = registry_page("appr2")
    assert at.selectbox(key=f"signoff_role_{ref}").options == accounts.signoff_roles(lake, "appr2") == \
        ["risk_compliance"]
    assert not [b for b in at.button if b.key == "grant_grant"]  # an approver manages no accounts
    at = registry_page("vic")
    assert at.selectbox(key=f"signoff_role_{ref}").options == []
    at = registry_page("boss")
    at.selectbox(key="grant_account").select("appr2")
    at.selectbox(key="grant_role").select("data_science_lead")
    at.button(key="grant_grant").click().run()
    assert not at.exception and not at.error
    assert accounts.signoff_roles(lake, "appr2") == ["data_science_lead", "risk_compliance"]
    entry = audit.entries(lake, action="users", limit=1)[0]
    assert entry["actor"] == "boss" and entry["details"]["channel"] == "app"
    assert registry_page("appr2").selectbox(key=f"signoff_role_{ref}").options == ["data_science_lead",
                                                                                   "risk_compliance"]
    at.selectbox(key="grant_account").select("appr2")
    at.selectbox(key="grant_role").select("data_science_lead")
    at.button(key="grant_revoke").click().run()
    assert accounts.signoff_roles(lake, "appr2") == ["risk_compliance"]
