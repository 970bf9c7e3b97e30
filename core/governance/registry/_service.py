"""What goes into service: registering a run as the next version (through the gate), promoting a version to an
alias (champion needs a passed gate or an admin's override, the approvals and no open must-fix item), and
giving a binary version another decision threshold (which voids the approvals given before)."""
from __future__ import annotations

import json
from typing import Optional

from core import review, training, validation
from core.errors import InputError, NotFoundError
from core.lake import Lake, permissions
from core.names import check_name
from core.governance.registry._gate import _gate, _held_out, gate_thresholds
from core.governance.registry._signoffs import approval_status, describe_must_fix, signoffs
from core.governance.registry._versions import _JSON, ModelVersion, _move_alias, get, model_exists, versions


def register(lake: Lake, run_id: str, *, name: str, actor: str, alias: Optional[str] = "challenger",
             review_id: Optional[str] = None, description: str = "", owners: tuple = (), tags: Optional[dict] = None,
             thresholds: Optional[dict] = None) -> ModelVersion:
    """Register a run as the next version of `name` (the model is created on its first version), run the
    gate against the champion, and point `alias` at the new version."""
    permissions.require(lake, actor, "register")
    check_name(name, what="model name")
    if alias:
        check_name(alias, what="alias")
    trained = training.open_run(lake, run_id)  # the artifact's hash and types are checked here
    run = trained.run
    reviews = review.list_reviews(lake, run_id=run.run_id)
    if review_id and review_id not in [r.review_id for r in reviews]:
        raise InputError(f"Review {review_id!r} is not a review of run {run.run_id}.")
    review_id = review_id or (reviews[0].review_id if reviews else None)
    existing = versions(lake, name) if model_exists(lake, name) else []
    if any(v.run_id == run.run_id for v in existing):
        same = next(v for v in existing if v.run_id == run.run_id)
        raise InputError(f"Run {run.run_id} is already {same.ref}.")
    if existing and existing[0].task != run.task:
        raise InputError(f"Model {name!r} is a {existing[0].task} model; run {run.run_id} is {run.task}.")
    held_out = _held_out(lake, trained)
    gate = _gate(lake, trained, held_out, name, thresholds or gate_thresholds(lake, run.task))
    gate = validation.apply_gate(lake, run.usecase, gate, review.results(lake, review_id).get("checks") if review_id else None)
    example = held_out[run.feature_names].head(3)
    record = {"run_id": run.run_id, "review_id": review_id, "task": run.task, "target": run.target,
              "input": f"{run.input_kind}:{run.input_ref}", "input_snapshot": run.input_snapshot,
              "signature": run.features, "input_example": json.loads(example.to_json(orient="records")),
              "output": trained.decision, "metrics": {k: v for k, v in run.metrics.items() if isinstance(v, (int, float))},
              "artifact": run.artifact, "artifact_sha256": run.artifact_sha256, "code_version": run.code_version,
              "gate": gate, "card": {"purpose": description, "intended_use": "", "owners": list(owners), "limitations": "",
                                     "ethical_considerations": "", "tradeoffs": "", "targets": {}}}

    def work(cur) -> int:
        known = cur.execute("SELECT count(*) FROM lake.assay.models WHERE name = ?", [name]).fetchall()[0][0]
        if not known:
            cur.execute("INSERT INTO lake.assay.models VALUES (?, ?, ?, ?, ?, ?, now())",
                        [name, run.usecase, description, json.dumps(list(owners)), json.dumps(tags or {}), actor])
        version = cur.execute("SELECT coalesce(max(version), 0) + 1 FROM lake.assay.model_versions WHERE name = ?",
                              [name]).fetchall()[0][0]
        values = [name, version] + [json.dumps(record[k], default=str) if k in _JSON else record[k]
                                    for k in ("run_id", "review_id", "task", "target", "input", "input_snapshot",
                                              "signature", "input_example", "output", "metrics", "artifact",
                                              "artifact_sha256", "code_version", "gate", "card")] + [actor]
        cur.execute(f"INSERT INTO lake.assay.model_versions VALUES ({', '.join('?' for _ in values)}, now())", values)
        if alias:
            _move_alias(cur, name, alias, version, actor)
        return version

    version = lake.write(work, actor=actor, action="register", message=f"register {name} from run {run.run_id}",
                         tag=lambda v: f"model:{name}@{v}",
                         details=lambda v: {"run_id": run.run_id, "alias": alias, "gate": gate["status"],
                                            "artifact_sha256": run.artifact_sha256})
    return get(lake, f"{name}@{version}")


def promote(lake: Lake, ref: str, *, alias: str = "champion", actor: str, override_reason: Optional[str] = None) -> dict:
    """Point an alias at a version. To champion: the gate must not have failed (unless overridden with a
    reason) and the required approvals must be in."""
    check_name(alias, what="alias")
    permissions.require(lake, actor, "promote")
    version = get(lake, ref)
    override = (override_reason or "").strip()
    if override and permissions.role_of(lake, actor) != "admin":
        reason = f"Overriding the gate needs an admin; {actor}'s role is {permissions.role_of(lake, actor)}."
        permissions.record_denial(lake, actor, "override", reason)
        raise permissions.PermissionDenied(reason)
    if alias == "champion":
        if version.gate.get("status") == "failed" and not override:
            failed = [m for m, r in version.gate.get("metrics", {}).items() if not r["passed"]]
            rule = version.gate.get("validation") or {}
            failed += ["validation checks"] if rule.get("required") and rule.get("passed") is False else []
            raise InputError(f"{version.ref} failed the gate against {version.gate.get('champion')} ({', '.join(failed)}); "
                             "it becomes champion only with an explicit override: --override-reason TEXT.")
        status = approval_status(lake, version.ref)
        if not status["artifact_unchanged"]:
            raise InputError(f"The artifact of {version.ref} changed since it was registered: it cannot be promoted.")
        if not status["approved"]:
            missing = [f"{role} ({len(r['approved_by'])}/{r['required']}"
                       + (f", rejected by {', '.join(r['rejected_by'])}" if r["rejected_by"] else "") + ")"
                       for role, r in status["roles"].items() if not r["met"]]
            raise InputError(f"{version.ref} lacks the required sign-offs: {'; '.join(missing)}. "
                             "Reviewers sign off with `python -m core signoff`.")
        if status["open_must_fix"]:
            raise InputError(f"{version.ref} is approved, but {len(status['open_must_fix'])} must-fix item(s) from its "
                             f"review are open: {describe_must_fix(status['open_must_fix'])}. Close them (or an admin "
                             "overrides them with a reason) before it becomes champion.")
    previous = None
    try:
        previous = get(lake, f"{version.name}@{alias}").version
    except NotFoundError:
        pass

    def work(cur) -> None:
        _move_alias(cur, version.name, alias, version.version, actor)
        if alias == "champion":  # the champion is no longer the challenger: one version never holds both
            cur.execute("DELETE FROM lake.assay.model_aliases WHERE name = ? AND alias = 'challenger' AND version = ?",
                        [version.name, version.version])

    lake.write(work, actor=actor, action="promote", message=f"promote {version.ref} to {alias}", tag=f"model:{version.ref}",
               details={"alias": alias, "previous": previous, "override_reason": override or None,
                        "gate": version.gate.get("status")})
    return {"model": version.ref, "alias": alias, "previous_version": previous, "override": bool(override)}


def set_threshold(lake: Lake, ref: str, threshold: object, *, actor: str, reason: str) -> dict:
    """Give a binary version another decision threshold (audited, with the reason). Scoring and the endpoint
    decide at it from now on; sign-offs given before it no longer count (the rule they approved changed)."""
    permissions.require(lake, actor, "edit")
    chosen = training.check_threshold(threshold)
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("Say why the threshold changes (--reason TEXT): it is the record behind the new decision rule.")
    version = get(lake, ref)
    run = training.get(lake, version.run_id)
    if run.task != "binary":
        raise InputError(f"{version.ref} is a {run.task} model: only a binary classifier decides at a threshold.")
    if run.algorithm in training.MITIGATED_ALGORITHMS:
        raise InputError(f"{version.ref} is a fairness-mitigated model whose per-group thresholds are built into it "
                         f"(its decision is at {version.threshold:g} by construction); mitigate its base run again instead.")
    if chosen == version.threshold:
        raise InputError(f"{version.ref} already decides at {chosen:g}; nothing changed.")
    voided = [s for s in signoffs(lake, version.ref) if s["valid"]]

    def work(cur) -> None:
        cur.execute("INSERT INTO lake.assay.model_thresholds VALUES (?, ?, ?, ?, ?, ?, now())",
                    [version.name, version.version, chosen, version.threshold, reason.strip(), actor])
        cur.execute("UPDATE lake.assay.model_versions SET output = ? WHERE name = ? AND version = ?",
                    [training.decision_rule(run, chosen), version.name, version.version])

    lake.write(work, actor=actor, action="edit", message=f"edit threshold of {version.ref}: {version.threshold:g} -> {chosen:g}",
               tag=f"model:{version.ref}", details={"threshold": chosen, "previous": version.threshold,
                                                    "reason": reason.strip(), "signoffs_voided": len(voided)})
    return {"model": version.ref, "threshold": chosen, "previous": version.threshold, "reason": reason.strip(),
            "signoffs_voided": len(voided), "approvals": approval_status(lake, version.ref)}
