"""The audit trail: an append-only table of every change to the lake (ingest, feature builds,
training, reviews, registration, gate, promotion, sign-off, scoring, settings), each entry
chained to the one before by a SHA-256 hash, so an edited, inserted or deleted row shows.

Entries are written by `Lake.write` inside the same transaction as the change they record.
Every append also moves the single-row `audit_head`; two writers that append at once both
update that row, so the lake's conflict check makes one of them retry after the other, and
the chain never forks.

A chain alone can be rewritten whole (drop the tail and rewind the head, or edit an entry and
recompute every later hash), so each entry is also stamped on the DuckLake snapshot that carries
it: the snapshot's commit message ends with the entry's seq and hash, and the entry records the
snapshot its change was made on (`base_snapshot`). DuckLake's snapshot history is append-only
through SQL, so `verify` compares the two: a stamp whose entry is gone or has another hash, or a
snapshot that changed the lake without any entry, shows. `anchor` exports the head so that a copy
kept elsewhere also catches a rewrite of the snapshot history itself.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

import duckdb

from core.errors import InputError
from core.lake import Lake

_STAMP = "\n[audit] "  # what follows in a snapshot's commit message: {"seq": ..., "hash": ...}
_recording: dict[int, list] = {}  # id(cursor) -> [(seq, hash)] appended in that cursor's open transaction
_checked: dict = {}  # catalog -> (snapshot, what _inspect found then), for verified_signoffs
_MIGRATION = re.compile(r"migration (\d+): ", re.S)
# Changes that rewrite files without changing what the lake holds (DuckLake maintenance).
_MAINTENANCE = ("compact", "flush", "merge")


def entry_hash(seq: int, at: datetime, actor: str, action: str, obj: str, details: str, prev_hash: str) -> str:
    text = "\x1f".join([str(seq), at.isoformat(timespec="microseconds"), actor, action, obj, details, prev_hash])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(cur, *, actor: str, action: str, obj: str, details: Optional[dict] = None) -> int:
    """Add one entry inside the caller's transaction; returns its sequence number."""
    seq, prev = cur.execute("SELECT seq, hash FROM lake.assay.audit_head").fetchall()[0]
    seq += 1
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    base = cur.execute("SELECT id FROM lake.current_snapshot()").fetchall()[0][0]
    text = json.dumps({**(details or {}), "base_snapshot": base}, sort_keys=True, default=str)
    digest = entry_hash(seq, at, actor, action, obj or "", text, prev)
    cur.execute("INSERT INTO lake.assay.audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, at, actor, action, obj or "", text, prev, digest])
    cur.execute("UPDATE lake.assay.audit_head SET seq = ?, hash = ?", [seq, digest])
    if id(cur) in _recording:
        _recording[id(cur)].append((seq, digest))
    return seq


@contextmanager
def recording(cur) -> Iterator[list]:
    """Collect the entries appended through `cur` while the block runs (Lake's write path stamps them on
    the snapshot it commits)."""
    appended: list = []
    _recording[id(cur)] = appended
    try:
        yield appended
    finally:
        _recording.pop(id(cur), None)


def commit_message(message: str, appended: list) -> str:
    """The snapshot's commit message: the write's message, then the entries it carries (seq and hash)."""
    if not appended:
        return message
    stamp = {"seq": appended[-1][0], "hash": appended[-1][1]}
    if len(appended) > 1:
        stamp["from"] = appended[0][0]
    return message + _STAMP + json.dumps(stamp, sort_keys=True)


def _stamp(message: Optional[str]) -> Optional[dict]:
    _, sep, tail = (message or "").rpartition(_STAMP)
    if not sep:
        return None
    try:
        stamp = json.loads(tail)
        return stamp if isinstance(stamp.get("seq"), int) and isinstance(stamp.get("hash"), str) else {}
    except (ValueError, AttributeError):
        return {}


def head(lake: Lake) -> dict:
    """The chain's newest entry: its sequence number and hash (printed on every scorecard and report, so a
    copy kept elsewhere shows any later rewrite)."""
    with lake.reading() as cur:
        seq, digest = cur.execute("SELECT seq, hash FROM lake.assay.audit_head").fetchall()[0]
    return {"seq": int(seq), "hash": digest}


def anchor(lake: Lake) -> dict:
    """The head with the snapshot that carries it and when it was written: keep a copy outside the lake,
    and `verify(anchor=...)` shows whether the chain still holds that entry unchanged."""
    with lake.reading() as cur:
        seq, digest = cur.execute("SELECT seq, hash FROM lake.assay.audit_head").fetchall()[0]
        at = cur.execute("SELECT logged_at FROM lake.assay.audit WHERE seq = ? AND hash = ?", [seq, digest]).fetchall()
        stamped = [sid for sid, message in cur.execute(
            "SELECT snapshot_id, commit_message FROM lake.snapshots() WHERE commit_message LIKE ? ORDER BY 1",
            ["%" + digest + "%"]).fetchall() if (_stamp(message) or {}).get("hash") == digest] if seq else []
    return {"seq": int(seq), "hash": digest, "snapshot": stamped[-1] if stamped else None,
            "at": at[0][0].isoformat() if at else None,
            "anchored_at": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")}


def read_anchor(path: str | Path) -> dict:
    """An anchor file written by `audit anchor --out`, checked to hold a seq and a hash."""
    try:
        mark = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"Could not read the anchor {path}: {exc}. Give the file `audit anchor --out FILE` wrote.") from None
    if not (isinstance(mark, dict) and isinstance(mark.get("seq"), int) and not isinstance(mark["seq"], bool)
            and mark["seq"] >= 0 and isinstance(mark.get("hash"), str)):
        raise InputError(f"{path} is not an audit anchor: it needs the seq and hash that `audit anchor` writes.")
    return mark


def verify(lake: Lake, *, anchor: Optional[dict] = None) -> dict:
    """Recompute every entry's hash and its link to the one before, then hold the chain against the lake's
    snapshot history (and against `anchor`, a head exported earlier); name the first thing that does not hold."""
    result, _ = _inspect(lake)
    if anchor is not None:
        seq, digest = int(anchor["seq"]), str(anchor["hash"])
        holds = seq == 0 or result["_hashes"].get(seq) == digest
        result["anchor"] = {"seq": seq, "hash": digest, "holds": holds}
        if not holds and result["ok"]:
            now = result["_hashes"].get(seq)
            result.update(ok=False, first_bad=seq, problem=(
                f"entry {seq} of the anchor is no longer in the chain" if now is None else
                f"entry {seq} no longer has the anchored hash ({digest[:12]}…; now {now[:12]}…)")
                + (f", anchored {anchor['anchored_at']}" if anchor.get("anchored_at") else "")
                + ": the chain was rewritten after the anchor was taken")
    result.pop("_hashes")
    return result


def verified_signoffs(lake: Lake, ref: str) -> Counter:
    """Sign-offs of model version `ref` that the audit trail vouches for: entries that verify (before the
    first bad one), counted by (reviewer, role, decision, artifact_sha256). A sign-off row with no such
    entry was written around Assay and does not count. The check is kept per snapshot of the lake (a page
    asks for every version at once), so it reruns only after a write."""
    snapshot = lake.query("SELECT id FROM lake.current_snapshot()")[0][0]  # not snapshots(): that reads them all
    cached = _checked.get(lake.config.catalog)
    if cached and cached[0] == snapshot:
        result, rows = cached[1]
    else:
        result, rows = _inspect(lake)
        _checked[lake.config.catalog] = (snapshot, (result, rows))
    last_good = (result["first_bad"] - 1) if result["first_bad"] is not None else None
    counted: Counter = Counter()
    for seq, _, actor, action, obj, details, _, _ in rows:
        if action != "signoff" or obj != f"model:{ref}" or (last_good is not None and seq > last_good):
            continue
        fields = _fields(details)
        counted[(actor, fields.get("role"), fields.get("decision"), fields.get("artifact_sha256"))] += 1
    return counted


def _inspect(lake: Lake) -> tuple[dict, list]:
    with lake.reading() as cur:
        rows = cur.execute("SELECT seq, logged_at, actor, action, object, details, prev_hash, hash FROM "
                           "lake.assay.audit ORDER BY seq, logged_at").fetchall()
        head_row = cur.execute("SELECT seq, hash FROM lake.assay.audit_head").fetchall()[0]
        snapshots = cur.execute("SELECT snapshot_id, changes, author, commit_message FROM lake.snapshots() "
                                "ORDER BY snapshot_id").fetchall()
        migrated = dict(cur.execute("SELECT version, count(*) FROM lake.assay.migrations GROUP BY 1").fetchall())
        names = _table_names(cur)
    result = {**_check_chain(rows, head_row), "snapshots": 0, "unstamped_before": None, "snapshots_expired": 0,
              "_hashes": {r[0]: r[7] for r in rows}}
    if result["ok"]:
        result.update(_check_snapshots(rows, snapshots, migrated, names))
    return result, rows


def _check_chain(rows: list, head_row: tuple) -> dict:
    prev, expected_seq = "", 1
    for seq, at, actor, action, obj, details, prev_hash, digest in rows:
        problem = None
        if seq != expected_seq:
            problem = f"entry {expected_seq} is missing (found {seq} next)" if seq > expected_seq else f"entry {seq} appears twice"
        elif prev_hash != prev:
            problem = "its link to the previous entry does not match"
        elif entry_hash(seq, at, actor, action, obj, details, prev_hash) != digest:
            problem = "its content does not match its hash (the row was edited)"
        if problem:
            return {"ok": False, "entries": len(rows), "first_bad": seq, "problem": problem}
        prev, expected_seq = digest, seq + 1
    if rows and (head_row[0] != rows[-1][0] or head_row[1] != prev):
        return {"ok": False, "entries": len(rows),
                "first_bad": rows[-1][0] if head_row[0] < rows[-1][0] else head_row[0],
                "problem": "the newest entries do not match the chain's head (entries were removed or added at the end)"}
    return {"ok": True, "entries": len(rows), "first_bad": None}


def _check_snapshots(rows: list, snapshots: list, migrated: dict, names: dict) -> dict:
    """Every snapshot that changed the lake carries its audit entry (or is a migration), and every stamp
    matches the entry it names. Entries older than the stamping (lakes made before it) are reported, not failed."""
    hashes = {r[0]: r[7] for r in rows}
    bases = {r[0]: _fields(r[5]).get("base_snapshot") for r in rows}
    first_stamped = next((seq for seq, base in bases.items() if base is not None), None)
    unstamped_before = first_stamped if first_stamped is not None else (rows[-1][0] + 1 if rows else None)
    legacy = bool(unstamped_before and unstamped_before > 1)
    claims: dict[int, int] = {}
    seen_migrations: set = set()
    stamping_started, checked = False, 0

    def bad(problem: str, snapshot: Optional[int] = None, seq: Optional[int] = None) -> dict:
        return {"ok": False, "first_bad": seq, "problem": problem, "snapshot": snapshot, "snapshots": checked,
                "unstamped_before": unstamped_before if legacy else None}

    for sid, changes, author, message in snapshots:
        stamp = _stamp(message)
        what = f"snapshot {sid} ({(message or '').partition(chr(10))[0][:80]!r} by {author})"
        if stamp is not None:
            checked += 1
            if not stamp:
                return bad(f"{what} carries an audit stamp that cannot be read", sid)
            seq, digest = stamp["seq"], stamp["hash"]
            for covered in range(int(stamp.get("from", seq)), seq + 1):
                if covered in claims:
                    return bad(f"{what} claims audit entry {covered}, already carried by snapshot {claims[covered]}",
                               sid, covered)
                claims[covered] = sid
            if seq not in hashes:
                return bad(f"{what} carries audit entry {seq}, which is no longer in the chain "
                           "(entries were removed and the head rewound)", sid, seq)
            if hashes[seq] != digest:
                return bad(f"entry {seq}'s hash differs from the one stamped on {what} when it was written "
                           "(the entry was rewritten and the later hashes recomputed)", sid, seq)
            if bases[seq] is None or bases[seq] >= sid:
                return bad(f"{what} carries audit entry {seq}, which was not written in it", sid, seq)
            stamping_started = True
            continue
        content = {key: value for key, value in (changes or {}).items()
                   if value and not any(word in key for word in _MAINTENANCE)}
        if sid == 0 or not content:
            continue  # DuckLake's own first snapshot; maintenance that leaves the contents as they were
        checked += 1
        migration = _migration_problem(author, message, content, migrated, names, seen_migrations)
        if migration == "":
            continue
        if migration:
            return bad(f"{what}: {migration}", sid)
        if legacy and not stamping_started:
            continue  # written before this lake's entries were stamped on their snapshots
        changed = sorted({names.get(str(t), f"table {t}") if key.startswith("tables_") and str(t).isdigit() else str(t)
                          for key, values in content.items() for t in values})
        return bad(f"{what} changed {', '.join(changed)} without an audit entry (a write around Assay, "
                   "straight into the lake)", sid)
    present = [s[0] for s in snapshots]
    for seq in sorted(hashes):
        if first_stamped is None or seq < first_stamped or seq in claims:
            continue
        if bases[seq] is None:
            return bad(f"entry {seq} has no link to a snapshot (it was not written by Assay)", None, seq)
        if not _expired_between(present, claims, seq):
            return bad(f"no snapshot carries audit entry {seq} (it was added around Assay)", None, seq)
    expired = (present[-1] + 1 - len(present)) if present else 0  # ids DuckLake's maintenance removed
    return {"ok": True, "snapshots": checked, "unstamped_before": unstamped_before if legacy else None,
            "snapshots_expired": expired}


def _expired_between(present: list, claims: dict, seq: int) -> bool:
    """Whether snapshots were expired where entry `seq`'s own snapshot would be (DuckLake maintenance)."""
    before = max((claims[s] for s in claims if s < seq), default=-1)
    after = min((claims[s] for s in claims if s > seq), default=(present[-1] + 1) if present else 0)
    kept = bisect.bisect_left(present, after) - bisect.bisect_right(present, before)
    return kept < after - before - 1


def _migration_problem(author, message, content: dict, migrated: dict, names: dict, seen: set) -> Optional[str]:
    """None: not a migration; "": a migration that holds; otherwise what is wrong with one."""
    from core.lake.migrations import STEPS

    if author != "assay" or not message:
        return None
    if message == "create migrations table":
        if set(content) <= {"schemas_created", "tables_created"} and "bootstrap" not in seen:
            seen.add("bootstrap")
            return ""
        return "it claims to create the migrations table, but changed more or came twice"
    match = _MIGRATION.match(message)
    if not match:
        return None
    version = int(match.group(1))
    if version not in {step[0] for step in STEPS}:
        return f"it claims migration {version}, which is not a step of this version of Assay"
    if version in seen:
        return f"it claims migration {version}, which an earlier snapshot applied"
    if not migrated.get(version):
        return f"it claims migration {version}, which lake.assay.migrations does not record"
    seen.add(version)
    recorded = {t for t, name in names.items() if name == "assay.migrations"}
    if recorded and not recorded & {str(t) for t in content.get("tables_inserted_into", [])}:
        return f"it claims migration {version} but did not record it in lake.assay.migrations"
    return ""


def _fields(details: str) -> dict:
    """An entry's details; {} when they are not the JSON object Assay writes (the chain check names such a row)."""
    try:
        fields = json.loads(details)
    except (TypeError, ValueError):
        return {}
    return fields if isinstance(fields, dict) else {}


def _table_names(cur) -> dict:
    """DuckLake table id -> schema.table, for naming what an un-audited snapshot changed."""
    try:
        rows = cur.execute("SELECT DISTINCT t.table_id, s.schema_name || '.' || t.table_name "
                           "FROM __ducklake_metadata_lake.ducklake_table t "
                           "JOIN __ducklake_metadata_lake.ducklake_schema s USING (schema_id)").fetchall()
    except duckdb.Error:
        return {}
    return {str(table_id): name for table_id, name in rows}


def entries(lake: Lake, *, limit: int = 200, action: Optional[str] = None, obj: Optional[str] = None) -> list[dict]:
    sql, params = "SELECT seq, logged_at, actor, action, object, details FROM lake.assay.audit WHERE true", []
    if action:
        sql, params = sql + " AND action = ?", params + [action]
    if obj:
        sql, params = sql + " AND object LIKE ?", params + [f"%{obj}%"]
    with lake.reading() as cur:
        rows = cur.execute(sql + " ORDER BY seq DESC LIMIT ?", params + [int(limit)]).fetchall()
    return [{"seq": r[0], "at": r[1], "actor": r[2], "action": r[3], "object": r[4], "details": json.loads(r[5])}
            for r in rows]
