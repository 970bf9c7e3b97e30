"""Sign-off: the required approvals per role, each reviewer's approval or rejection tied to the artifact's hash
(and to the decision threshold in force), separation of duties, and the must-fix items that block approval."""
from __future__ import annotations

import hashlib
import json
from typing import Optional

from core import training
from core.errors import InputError
from core.lake import Lake, permissions, settings
from core.governance.registry._versions import ModelVersion, get


DEFAULT_APPROVALS = {"data_science_lead": 1, "risk_compliance": 1}

DECISIONS = ("approve", "reject")


def required_approvals(lake: Lake) -> dict:
    raw = settings.get(lake, "required_approvals")
    return json.loads(raw) if raw else dict(DEFAULT_APPROVALS)


def set_required_approvals(lake: Lake, approvals: dict, *, actor: str) -> None:
    if not isinstance(approvals, dict) or not all(isinstance(k, str) and isinstance(v, int) and v >= 0
                                                  for k, v in approvals.items()):
        raise InputError('Required approvals are role names with counts, such as {"data_science_lead": 1}.')
    settings.put(lake, "required_approvals", json.dumps(approvals), actor=actor)


def signoff(lake: Lake, ref: str, *, decision: str, comment: str, actor: str, role: str) -> dict:
    """An approval or rejection of one version by one reviewer in one role, tied to the artifact's hash."""
    permissions.require(lake, actor, "signoff")
    if decision not in DECISIONS:
        raise InputError(f"A sign-off decision is approve or reject, not {decision!r}.")
    if not comment or not comment.strip():
        raise InputError("Say why in a comment (--comment TEXT): the sign-off is the record behind the decision.")
    required = required_approvals(lake)
    if role not in required:
        raise InputError(f"Unknown sign-off role {role!r}; the required roles are {', '.join(required)}.")
    version = get(lake, ref)
    run = training.get(lake, version.run_id)
    if actor in (version.created_by, run.created_by):
        permissions.refuse(lake, actor, "signoff", f"{actor} trained or registered {version.ref} and cannot also sign "
                           "it off (separation of duties): ask another reviewer.", InputError)
    _check_signoff_role(lake, version, actor, role)
    current = _artifact_digest(lake, version)
    if current != version.artifact_sha256:
        raise InputError(f"The artifact of {version.ref} changed since it was registered; it cannot be signed off.")
    if decision == "approve":
        open_items = open_must_fix(lake, version)
        if open_items:
            raise InputError(f"{version.ref} has open must-fix items from its review: "
                             f"{describe_must_fix(open_items, limit=5)}. Close them, or have an "
                             "admin override them with a reason, before approving.")

    def work(cur) -> None:
        cur.execute("INSERT INTO lake.assay.signoffs VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                    [version.name, version.version, actor, role, decision, comment.strip(), version.artifact_sha256])

    lake.write(work, actor=actor, action="signoff", message=f"signoff {version.ref}: {decision}", tag=f"model:{version.ref}",
               details={"decision": decision, "role": role, "comment": comment.strip(),
                        "artifact_sha256": version.artifact_sha256})
    return approval_status(lake, version.ref)


def _check_signoff_role(lake: Lake, version: ModelVersion, actor: str, role: str) -> None:
    """Sign-off roles belong to accounts: once accounts exist, the signer must hold the role (granted by an admin);
    and one person signs at most one required role of a version, so each role is a different person's judgement.
    Every refusal is audited."""
    if permissions.accounts_exist(lake):
        if permissions.is_local_admin(actor):
            permissions.refuse(lake, actor, "signoff", f"The local administrator holds no sign-off role. Sign off as "
                               "your account: `python -m core --as NAME --password-stdin signoff ...` (or an API token).")
        held = permissions.signoff_roles(lake, actor)
        if role not in held:
            permissions.refuse(lake, actor, "signoff", f"{actor} does not hold the sign-off role {role} (holds: "
                               f"{', '.join(held) or 'none'}). An admin grants it: "
                               f"`python -m core users grant {actor} --signoff-role {role}`.")
    other = [r[0] for r in lake.query("SELECT DISTINCT role FROM lake.assay.signoffs WHERE name = ? AND version = ? "
                                      "AND reviewer = ? AND role <> ?", [version.name, version.version, actor, role])]
    if other:
        permissions.refuse(lake, actor, "signoff", f"{actor} already signed {version.ref} as {', '.join(other)}; one "
                           f"person signs at most one required role of a version (separation of duties): {role} needs "
                           "another reviewer.", InputError)


def signable_roles(lake: Lake, actor: str) -> list[str]:
    """The required roles this actor may sign in: every one in single-user mode; once accounts exist, the
    roles granted to the actor's account (none for the local administrator)."""
    required = list(required_approvals(lake))
    if not permissions.accounts_exist(lake):
        return required
    if permissions.is_local_admin(actor):
        return []
    held = permissions.signoff_roles(lake, actor)
    return [r for r in required if r in held]


def open_must_fix(lake: Lake, version: ModelVersion) -> list[dict]:
    """The version's open blocking items: must-fix findings on its run's reviews whose action items are open
    (core.findings owns them)."""
    from core.governance import findings

    return findings.blocking(lake, version.run_id)


def describe_must_fix(items: list[dict], *, limit: int = 3) -> str:
    """One sentence for a page or a message: 'TITLE: ACTION (OWNER, due DATE); ...'."""
    shown = "; ".join(f"{i['title']}: {i['action']}" + (f" ({i['owner']}, due {i['due']})" if i.get("owner") else "")
                      for i in items[:limit])
    return shown + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def _artifact_digest(lake: Lake, version: ModelVersion) -> Optional[str]:
    try:
        return hashlib.sha256((lake.config.folder / version.artifact).read_bytes()).hexdigest()
    except OSError:
        return None


def signoffs(lake: Lake, ref: str) -> list[dict]:
    """Sign-offs of a version; `valid` (it counts) needs this artifact and an audit entry that verifies for the
    row (`audited`): a row written straight into the lake has none."""
    from core.lake import audit

    version = get(lake, ref)
    with lake.reading() as cur:
        rows = cur.execute("SELECT reviewer, role, decision, comment, artifact_sha256, signed_at FROM lake.assay.signoffs "
                           "WHERE name = ? AND version = ? ORDER BY signed_at", [version.name, version.version]).fetchall()
    entries = audit.verified_signoffs(lake, version.ref)  # each entry vouches for one row
    found = []
    for r in rows:
        audited = entries[(r[0], r[1], r[2], r[4])] > 0
        entries[(r[0], r[1], r[2], r[4])] -= audited
        found.append({"reviewer": r[0], "role": r[1], "decision": r[2], "comment": r[3], "artifact_sha256": r[4],
                      "at": r[5], "audited": audited,
                      "valid": r[4] == version.artifact_sha256 and audited and _under_current_threshold(version, r[5])})
    return found


def _under_current_threshold(version: ModelVersion, signed_at) -> bool:
    """A sign-off counts only for the decision rule it saw: one given before set_threshold changed it does not."""
    return version.threshold_set_at is None or signed_at > version.threshold_set_at


def approval_status(lake: Lake, ref: str) -> dict:
    """Each required role: approvals that count (the latest decision of each reviewer, on this artifact)."""
    version = get(lake, ref)
    required = required_approvals(lake)
    latest: dict = {}
    first_role: dict = {}  # one person counts in one role only: the first they signed in
    for entry in signoffs(lake, ref):
        if entry["valid"]:
            first_role.setdefault(entry["reviewer"], entry["role"])
            latest[(entry["reviewer"], entry["role"])] = entry
    roles = {}
    for role, count in required.items():
        decided = [e for (who, r), e in latest.items() if r == role and first_role[who] == role]
        approved = [e["reviewer"] for e in decided if e["decision"] == "approve"]
        rejected = [e["reviewer"] for e in decided if e["decision"] == "reject"]
        roles[role] = {"required": count, "approved_by": approved, "rejected_by": rejected,
                       "met": len(approved) >= count and not rejected,
                       "not_counted": sorted(who for (who, r) in latest if r == role and first_role[who] != role)}
    artifact_ok = _artifact_digest(lake, version) == version.artifact_sha256
    blocking = open_must_fix(lake, version)
    return {"model": version.ref, "roles": roles, "artifact_unchanged": artifact_ok,
            "approved": artifact_ok and all(r["met"] for r in roles.values()),
            "open_must_fix": blocking}
