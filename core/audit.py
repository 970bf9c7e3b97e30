"""The audit trail: an append-only table of every change to the lake (ingest, feature builds,
training, reviews, registration, gate, promotion, sign-off, scoring, settings), each entry
chained to the one before by a SHA-256 hash, so an edited, inserted or deleted row shows.

Entries are written by `Lake.write` inside the same transaction as the change they record.
Every append also moves the single-row `audit_head`; two writers that append at once both
update that row, so the lake's conflict check makes one of them retry after the other, and
the chain never forks.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Optional

from core.lake import Lake


def entry_hash(seq: int, at: datetime, actor: str, action: str, obj: str, details: str, prev_hash: str) -> str:
    text = "\x1f".join([str(seq), at.isoformat(timespec="microseconds"), actor, action, obj, details, prev_hash])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(cur, *, actor: str, action: str, obj: str, details: Optional[dict] = None) -> int:
    """Add one entry inside the caller's transaction; returns its sequence number."""
    seq, prev = cur.execute("SELECT seq, hash FROM lake.assay.audit_head").fetchall()[0]
    seq += 1
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    text = json.dumps(details or {}, sort_keys=True, default=str)
    digest = entry_hash(seq, at, actor, action, obj or "", text, prev)
    cur.execute("INSERT INTO lake.assay.audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, at, actor, action, obj or "", text, prev, digest])
    cur.execute("UPDATE lake.assay.audit_head SET seq = ?, hash = ?", [seq, digest])
    return seq


def head(lake: Lake) -> dict:
    """The chain's newest entry: its sequence number and hash (printed on every scorecard and report, so a
    copy kept elsewhere shows any later rewrite)."""
    with lake.reading() as cur:
        seq, digest = cur.execute("SELECT seq, hash FROM lake.assay.audit_head").fetchall()[0]
    return {"seq": int(seq), "hash": digest}


def verify(lake: Lake) -> dict:
    """Recompute every entry's hash and its link to the one before; name the first that does not hold."""
    with lake.reading() as cur:
        rows = cur.execute("SELECT seq, logged_at, actor, action, object, details, prev_hash, hash FROM "
                           "lake.assay.audit ORDER BY seq, logged_at").fetchall()
        head = cur.execute("SELECT seq, hash FROM lake.assay.audit_head").fetchall()[0]
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
    if rows and (head[0] != rows[-1][0] or head[1] != prev):
        return {"ok": False, "entries": len(rows), "first_bad": rows[-1][0] if head[0] < rows[-1][0] else head[0],
                "problem": "the newest entries do not match the chain's head (entries were removed or added at the end)"}
    return {"ok": True, "entries": len(rows), "first_bad": None}


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
