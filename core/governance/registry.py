"""The model registry: registered models, numbered versions, movable aliases (champion, challenger,
any name), the champion/challenger gate, and sign-off.

A version records everything needed to trust and reuse it: input signature and example, output,
held-out metrics, the review, the training input with its snapshot, the run, the artifact with its
SHA-256 (checked on every load), the code version, who and when. Registering a new version of a
model that has a champion runs the gate: both models on the candidate's held-out rows, each
metric against its threshold; the result is stored with the version. A failed candidate becomes
champion only with an explicit override (an admin's reason, audited). Promotion to champion also
needs the required approvals, each tied to the artifact's hash: a changed artifact voids them.

A binary version decides at its decision threshold: its run's, until `set_threshold` (audited,
with a reason) gives it another; approvals given before that change no longer count, as the
decision rule they approved is gone. Scoring, the endpoint and drift open a version through
`open_version`, which hands them the run's model at the version's threshold.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Union

import numpy as np
import pandas as pd

from core.data import datasets
from core.lake import permissions, settings
from core import review, training, validation
from core.errors import InputError, NotFoundError
from core.lake import Lake
from core.names import check_name
from core.training import _metrics

LOWER_IS_BETTER = {"rmse", "mae", "mape", "log_loss", "brier"}
DEFAULT_APPROVALS = {"data_science_lead": 1, "risk_compliance": 1}
DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    run_id: str
    review_id: Optional[str]
    task: str
    target: str
    input: str
    input_snapshot: int
    signature: list
    input_example: list
    output: str
    metrics: dict
    artifact: str
    artifact_sha256: str
    code_version: str
    gate: dict
    card: dict
    created_by: str
    created_at: datetime
    aliases: tuple = ()
    threshold: Optional[float] = None              # binary: the decision threshold in force
    threshold_set_at: Optional[datetime] = None    # when set_threshold last changed it (None: the run's own)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items()}
        out["created_at"] = self.created_at.isoformat()
        out["threshold_set_at"] = self.threshold_set_at.isoformat() if self.threshold_set_at else None
        out["aliases"] = list(self.aliases)
        return out


_JSON = ("signature", "input_example", "metrics", "gate", "card")


def _version_from(row: tuple, names: list[str], aliases: dict, cur) -> ModelVersion:
    data = dict(zip(names, row))
    for key in _JSON:
        data[key] = json.loads(data[key]) if data[key] else ({} if key in ("gate", "card", "metrics") else [])
    return ModelVersion(**data, aliases=tuple(sorted(aliases.get((data["name"], data["version"]), []))),
                        **_threshold_of(cur, data["name"], data["version"], data["run_id"]))


def _threshold_of(cur, name: str, version: int, run_id: str) -> dict:
    """The version's decision threshold: the last one set_threshold gave it, else its run's."""
    found = cur.execute("SELECT threshold, set_at FROM lake.assay.model_thresholds WHERE name = ? AND version = ? "
                        "ORDER BY set_at DESC LIMIT 1", [name, version]).fetchall()
    if found:
        return {"threshold": float(found[0][0]), "threshold_set_at": found[0][1]}
    return {"threshold": training.decision_threshold(training.read_run(cur, run_id)), "threshold_set_at": None}


def parse_ref(ref: str) -> tuple[str, str]:
    """NAME@VERSION or NAME@ALIAS."""
    if not isinstance(ref, str) or "@" not in ref:
        raise InputError(f"Name a model version as NAME@VERSION or NAME@ALIAS (such as credit@champion), not {ref!r}.")
    name, _, which = ref.partition("@")
    if not name or not which:
        raise InputError(f"Name a model version as NAME@VERSION or NAME@ALIAS, not {ref!r}.")
    return name, which


def get(lake: Lake, ref: str) -> ModelVersion:
    name, which = parse_ref(ref)
    with lake.reading() as cur:
        if which.isdigit():
            version = int(which)
        else:
            found = cur.execute("SELECT version FROM lake.assay.model_aliases WHERE name = ? AND alias = ?",
                                [name, which]).fetchall()
            if not found:
                known = cur.execute("SELECT count(*) FROM lake.assay.models WHERE name = ?", [name]).fetchall()[0][0]
                raise NotFoundError(f"Model {name!r} has no alias {which!r}." if known else
                                    f"No registered model {name!r}. `python -m core models` lists them.")
            version = found[0][0]
        result = cur.execute("SELECT * FROM lake.assay.model_versions WHERE name = ? AND version = ?", [name, version])
        rows, names = result.fetchall(), [d[0] for d in result.description]
        aliases = _aliases(cur, name)
        if not rows:
            raise NotFoundError(f"No version {which} of model {name!r}. `python -m core models` lists them.")
        return _version_from(rows[0], names, aliases, cur)


def _aliases(cur, name: Optional[str] = None) -> dict:
    sql, params = "SELECT name, alias, version FROM lake.assay.model_aliases", []
    if name:
        sql, params = sql + " WHERE name = ?", [name]
    out: dict = {}
    for n, alias, version in cur.execute(sql, params).fetchall():
        out.setdefault((n, version), []).append(alias)
    return out


def versions(lake: Lake, name: str) -> list[ModelVersion]:
    with lake.reading() as cur:
        result = cur.execute("SELECT * FROM lake.assay.model_versions WHERE name = ? ORDER BY version", [name])
        rows, names = result.fetchall(), [d[0] for d in result.description]
        aliases = _aliases(cur, name)
        return [_version_from(r, names, aliases, cur) for r in rows]


def list_models(lake: Lake, *, usecase: Optional[str] = None) -> list[dict]:
    sql, params = """SELECT m.name, m.usecase, m.description, m.owners, m.tags, m.created_by, m.created_at,
                            max(v.version) AS latest, any_value(v.task) AS task, count(v.version) AS versions
                     FROM lake.assay.models m LEFT JOIN lake.assay.model_versions v ON v.name = m.name""", []
    if usecase:
        sql, params = sql + " WHERE m.usecase = ?", [usecase]
    with lake.reading() as cur:
        rows = cur.execute(sql + " GROUP BY ALL ORDER BY m.name", params).fetchall()
        aliases = _aliases(cur)
    out = []
    for name, owner_case, description, owners, tags, by, at, latest, task, count in rows:
        out.append({"name": name, "usecase": owner_case, "description": description, "owners": json.loads(owners),
                    "tags": json.loads(tags), "created_by": by, "created_at": at, "latest_version": latest,
                    "task": task, "versions": count,
                    "aliases": {alias: v for (n, v), names in aliases.items() if n == name for alias in names}})
    return out


def required_approvals(lake: Lake) -> dict:
    raw = settings.get(lake, "required_approvals")
    return json.loads(raw) if raw else dict(DEFAULT_APPROVALS)


def set_required_approvals(lake: Lake, approvals: dict, *, actor: str) -> None:
    if not isinstance(approvals, dict) or not all(isinstance(k, str) and isinstance(v, int) and v >= 0
                                                  for k, v in approvals.items()):
        raise InputError('Required approvals are role names with counts, such as {"data_science_lead": 1}.')
    settings.put(lake, "required_approvals", json.dumps(approvals), actor=actor)


def gate_thresholds(lake: Lake, task: str) -> dict:
    """Per metric: min_absolute and min_relative improvement over the champion, and the direction.
    Default: the task's primary metric must not get worse."""
    raw = settings.get(lake, f"gate_thresholds:{task}")
    if raw:
        return json.loads(raw)
    metric, higher = training.PRIMARY[task]
    return {metric: {"min_absolute": 0.0, "min_relative": 0.0, "higher_is_better": higher}}


def set_gate_thresholds(lake: Lake, task: str, thresholds: dict, *, actor: str) -> None:
    for metric, rule in thresholds.items():
        if not isinstance(rule, dict) or not {"min_absolute", "min_relative"} <= set(rule):
            raise InputError(f"Threshold for {metric!r} needs min_absolute and min_relative (and higher_is_better).")
    settings.put(lake, f"gate_thresholds:{task}", json.dumps(thresholds), actor=actor)


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
    existing = versions(lake, name) if _model_exists(lake, name) else []
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


def _model_exists(lake: Lake, name: str) -> bool:
    return bool(lake.query("SELECT count(*) FROM lake.assay.models WHERE name = ?", [name])[0][0])


def _move_alias(cur, name: str, alias: str, version: int, actor: str) -> None:
    cur.execute("DELETE FROM lake.assay.model_aliases WHERE name = ? AND alias = ?", [name, alias])
    cur.execute("INSERT INTO lake.assay.model_aliases VALUES (?, ?, ?, ?, now())", [name, alias, version, actor])


def _held_out(lake: Lake, trained: training.TrainedRun) -> pd.DataFrame:

    run = trained.run
    version, _ = training.evaluation_source(lake, run, None)
    where, params = trained.held_out_filter()
    frame = datasets.read_frame(lake, version, where=where, params=params)
    return frame[frame[run.target].notna()].reset_index(drop=True)


def open_version(lake: Lake, ref: Union[str, ModelVersion]) -> tuple[ModelVersion, training.TrainedRun]:
    """A registered version and its run's model (hash checked, once) at the version's decision threshold."""
    version = ref if isinstance(ref, ModelVersion) else get(lake, ref)
    run = training.get(lake, version.run_id)
    return version, training.open_run(lake, run, threshold=version.threshold)  # None unless binary


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


def _evaluate(trained: training.TrainedRun, frame: pd.DataFrame) -> dict:
    """Metrics of a model on labelled rows, binary decisions at its threshold."""
    run, model = trained.run, trained.model
    X, truth = frame[run.feature_names], frame[run.target]
    if run.task in ("binary", "multiclass"):
        extra = {"threshold": trained.threshold} if run.task == "binary" else {}
        metrics = _metrics.classification_metrics(truth.to_numpy(dtype=object), model.predict_proba(X), run.classes,
                                                  positive=run.positive, **extra)
    else:
        metrics = _metrics.regression_metrics(truth.to_numpy(dtype=float), np.asarray(model.predict(X), dtype=float))
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and k != "threshold"}


def _gate(lake: Lake, trained: training.TrainedRun, held_out: pd.DataFrame, name: str, thresholds: dict) -> dict:
    """Candidate against the champion on the candidate's held-out rows, each metric against its threshold;
    each model decides at its own decision threshold (the candidate's run's, the champion version's)."""
    run = trained.run
    try:
        champion = get(lake, f"{name}@champion")
    except NotFoundError:
        return {"status": "skipped", "reason": "No champion yet: nothing in service to beat.", "metrics": {}}
    champion_run = training.get(lake, champion.run_id)
    if sorted(champion_run.feature_names) != sorted(run.feature_names):
        return {"status": "skipped", "champion": champion.ref, "metrics": {},
                "reason": f"The feature set changed ({len(champion_run.feature_names)} features in service, "
                          f"{len(run.feature_names)} in the candidate): the models are not compared, as the process "
                          "says; promotion then rests on the review and the sign-offs."}
    candidate_scores = _evaluate(trained, held_out)
    in_service = training.open_run(lake, champion_run, threshold=champion.threshold)
    champion_scores = _evaluate(training.TrainedRun(run=run, model=in_service.model, threshold=in_service.threshold),
                                held_out)
    results, passed = {}, True
    for metric, rule in thresholds.items():
        if metric not in candidate_scores:
            raise InputError(f"The gate's metric {metric!r} is not measured for a {run.task} model; "
                             f"choose from {', '.join(sorted(candidate_scores))}.")
        higher = rule.get("higher_is_better", metric not in LOWER_IS_BETTER)
        new, old = candidate_scores[metric], champion_scores[metric]
        gain = (new - old) if higher else (old - new)
        relative = gain / abs(old) if old else (0.0 if gain == 0 else float("inf"))
        ok = gain >= rule["min_absolute"] and relative >= rule["min_relative"]
        results[metric] = {"candidate": new, "champion": old, "improvement": gain, "relative_improvement": relative,
                           "min_absolute": rule["min_absolute"], "min_relative": rule["min_relative"],
                           "higher_is_better": higher, "passed": bool(ok)}
        passed &= ok
    return {"status": "passed" if passed else "failed", "champion": champion.ref, "rows": int(len(held_out)),
            "metrics": results, "all_metrics": {"candidate": candidate_scores, "champion": champion_scores},
            "decision_thresholds": {"candidate": trained.threshold, "champion": in_service.threshold}}


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

    lake.write(work, actor=actor, action="promote", message=f"promote {version.ref} to {alias}", tag=f"model:{version.ref}",
               details={"alias": alias, "previous": previous, "override_reason": override or None,
                        "gate": version.gate.get("status")})
    return {"model": version.ref, "alias": alias, "previous_version": previous, "override": bool(override)}


CARD_FIELDS = ("purpose", "intended_use", "owners", "limitations", "ethical_considerations", "tradeoffs", "targets")


def update_card(lake: Lake, ref: str, fields: dict, *, actor: str) -> ModelVersion:
    """Edit the model card (purpose, intended use, owners, limitations, ethical considerations, trade-offs)."""
    unknown = [k for k in fields if k not in CARD_FIELDS]
    if unknown:
        raise InputError(f"Unknown card field(s) {unknown}; the card has {', '.join(CARD_FIELDS)}.")
    for metric, target in (fields.get("targets") or {}).items():
        if not isinstance(target, dict) or len(target) != 1 or not ({"min", "max"} & set(target)) \
                or not isinstance(next(iter(target.values())), (int, float)):
            raise InputError(f'A target is {{"min": number}} or {{"max": number}}; {metric!r} has {target!r}.')
    version = get(lake, ref)
    card = {**version.card, **fields}

    def work(cur) -> None:
        cur.execute("UPDATE lake.assay.model_versions SET card = ? WHERE name = ? AND version = ?",
                    [json.dumps(card), version.name, version.version])

    lake.write(work, actor=actor, action="edit", message=f"edit card of {version.ref}", tag=f"model:{version.ref}",
               details={"fields": sorted(fields)})
    return get(lake, ref)


def lineage(lake: Lake, ref: str) -> dict:
    """What this version came from: dataset versions → feature set → run → model version (→ reviews)."""
    version = get(lake, ref)
    run = training.get(lake, version.run_id)
    nodes = [{"id": f"model:{version.ref}", "kind": "model version", "label": version.ref},
             {"id": f"run:{run.run_id}", "kind": "run", "label": f"{run.algorithm} {run.run_id}"}]
    edges = [(f"run:{run.run_id}", f"model:{version.ref}")]
    base = run.params.get("base_run") if isinstance(run.params, dict) else None
    if base:
        nodes.append({"id": f"run:{base}", "kind": "run", "label": f"base run {base}"})
        edges.append((f"run:{base}", f"run:{run.run_id}"))
    source = f"{run.input_kind}:{run.input_ref}"
    nodes.append({"id": source, "kind": run.input_kind.replace("_", " "), "label": run.input_ref})
    edges.append((source, f"run:{run.run_id}"))
    if run.input_kind == "feature_set":
        from core import features

        feature_set = features.get(lake, run.input_ref)
        for parent in feature_set.lineage:
            ref_text = f"{parent['dataset']}@{parent['version']}"
            nodes.append({"id": f"dataset:{ref_text}", "kind": "dataset", "label": ref_text})
            edges.append((f"dataset:{ref_text}", source))
    for r in review.list_reviews(lake, run_id=run.run_id):
        nodes.append({"id": f"review:{r.review_id}", "kind": "review", "label": f"review {r.review_id}"})
        edges.append((f"run:{run.run_id}", f"review:{r.review_id}"))
    jobs = lake.query("SELECT job_id, output, input FROM lake.assay.jobs WHERE model = ? AND model_version = ? "
                      "AND status = 'succeeded' AND output IS NOT NULL ORDER BY created_at DESC LIMIT 5",
                      [version.name, version.version])
    for job_id, output, source in jobs:
        nodes.append({"id": f"job:{job_id}", "kind": "scoring job", "label": f"{source} → {output}"})
        edges.append((f"model:{version.ref}", f"job:{job_id}"))
    return {"nodes": nodes, "edges": [{"from": a, "to": b} for a, b in edges]}


def history(lake: Lake, name: str) -> list[dict]:
    from core.lake import audit

    return [e for e in audit.entries(lake, limit=500, obj=f"model:{name}@")]


def lifecycle(lake: Lake, usecase: Optional[str] = None) -> dict:
    """Where every model version of a use case stands, what awaits approval, and the runs not registered."""
    from core.lake import audit

    models = list_models(lake, usecase=usecase)
    promotions = audit.entries(lake, limit=10_000, action="promote")
    once_champion = {(e["object"].removeprefix("model:")) for e in promotions if e["details"].get("alias") == "champion"}
    stages, pending = [], []
    open_by_model: dict = {}
    for model in models:
        for version in versions(lake, model["name"]):
            status = approval_status(lake, version.ref)
            if "champion" in version.aliases:
                stage = "champion"
            elif version.ref in once_champion:
                stage = "retired"
            elif version.gate.get("status") == "failed":
                stage = "failed gate"
            elif status["approved"]:
                stage = "approved"
            elif signoffs(lake, version.ref):
                stage = "awaiting sign-off"
            else:
                stage = "registered"
            last_job = lake.query("SELECT created_at, rows FROM lake.assay.jobs WHERE model = ? AND model_version = ? "
                                  "ORDER BY created_at DESC LIMIT 1", [version.name, version.version])
            last_drift = lake.query("SELECT result FROM lake.assay.drift_reports WHERE model = ? AND model_version = ? "
                                    "ORDER BY created_at DESC LIMIT 1", [version.name, version.version])
            drift_alert = bool(last_drift) and json.loads(last_drift[0][0]).get("retrain_recommended", False)
            entry = {"model": version.ref, "stage": stage, "aliases": list(version.aliases), "task": version.task,
                     "gate": version.gate.get("status"), "review_id": version.review_id,
                     "approved": status["approved"], "open_must_fix": len(status["open_must_fix"]),
                     "attention": _attention(stage, status), "last_scoring": last_job[0][0] if last_job else None,
                     "drift_alert": drift_alert, "created_by": version.created_by, "created_at": version.created_at}
            stages.append(entry)
            open_by_model[version.ref] = status["open_must_fix"]
            if stage in ("registered", "awaiting sign-off", "approved"):
                missing = [role for role, r in status["roles"].items() if not r["met"]]
                if missing:
                    pending.append({"model": version.ref, "waiting_for": missing})
    runs = training.list_runs(lake, usecase=usecase)
    reviewed = {r.run_id for r in review.list_reviews(lake, usecase=usecase)}
    in_registry = {v["run_id"] for v in _all_version_runs(lake)}
    unregistered = [{"run_id": r.run_id, "algorithm": r.algorithm, "stage": "reviewed" if r.run_id in reviewed else "trained",
                     "created_at": r.created_at} for r in runs if r.run_id not in in_registry]
    blocked = [{"model": v["model"], "stage": v["stage"], "attention": v["attention"], "items": open_by_model[v["model"]]}
               for v in stages if open_by_model[v["model"]]]
    return {"versions": stages, "pending_approvals": pending, "unregistered_runs": unregistered,
            "open_must_fix": blocked}


def _attention(stage: str, status: dict) -> str:
    """What a decision-maker must see beside the stage: 'Approved, but 1 must-fix action open: ...'."""
    items = status["open_must_fix"]
    if not items:
        return ""
    head = {"champion": "Champion and approved" if status["approved"] else "Champion",
            "approved": "Approved"}.get(stage, stage.capitalize())
    return f"{head}, but {len(items)} must-fix action{'s' if len(items) > 1 else ''} open: {describe_must_fix(items)}"


def _all_version_runs(lake: Lake) -> list[dict]:
    return [{"name": n, "version": v, "run_id": r}
            for n, v, r in lake.query("SELECT name, version, run_id FROM lake.assay.model_versions")]
