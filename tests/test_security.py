"""Security: the role matrix over every mutating core function, separation of duties, sign-in and
single-user mode, hostile input, and secrets kept out of messages."""
from __future__ import annotations

import gzip
import io
import json

import pandas as pd
import pytest

from core.governance import accounts, registry
from core.lake import audit, permissions
from core.data import cohorts, datasets, demo, usecases
from core import export, features, review, training
from core.analysis import mitigation
from core.cli import main
from core.config import redact
from core.errors import AssayError, InputError
from core.lake import Lake
from core.lake.permissions import PermissionDenied

from support import ROOT, lake_state

ROLES = ("viewer", "analyst", "approver", "admin")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """A small demo with a trained run and a registered version by the admin, then one account per role."""
    lake = Lake.open(tmp_path_factory.mktemp("secure") / "lake")
    demo.build(lake, rows=2_000, with_transactions=False, actor="local")
    run = training.train(lake, dataset="applications", target="defaulted", actor="local", algorithms=["logistic"],
                         sensitive=["sex"], exclude=["applicant_id", "applied_at"]).runs[0]
    registry.register(lake, run.run_id, name="secured", actor="local")
    for role in ROLES:
        accounts.add(lake, f"{role}_user", role=role, actor="local", password=f"{role} password 123")
    for holder in ("approver_user", "admin_user"):  # sign-off roles belong to accounts, granted by an admin
        accounts.grant_signoff_role(lake, holder, "risk_compliance", actor="local")
    yield lake, run
    lake.close()


def actions(lake: Lake, run: training.Run, who: str, step: int) -> dict:
    """Every mutating core function, as `who` (names made unique per call)."""
    spec = features.spec_from_dict({"name": f"fs_{step}", "base": "applications", "entity": "applicant_id",
                                    "derived": {"dti": "debt / income"}})
    return {
        "ingest": lambda: datasets.ingest_frame(lake, pd.DataFrame({"a": [1, 2]}), name=f"up_{step}", actor=who),
        "add": lambda: usecases.add(lake, f"case_{step}", objective="A test use case", actor=who),
        "save": lambda: cohorts.save(lake, f"c_{step}", dataset="applications", actor=who, usecase="credit_approval",
                                     conditions=[cohorts.Condition("age", "<", 30)]),
        "build": lambda: features.build(lake, spec, actor=who),
        "train": lambda: training.train(lake, dataset="applications", target="defaulted", actor=who,
                                        algorithms=["logistic"], exclude=["applicant_id", "applied_at"]),
        "review": lambda: review.create(lake, run_id=run.run_id, actor=who, components=["overview"]),
        "mitigate": lambda: mitigation.mitigate(lake, run.run_id, sensitive=["sex"], method="threshold",
                                                constraint="demographic_parity", actor=who),
        "register": lambda: registry.register(lake, run.run_id, name=f"m_{step}", actor=who),
        "edit": lambda: registry.update_card(lake, "secured@1", {"limitations": f"step {step}"}, actor=who),
        "promote": lambda: registry.promote(lake, "secured@1", alias=f"a_{step}", actor=who),
        "signoff": lambda: registry.signoff(lake, "secured@1", decision="approve", comment="ok", actor=who,
                                            role="risk_compliance"),
        "users": lambda: accounts.add(lake, f"new_{step}", role="viewer", actor=who, password="long enough pw"),
        "set": lambda: registry.set_required_approvals(lake, {"data_science_lead": 1, "risk_compliance": 1}, actor=who),
        "override": lambda: registry.promote(lake, "secured@1", alias=f"o_{step}", actor=who, override_reason="board"),
    }


EXPECTED = {
    "viewer": set(),
    "analyst": {"ingest", "add", "save", "build", "train", "review", "mitigate", "register", "edit", "promote"},
    "approver": {"signoff"},  # and meetings (findings), tested with them
    "admin": {"ingest", "add", "save", "build", "train", "review", "mitigate", "register", "edit", "promote", "signoff",
              "users", "set", "override"},
}


@pytest.mark.parametrize("role", ROLES)
def test_the_role_matrix_over_every_mutating_core_function(secured, role):
    lake, run = secured
    who = f"{role}_user"
    for step, (action, call) in enumerate(actions(lake, run, who, ROLES.index(role) * 100).items()):
        if action in EXPECTED[role]:
            call()  # allowed: it runs (and is audited under the account's name)
            assert any(e["actor"] == who for e in audit.entries(lake, limit=20))
        else:
            before = lake_state(lake)
            with pytest.raises(PermissionDenied):
                call()
            denied = audit.entries(lake, action="denied", limit=1)[0]
            assert denied["actor"] == who
            after = lake_state(lake)
            assert before["tables"] == after["tables"] and before["versions"] == after["versions"]
    assert audit.verify(lake)["ok"]


def test_unknown_actors_the_local_administrator_and_the_cli_as_a_user(secured, monkeypatch):
    lake, run = secured
    with pytest.raises(PermissionDenied, match="not an account"):
        datasets.ingest_frame(lake, pd.DataFrame({"a": [1]}), name="stranger", actor="stranger")
    assert permissions.role_of(lake, "local:anyone") == "admin"
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "--as", "ghost", "datasets"], out=out) == 2
    assert "No account 'ghost'" in json.loads(out.getvalue())["error"]
    monkeypatch.setattr("sys.stdin", io.StringIO("viewer password 123\n"))  # --as proves the account
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "--as", "viewer_user", "--password-stdin", "cohort", "add", "x",
                 "--dataset", "applications", "--where", '[{"column": "age", "op": "<", "value": 30}]'], out=out) == 2
    assert "viewer" in json.loads(out.getvalue())["error"]
    denied = audit.entries(lake, action="denied", limit=1)[0]
    assert denied["actor"] == "viewer_user" and denied["details"]["channel"] == "cli"
    with pytest.raises(AssayError, match="cannot be an account name"):
        accounts.add(lake, "local:me", role="admin", actor="local", password="long enough pw")
    accounts.set_sign_in_policy(lake, actor="local", backoff_seconds=0)  # tests/test_identity.py covers the back-off
    with pytest.raises(PermissionDenied, match="wrong password"):
        accounts.authenticate(lake, "admin_user", "not it at all")
    assert accounts.authenticate(lake, "admin_user", "admin password 123").role == "admin"
    stored = lake.query("SELECT password_hash FROM lake.assay.users WHERE name = 'admin_user'")[0][0]
    assert stored.startswith("$2") and "admin password" not in stored  # bcrypt, never the password


def test_separation_of_duties_and_overrides(secured):
    lake, run = secured
    version = registry.register(lake, run.run_id, name="own_work", actor="admin_user")
    with pytest.raises(InputError, match="separation of duties"):
        registry.signoff(lake, version.ref, decision="approve", comment="mine", actor="admin_user",
                         role="data_science_lead")
    with pytest.raises(PermissionDenied, match="needs an admin"):
        registry.promote(lake, version.ref, alias="x", actor="analyst_user", override_reason="trust me")


def test_users_are_managed_from_the_cli_with_the_password_on_standard_input(secured, monkeypatch):
    lake, _ = secured
    monkeypatch.setattr("sys.stdin", io.StringIO("a very long password\n"))
    out = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "users", "add", "carol", "--role", "analyst"], out=out) == 0
    assert accounts.authenticate(lake, "carol", "a very long password").role == "analyst"
    assert main(["--lake", str(lake.config.folder), "users", "set-role", "carol", "approver"], out=io.StringIO()) == 0
    assert accounts.get(lake, "carol").role == "approver"
    assert main(["--lake", str(lake.config.folder), "users", "remove", "carol"], out=io.StringIO()) == 0
    with pytest.raises(AssayError):
        accounts.get(lake, "carol")
    help_text = io.StringIO()
    assert main(["--lake", str(lake.config.folder), "users", "add", "dave", "--role", "admin", "--password", "x"],
                out=help_text) == 2  # there is no --password argument: never on a command line


def test_hostile_input_is_refused_or_defused(lake, tmp_path):
    before = lake_state(lake)
    for name in ("../etc/passwd", "a/b", "x'; DROP TABLE t; --", 'q"uote', "a b"):
        with pytest.raises(InputError):
            datasets.ingest_frame(lake, pd.DataFrame({"a": [1]}), name=name, actor="t")
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as stream:
        stream.write(b"a,b\n")
        for _ in range(3):
            stream.write(b"1,2\n" * 400_000)  # 4.8 MB of text in about 10 KB
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError, match="expands to more than"):
        from core.data.sources import check_file
        check_file(bomb, max_mb=1)
    fake = tmp_path / "photo.csv"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    with pytest.raises(InputError):
        datasets.ingest_path(lake, fake, name="photo", actor="t")
    assert lake_state(lake) == before
    frame = pd.DataFrame({"=cmd": ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "plain", "\tx"],
                          "amount": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    text = export.safe_csv(frame).decode()
    assert "'=HYPERLINK" in text and "'+1+1" in text and "'-2+3" in text and "'@SUM" in text and "'=cmd" in text
    assert ",-5.0\r\n" in text and "\nplain,4.0" in text  # numbers and plain text untouched


def test_html_and_script_are_shown_as_text(lake, tmp_path):
    from core.governance import scorecard

    datasets.ingest_frame(lake, pd.DataFrame({"x": [i % 7 * 1.5 for i in range(200)], "y": [0, 1] * 100}), name="markup", actor="t",
                          description="<script>alert(1)</script><img src=x onerror=alert(2)>")
    run = training.train(lake, dataset="markup", target="y", actor="t", algorithms=["logistic"]).runs[0]
    version = registry.register(lake, run.run_id, name="markup", actor="t",
                                description="<script>alert('card')</script>")
    html_text = scorecard.to_html(scorecard.build(lake, version.ref))
    assert "<script>" not in html_text and "&lt;script&gt;alert(&#x27;card&#x27;)&lt;/script&gt;" in html_text


def test_secrets_never_reach_messages(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG")
    assert redact("s3 failed with key wJalrXUtnFEMI/K7MDENG") == "s3 failed with key ***"
    assert "hunter2" not in redact("dbname=x user=y password=hunter2 host=z")
    assert "hunter2" not in redact("postgresql://user:hunter2@host/db")
    monkeypatch.setenv("ASSAY_CATALOG", "postgres:dbname=nope host=127.0.0.1 port=1 user=x password=hunter2secret")
    out = io.StringIO()
    assert main(["--lake", str(tmp_path / "l"), "datasets"], out=out) != 0
    assert "hunter2secret" not in out.getvalue() and "Could not open the lake's catalog" in out.getvalue()
    assert "hunter2secret" not in (ROOT / "core" / "config.py").read_text()
