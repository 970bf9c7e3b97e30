"""What a review meeting concludes, kept in the lake: findings pinned from a review (a component with
every setting its view needs: cohort, feature, sensitive column, ...; checked against the stored
review when pinned, so that the finding is redrawn from them alone), comments, a decision per
finding, and action items with an owner and a due date. Open action items of a finding decided "must fix before
release" block the sign-off of every model version registered from that review's run, until they
are closed, or overridden by an admin with a reason (audited)."""
from __future__ import annotations

import json
import time
import uuid
from datetime import date
from typing import Optional

from core.lake import permissions
from core import review, review_views, validation
from core.errors import InputError, NotFoundError
from core.lake import Lake, records

SEVERITIES = ("low", "medium", "high", "critical")
DECISIONS = ("accepted_risk", "must_fix", "fixed", "not_an_issue")
COMPONENTS = ("overview", "explain", "errors", "fairness", "counterfactuals", "causal", "privacy", "checks")


def _new_id() -> str:
    return f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:8]}"


def pin(lake: Lake, review_id: str, *, title: str, severity: str, component: str, settings: Optional[dict] = None,
        actor: str) -> dict:
    """Pin a view of a review (its component and exact settings) as a finding."""
    permissions.require(lake, actor, "meet")
    current = review.get(lake, review_id)
    if not title or not title.strip():
        raise InputError("Give the finding a title that says what was seen.")
    if severity not in SEVERITIES:
        raise InputError(f"Severity is one of {', '.join(SEVERITIES)}, not {severity!r}.")
    if component not in COMPONENTS:
        raise InputError(f"Unknown component {component!r}; choose from {', '.join(COMPONENTS)}.")
    if component not in current.components:
        raise InputError(f"Review {review_id} has no {component} component to pin.")
    if settings is not None and not isinstance(settings, dict):
        raise InputError('Settings are a JSON object, such as {"sensitive": "race_ethnicity"}.')
    settings = json.loads(json.dumps(settings or {}, default=str))  # exactly what is stored
    # the view must be drawable from these settings now: a finding is redrawn from them alone
    review_views.render(component, review.typed_results(lake, review_id), settings, lake=lake, review=current)
    finding_id = _new_id()

    def work(cur) -> None:
        cur.execute("INSERT INTO lake.assay.findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, now())",
                    [finding_id, current.usecase, review_id, current.run_id, title.strip(), severity, component,
                     json.dumps(settings), actor])

    lake.write(work, actor=actor, action="meet", message=f"meet finding {finding_id} on {review_id}", tag=f"finding:{finding_id}",
               details={"title": title.strip(), "severity": severity, "component": component})
    return get(lake, finding_id)


def settings_text(settings: dict) -> str:
    """A finding's settings as people read them: sensitive = race_ethnicity; threshold = 0.5."""
    if not settings:
        return "none"
    return "; ".join(f"{k} = {' × '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in settings.items())


# A comment (or action item) identical to one the same person added to the same finding this many seconds ago is
# the same submission arriving twice (Enter, then a click on the button, before the page redrew): not stored again.
REPEAT_SECONDS = 10


class _AlreadySaid(Exception):
    """Raised inside the write to roll it back: the comment or action item is already there (no snapshot, no audit
    entry)."""


def comment(lake: Lake, finding_id: str, text: str, *, actor: str) -> dict:
    """Add a comment; the same text from the same author on the same finding within REPEAT_SECONDS is
    taken as a repeated submission and ignored (the finding is returned unchanged)."""
    permissions.require(lake, actor, "meet")
    get(lake, finding_id)
    if not text or not text.strip():
        raise InputError("A comment needs text.")
    said = text.strip()

    def work(cur) -> None:  # checked inside the transaction: two writers racing cannot both insert
        repeated = cur.execute("SELECT count(*) FROM lake.assay.finding_comments WHERE finding_id = ? AND author = ? "
                               "AND text = ? AND commented_at > now() - to_seconds(?)",
                               [finding_id, actor, said, float(REPEAT_SECONDS)]).fetchone()[0]
        if repeated:
            raise _AlreadySaid
        cur.execute("INSERT INTO lake.assay.finding_comments VALUES (?, ?, ?, now())", [finding_id, actor, said])

    try:
        lake.write(work, actor=actor, action="meet", message=f"meet comment on {finding_id}", tag=f"finding:{finding_id}")
    except _AlreadySaid:
        pass
    return get(lake, finding_id)


def decide(lake: Lake, finding_id: str, decision: str, *, actor: str, reason: str = "") -> dict:
    permissions.require(lake, actor, "meet")
    if decision not in DECISIONS:
        raise InputError(f"A decision is one of {', '.join(DECISIONS)}, not {decision!r}.")
    get(lake, finding_id)
    lake.write(lambda cur: cur.execute("UPDATE lake.assay.findings SET decision = ?, decision_reason = ?, decided_by = ? "
                                       "WHERE finding_id = ?", [decision, reason.strip(), actor, finding_id]),
               actor=actor, action="meet", message=f"meet decision on {finding_id}: {decision}", tag=f"finding:{finding_id}",
               details={"decision": decision, "reason": reason.strip()})
    return get(lake, finding_id)


def add_action(lake: Lake, finding_id: str, text: str, *, owner: str, due: str, actor: str) -> dict:
    permissions.require(lake, actor, "meet")
    get(lake, finding_id)
    if not text or not text.strip() or not owner or not owner.strip():
        raise InputError("An action item needs what is to be done and an owner.")
    try:
        due_date = date.fromisoformat(str(due))
    except ValueError:
        raise InputError(f"The due date is YYYY-MM-DD, not {due!r}.") from None
    action_id, item = _new_id(), [finding_id, text.strip(), owner.strip(), due_date, actor]

    def work(cur) -> None:  # the same item sent twice (Enter, then a click) is one item, as with comments
        if cur.execute("SELECT count(*) FROM lake.assay.finding_actions WHERE finding_id = ? AND text = ? AND owner = ? "
                       "AND due = ? AND created_by = ? AND created_at > now() - to_seconds(?)",
                       [*item, float(REPEAT_SECONDS)]).fetchone()[0]:
            raise _AlreadySaid
        cur.execute("INSERT INTO lake.assay.finding_actions VALUES (?, ?, ?, ?, ?, 'open', NULL, NULL, ?, now())",
                    [action_id, *item])

    try:
        lake.write(work, actor=actor, action="meet", message=f"meet action {action_id} on {finding_id}",
                   tag=f"finding:{finding_id}", details={"owner": owner.strip(), "due": str(due_date)})
    except _AlreadySaid:
        pass
    return get(lake, finding_id)


def close_action(lake: Lake, action_id: str, *, actor: str, override_reason: Optional[str] = None) -> dict:
    """Close an action item as done, or (admin, with a reason) override it without the work."""
    rows = lake.query("SELECT finding_id, status FROM lake.assay.finding_actions WHERE action_id = ?", [action_id])
    if not rows:
        raise NotFoundError(f"No action item {action_id!r}.")
    finding_id, status = rows[0]
    if status != "open":
        raise InputError(f"Action item {action_id} is already {status}.")
    reason = (override_reason or "").strip()
    if reason:
        if permissions.role_of(lake, actor) != "admin":
            message = f"Overriding an action item needs an admin; {actor}'s role is {permissions.role_of(lake, actor)}."
            permissions.record_denial(lake, actor, "override", message)
            raise permissions.PermissionDenied(message)
    else:
        permissions.require(lake, actor, "meet")
    new_status = "overridden" if reason else "closed"
    lake.write(lambda cur: cur.execute("UPDATE lake.assay.finding_actions SET status = ?, closed_by = ?, close_reason = ? "
                                       "WHERE action_id = ?", [new_status, actor, reason or None, action_id]),
               actor=actor, action="meet", message=f"meet action {action_id} {new_status}", tag=f"finding:{finding_id}",
               details={"override_reason": reason or None})
    return get(lake, finding_id)


def get(lake: Lake, finding_id: str) -> dict:
    with lake.reading() as cur:
        found = _read(cur, "finding_id = ?", [finding_id])
    if not found:
        raise NotFoundError(f"No finding {finding_id!r}.")
    return found[0]


def list_findings(lake: Lake, review_id: str) -> list[dict]:
    review.get(lake, review_id)
    with lake.reading() as cur:
        return _read(cur, "review_id = ?", [review_id])


def _read(cur, where: str, params: list) -> list[dict]:
    """The findings chosen by `where` (a fixed condition on the findings table), oldest first, each with its
    settings, its comments (oldest first) and its action items (in the order they were added)."""
    found = records(cur, f"SELECT * FROM lake.assay.findings WHERE {where} ORDER BY created_at", params, json=("settings",))
    ids = [f["finding_id"] for f in found]
    if not ids:
        return []
    comments, actions = {i: [] for i in ids}, {i: [] for i in ids}
    for finding_id, remark in records(cur, "SELECT finding_id, author, text, commented_at AS at FROM lake.assay.finding_comments "
                                           "WHERE list_contains(?, finding_id) ORDER BY commented_at", [ids], into=_keyed):
        comments[finding_id].append(remark)
    for finding_id, item in records(cur, "SELECT finding_id, action_id, text, owner, due, status, closed_by, close_reason FROM "
                                         "lake.assay.finding_actions WHERE list_contains(?, finding_id) ORDER BY created_at",
                                    [ids], into=_keyed):
        actions[finding_id].append(item)
    return [{**f, "settings": f["settings"] or {}, "comments": comments[f["finding_id"]], "actions": actions[f["finding_id"]]}
            for f in found]


def _keyed(finding_id: str, **row) -> tuple[str, dict]:
    return finding_id, row


def drafts(lake: Lake, review_id: str) -> list[dict]:
    """Failed validation checks of severity high or critical in the review, offered as findings to pin (those
    already pinned are left out): title, severity, component "checks" and the settings {"check": NAME}."""
    stored = review.results(lake, review_id).get("checks")
    pinned = {json.dumps(f["settings"], sort_keys=True) for f in list_findings(lake, review_id) if f["component"] == "checks"}
    return [d for d in validation.draft_findings(stored) if json.dumps(d["settings"], sort_keys=True) not in pinned]


def blocking(lake: Lake, run_id: str) -> list[dict]:
    """Open action items of must-fix findings on reviews of this run: they block its sign-off."""
    rows = lake.query("SELECT f.finding_id, f.title, a.action_id, a.text, a.owner, a.due FROM lake.assay.findings f "
                      "JOIN lake.assay.finding_actions a ON a.finding_id = f.finding_id "
                      "WHERE f.run_id = ? AND f.decision = 'must_fix' AND a.status = 'open'", [run_id])
    unresolved = lake.query("SELECT f.finding_id, f.title FROM lake.assay.findings f WHERE f.run_id = ? AND "
                            "f.decision = 'must_fix' AND NOT EXISTS (SELECT 1 FROM lake.assay.finding_actions a "
                            "WHERE a.finding_id = f.finding_id)", [run_id])
    return ([{"finding_id": r[0], "title": r[1], "action_id": r[2], "action": r[3], "owner": r[4], "due": str(r[5])}
             for r in rows]
            + [{"finding_id": r[0], "title": r[1], "action_id": None, "action": "(no action item yet)", "owner": None,
                "due": None} for r in unresolved])
