"""Roles and what each may change. Enforced in core: every write to the lake passes `check`
(Lake.write), and long operations call `require` before they start.

- viewer: reads reviews and scorecards; changes nothing.
- analyst: ingests, builds features, saves cohorts and use cases, trains, reviews, mitigates,
  registers, edits cards, moves aliases other than through an override, scores, runs meetings.
- approver: what a viewer does, plus sign-off and taking part in review meetings (findings,
  comments, decisions, action items).
- admin: everything, including accounts, settings and gate overrides.

Actors named `local` or `local:NAME` are the local administrator: the CLI without `--as`, and the
app in single-user mode (no accounts). When the lake has no accounts at all, every actor is
allowed (single-user mode); once one exists, an actor who is not an account is refused.
"""
from __future__ import annotations

from typing import Optional

from core.errors import AssayError

ROLES = ("viewer", "analyst", "approver", "admin")
ANALYST_ACTIONS = frozenset({"ingest", "add", "save", "delete", "build", "train", "review", "mitigate", "register",
                             "edit", "promote", "score", "retrain", "demo", "serve", "monitor", "meet"})
PERMISSIONS: dict[str, frozenset] = {
    "viewer": frozenset(),
    "analyst": ANALYST_ACTIONS,
    "approver": frozenset({"signoff", "meet"}),
    "admin": frozenset({"*"}),
}


class PermissionDenied(AssayError):
    """The acting user's role does not allow this."""


def is_local_admin(actor: str) -> bool:
    return actor == "local" or actor.startswith("local:")


def allowed(role: Optional[str], action: str) -> bool:
    granted = PERMISSIONS.get(role or "", frozenset())
    return "*" in granted or action in granted


def role_of(lake, actor: str) -> Optional[str]:
    """The actor's role; 'admin' for the local administrator and for everyone in single-user mode;
    None for an unknown actor once accounts exist."""
    if is_local_admin(actor):
        return "admin"
    rows = lake.query("SELECT role FROM lake.assay.users WHERE name = ?", [actor])
    if rows:
        return rows[0][0]
    if not lake.query("SELECT count(*) FROM lake.assay.users")[0][0]:
        return "admin"  # single-user mode: no accounts configured
    return None


def accounts_exist(lake) -> bool:
    """False in single-user mode (no accounts at all)."""
    return bool(lake.query("SELECT count(*) FROM lake.assay.users")[0][0])


def signoff_roles(lake, name: str) -> list[str]:
    """The sign-off roles an admin granted to this account (core.accounts grants and revokes them)."""
    return [r[0] for r in lake.query("SELECT role FROM lake.assay.signoff_grants WHERE name = ? ORDER BY role", [name])]


def require(lake, actor: str, action: str, *, cur=None) -> str:
    """Refuse (PermissionDenied) unless the actor's role allows the action; returns the role."""
    role = role_of_in(cur, actor) if cur is not None else role_of(lake, actor)
    problem = None
    if role is None:
        problem = (f"{actor!r} is not an account of this lake; sign in as one, or ask an admin to add it "
                   "(`python -m core users add NAME --role ROLE`).")
    elif not allowed(role, action):
        can = "everything" if role == "admin" else (", ".join(sorted(PERMISSIONS[role])) or "only read")
        article = "an" if role[0] in "aeiou" else "a"
        problem = (f"{actor} is {article} {role} and may not {action} ({article} {role} may: {can}). "
                   "Ask an admin for another role.")
    if problem is None:
        return role
    if cur is None:  # inside a transaction, Lake.write records the refusal after rolling back
        record_denial(lake, actor, action, problem)
    raise PermissionDenied(problem)


def record_denial(lake, actor: str, action: str, reason: str, *, details: Optional[dict] = None, also=None) -> None:
    """A refused attempt is itself an audit entry (written outside the refused change), with the channel
    and OS user it came from; `also(cur)` runs in the same transaction (a failed sign-in's counter)."""
    from core.lake import audit, identity

    def work(cur) -> None:
        if also is not None:
            also(cur)
        audit.append(cur, actor=actor, action="denied", obj=action,
                     details={"reason": reason, **(details or {}), **identity.context()})

    lake._write_with(lake.cursor, work, actor=actor, message=f"denied {action}", tag=None)


def refuse(lake, actor: str, action: str, reason: str, error: type = PermissionDenied) -> None:
    """Record the refusal in the audit trail, then raise it (`error`: the exception class callers expect)."""
    record_denial(lake, actor, action, reason)
    raise error(reason)


def role_of_in(cur, actor: str) -> Optional[str]:
    """role_of inside an open transaction."""
    if is_local_admin(actor):
        return "admin"
    rows = cur.execute("SELECT role FROM lake.assay.users WHERE name = ?", [actor]).fetchall()
    if rows:
        return rows[0][0]
    if not cur.execute("SELECT count(*) FROM lake.assay.users").fetchall()[0][0]:
        return "admin"
    return None


def loopback(client_ip: Optional[str]) -> bool:
    """Whether a browser client is on this machine (Streamlit reports loopback clients as None)."""
    return client_ip is None or client_ip in ("127.0.0.1", "::1") or client_ip.startswith("127.")
