"""Small key/value settings kept in the lake (demo truths, later configuration)."""
from __future__ import annotations

from typing import Optional

from core.lake import Lake


def get(lake: Lake, key: str) -> Optional[str]:
    rows = lake.query("SELECT value FROM lake.assay.settings WHERE key = ?", [key])
    return rows[0][0] if rows else None


def put(lake: Lake, key: str, value: str, *, actor: str, action: str = "set") -> None:
    """Store a setting. Settings are configuration (admin only), except what names its own action
    (the demo's truths, written by whoever builds the demo)."""
    def work(cur) -> None:
        cur.execute("DELETE FROM lake.assay.settings WHERE key = ?", [key])
        cur.execute("INSERT INTO lake.assay.settings VALUES (?, ?, now())", [key, value])

    lake.write(work, actor=actor, action=action, message=f"{action} {key}", tag=f"setting:{key}")
