"""The audit chain held against DuckLake's snapshot history: a rewound tail, a recomputed chain or a
sign-off written straight into the lake shows in `audit verify`, an unaudited sign-off does not
count towards approval, and an anchor kept outside the lake catches a rewrite of the history itself."""
from __future__ import annotations

import io
import json
import os

import numpy as np
import pandas as pd
import pytest

from core.lake import audit
from core.data import datasets
from core.governance import registry
from core import review, training
from core.cli import main
from core.errors import InputError

from support import lake_state, write_csv


def cli(lake, *args) -> tuple[int, dict]:
    out = io.StringIO()
    code = main(["--lake", str(lake.config.folder), *args], out=out)
    return code, json.loads(out.getvalue())


@pytest.fixture
def written(lake, tmp_path):
    """A lake with five ingests: five audit entries, each carried by its own snapshot."""
    csv = write_csv(tmp_path / "rows.csv", "a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(50)))
    for i in range(5):
        datasets.ingest_path(lake, csv, name=f"d{i % 2}", actor="ana")
    assert audit.verify(lake)["ok"]
    return lake


def raw(lake, *statements) -> None:
    """A write straight into the lake with DuckDB, around Lake.write (no audit entry, no stamp)."""
    cur = lake.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        for sql, params in statements:
            cur.execute(sql, params)
        cur.execute("COMMIT")
    finally:
        cur.close()


def chain(lake) -> list[tuple]:
    return lake.query("SELECT seq, logged_at, actor, action, object, details, prev_hash, hash FROM lake.assay.audit "
                      "ORDER BY seq")


def snapshot_of(lake, seq: int, digest: str = "") -> int:
    digest = digest or lake.query("SELECT hash FROM lake.assay.audit WHERE seq = ?", [seq])[0][0]
    return lake.query("SELECT snapshot_id FROM lake.snapshots() WHERE commit_message LIKE ?", [f"%{digest}%"])[0][0]


def test_deleting_the_last_entry_and_rewinding_the_head_is_found(written):
    lake = written
    rows = chain(lake)
    last, before = rows[-1], rows[-2]
    raw(lake, ("DELETE FROM lake.assay.audit WHERE seq = ?", [last[0]]),
        ("UPDATE lake.assay.audit_head SET seq = ?, hash = ?", [before[0], before[7]]))
    checked = audit.verify(lake)
    assert not checked["ok"] and checked["first_bad"] == last[0]
    assert checked["snapshot"] == snapshot_of(lake, last[0], last[7])
    assert "no longer in the chain" in checked["problem"] and "rewound" in checked["problem"]
    code, printed = cli(lake, "audit", "verify")
    assert code == 1 and printed["first_bad"] == last[0] and printed["problem"] == checked["problem"]


def test_editing_an_entry_and_recomputing_every_later_hash_is_found(written):
    lake = written
    rows = chain(lake)
    edited = rows[1][0]
    statements, prev = [], rows[0][7]
    for seq, at, actor, action, obj, details, _, _ in rows[1:]:
        actor = "mallory" if seq == edited else actor
        digest = audit.entry_hash(seq, at, actor, action, obj, details, prev)
        statements.append(("UPDATE lake.assay.audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           [actor, prev, digest, seq]))
        prev = digest
    statements.append(("UPDATE lake.assay.audit_head SET hash = ?", [prev]))
    raw(lake, *statements)
    assert [r[2] for r in chain(lake)][1] == "mallory"
    checked = audit.verify(lake)  # every link and hash holds again; only the snapshots remember
    assert not checked["ok"] and checked["first_bad"] == edited and checked["snapshot"] == snapshot_of(lake, 1) + 1
    assert "differs from the one stamped" in checked["problem"] and "recomputed" in checked["problem"]


def test_a_write_around_assay_dressed_as_a_migration_is_found(written):
    lake = written
    disguise = ("CALL lake.set_commit_message('assay', ?)", ["migration 3: training runs and their curves"])
    raw(lake, ("INSERT INTO lake.assay.migrations VALUES (3, 'again', now())", []),
        ("INSERT INTO lake.assay.settings VALUES ('required_approvals', '{}', now())", []), disguise)
    checked = audit.verify(lake)
    assert not checked["ok"] and checked["snapshot"] == lake.current_snapshot()
    assert "claims migration 3, which an earlier snapshot applied" in checked["problem"]


def test_an_anchor_kept_elsewhere_catches_a_rewrite_of_the_history_too(written, tmp_path):
    lake = written
    mark = tmp_path / "anchor.json"
    code, anchored = cli(lake, "audit", "anchor", "--out", str(mark))
    head = audit.head(lake)
    assert code == 0 and anchored["seq"] == head["seq"] == 5 and anchored["hash"] == head["hash"]
    assert anchored["snapshot"] == snapshot_of(lake, 5) and anchored["at"] and anchored["out"] == str(mark)
    assert json.loads(mark.read_text())["hash"] == head["hash"]
    code, printed = cli(lake, "audit", "anchor")  # to stdout, the same head
    assert code == 0 and (printed["seq"], printed["hash"]) == (5, head["hash"]) and "out" not in printed

    datasets.ingest_path(lake, write_csv(tmp_path / "more.csv", "a\n1\n2\n"), name="more", actor="ana")
    code, checked = cli(lake, "audit", "verify", "--anchor", str(mark))  # normal writes after the anchor
    assert code == 0 and checked["ok"] and checked["anchor"] == {"seq": 5, "hash": head["hash"], "holds": True}

    # Someone with the lake's files replaces the tail from the anchored entry on with a forged entry
    # (appended the proper way, so it is stamped) and expires the snapshots that carried the originals.
    carriers = [snapshot_of(lake, 5), snapshot_of(lake, 6)]
    fourth = chain(lake)[3]

    def forge(cur) -> None:
        cur.execute("DELETE FROM lake.assay.audit WHERE seq >= 5")
        cur.execute("UPDATE lake.assay.audit_head SET seq = ?, hash = ?", [fourth[0], fourth[7]])
        audit.append(cur, actor="ana", action="ingest", obj="dataset:d0@3", details={"message": "ingest d0"})

    lake._write_with(lake.cursor, forge, actor="ana", message="ingest d0", tag=None)
    lake.query("CALL ducklake_expire_snapshots('lake', versions => ?)", [carriers])
    code, checked = cli(lake, "audit", "verify", "--anchor", str(mark))
    assert code == 1 and not checked["ok"] and checked["first_bad"] == 5
    assert checked["anchor"]["holds"] is False and "anchored hash" in checked["problem"]


def test_anchor_files_are_never_overwritten_nor_followed_nor_put_in_the_lake(written, tmp_path):
    lake = written
    before = lake_state(lake)
    taken = tmp_path / "taken.json"
    taken.write_text("keep")
    link = tmp_path / "link.json"
    os.symlink(lake.config.folder / "catalog.sqlite", link)
    catalog = (lake.config.folder / "catalog.sqlite").read_bytes()
    for target, message in ((taken, "already exists"), (link, "symbolic link"),
                            (lake.config.folder / "anchor.json", "inside the lake")):
        code, printed = cli(lake, "audit", "anchor", "--out", str(target))
        assert code == 2 and message in printed["error"], printed
    assert taken.read_text() == "keep" and (lake.config.folder / "catalog.sqlite").read_bytes()[:16] == catalog[:16]
    assert not (lake.config.folder / "anchor.json").exists()
    for text in ("not json", json.dumps({"seq": "5"}), json.dumps([1, 2])):
        taken.write_text(text)
        code, printed = cli(lake, "audit", "verify", "--anchor", str(taken))
        assert code == 2 and "anchor" in printed["error"], printed
    code, printed = cli(lake, "audit", "verify", "--anchor", str(tmp_path / "missing.json"))
    assert code == 2 and "Could not read the anchor" in printed["error"]
    code, printed = cli(lake, "audit", "list", "--out", str(tmp_path / "new.json"))
    assert code == 2 and "--out goes with `audit anchor`" in printed["error"] and not (tmp_path / "new.json").exists()
    assert lake_state(lake) == before


def test_a_lake_written_before_the_stamping_still_verifies_and_says_from_where(lake, tmp_path, monkeypatch):
    csv = write_csv(tmp_path / "rows.csv", "a\n1\n2\n")

    def legacy_append(cur, *, actor, action, obj, details=None):  # the append of lakes made before the stamping
        seq, prev = cur.execute("SELECT seq, hash FROM lake.assay.audit_head").fetchall()[0]
        seq += 1
        at = pd.Timestamp.now("UTC").tz_localize(None).to_pydatetime()
        text = json.dumps(details or {}, sort_keys=True, default=str)
        digest = audit.entry_hash(seq, at, actor, action, obj or "", text, prev)
        cur.execute("INSERT INTO lake.assay.audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [seq, at, actor, action, obj or "", text, prev, digest])
        cur.execute("UPDATE lake.assay.audit_head SET seq = ?, hash = ?", [seq, digest])
        return seq

    monkeypatch.setattr(audit, "append", legacy_append)
    monkeypatch.setattr(audit, "commit_message", lambda message, appended: message)
    for _ in range(2):
        datasets.ingest_path(lake, csv, name="old", actor="ana")
    monkeypatch.undo()
    for _ in range(2):
        datasets.ingest_path(lake, csv, name="new", actor="ana")
    checked = audit.verify(lake)
    assert checked["ok"] and checked["entries"] == 4 and checked["unstamped_before"] == 3, checked
    raw(lake, ("INSERT INTO lake.assay.settings VALUES ('k', 'v', now())", []))  # after the stamping: found
    checked = audit.verify(lake)
    assert not checked["ok"] and "assay.settings without an audit entry" in checked["problem"]


@pytest.fixture(scope="module")
def governed(tmp_path_factory):
    """Ingest, train, review, register and sign off: the writes of a model's way to approval."""
    from core.lake import Lake

    folder = tmp_path_factory.mktemp("chain")
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame({"income": rng.normal(50, 10, n).round(1), "debt": rng.normal(20, 5, n).round(1),
                          "sex": rng.choice(["f", "m"], n)})
    frame["defaulted"] = (frame["debt"] - frame["income"] / 3 + rng.normal(0, 3, n) > 3).astype(int)
    frame.to_csv(folder / "loans.csv", index=False)
    lake = Lake.open(folder / "lake")
    datasets.ingest_path(lake, folder / "loans.csv", name="loans", actor="alice")
    run = training.train(lake, dataset="loans", target="defaulted", actor="alice", algorithms=["logistic"],
                         sensitive=["sex"]).runs[0]
    made = review.create(lake, run_id=run.run_id, actor="alice", components=["overview"])
    version = registry.register(lake, run.run_id, name="loans", actor="alice", review_id=made.review_id)
    registry.signoff(lake, version.ref, decision="approve", comment="Read the scorecard", actor="dana",
                     role="data_science_lead")
    yield lake, version
    lake.close()


def test_a_lake_with_many_kinds_of_writes_verifies(governed):
    lake, version = governed
    registry.signoff(lake, version.ref, decision="reject", comment="Too few rows", actor="rick", role="risk_compliance")
    registry.signoff(lake, version.ref, decision="approve", comment="Checked again", actor="rick", role="risk_compliance")
    assert registry.approval_status(lake, version.ref)["approved"]
    registry.promote(lake, version.ref, actor="alice")
    code, checked = cli(lake, "audit", "verify")
    assert code == 0 and checked["ok"] and checked["unstamped_before"] is None, checked
    actions = {e["action"] for e in audit.entries(lake, limit=1000)}
    assert {"ingest", "train", "review", "register", "signoff", "promote"} <= actions
    stamped = [m for (m,) in lake.query("SELECT commit_message FROM lake.snapshots() WHERE commit_message LIKE '%[audit]%'")]
    assert len(stamped) == checked["entries"]  # one snapshot per entry, each named by its stamp
    migrations = lake.query("SELECT count(*) FROM lake.snapshots() WHERE author = 'assay'")[0][0]
    assert checked["snapshots"] == checked["entries"] + migrations


def test_a_sign_off_written_straight_into_the_lake_does_not_count(governed):
    lake, version = governed
    other = registry.register(lake, version.run_id, name="loans_copy", actor="alice")
    registry.signoff(lake, other.ref, decision="approve", comment="Fine", actor="dana", role="data_science_lead")
    assert registry.approval_status(lake, other.ref)["roles"]["data_science_lead"]["approved_by"] == ["dana"]
    raw(lake, ("INSERT INTO lake.assay.signoffs VALUES (?, ?, 'rick', 'risk_compliance', 'approve', 'ok', ?, now())",
               [other.name, other.version, other.artifact_sha256]))
    rows = registry.signoffs(lake, other.ref)  # the row is there, but no audit entry vouches for it
    assert [(r["reviewer"], r["audited"], r["valid"]) for r in rows] == [("dana", True, True), ("rick", False, False)]
    status = registry.approval_status(lake, other.ref)
    assert status["roles"]["risk_compliance"]["approved_by"] == [] and not status["approved"]
    assert status["roles"]["data_science_lead"]["approved_by"] == ["dana"]
    with pytest.raises(InputError, match="lacks the required sign-offs"):
        registry.promote(lake, other.ref, actor="alice")
    checked = audit.verify(lake)
    assert not checked["ok"] and checked["first_bad"] is None
    assert "assay.signoffs without an audit entry" in checked["problem"]
    assert checked["snapshot"] == lake.current_snapshot()
