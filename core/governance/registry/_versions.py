"""Registered models and their numbered versions: reading them (with their aliases and the decision threshold in
force), moving an alias, and editing a version's model card."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Union

from core import training
from core.errors import InputError, NotFoundError
from core.lake import Lake, records


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


def _read_versions(cur, name: str, where: str, params: list) -> list[ModelVersion]:
    """Versions of model `name` as stored (`where` picks them), with their aliases and the threshold in force."""
    found = records(cur, f"SELECT * FROM lake.assay.model_versions WHERE name = ? AND {where} ORDER BY version",
                    [name, *params], json=_JSON)
    aliases = _aliases(cur, name)
    return [_version_from(data, aliases, cur) for data in found]


def _version_from(data: dict, aliases: dict, cur) -> ModelVersion:
    for key in _JSON:
        if data[key] is None:
            data[key] = {} if key in ("gate", "card", "metrics") else []
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
        found = _read_versions(cur, name, "version = ?", [version])
        if not found:
            raise NotFoundError(f"No version {which} of model {name!r}. `python -m core models` lists them.")
        return found[0]


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
        return _read_versions(cur, name, "true", [])


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


def model_exists(lake: Lake, name: str) -> bool:
    return bool(lake.query("SELECT count(*) FROM lake.assay.models WHERE name = ?", [name])[0][0])


def _move_alias(cur, name: str, alias: str, version: int, actor: str) -> None:
    cur.execute("DELETE FROM lake.assay.model_aliases WHERE name = ? AND alias = ?", [name, alias])
    cur.execute("INSERT INTO lake.assay.model_aliases VALUES (?, ?, ?, ?, now())", [name, alias, version, actor])


def open_version(lake: Lake, ref: Union[str, ModelVersion]) -> tuple[ModelVersion, training.TrainedRun]:
    """A registered version and its run's model (hash checked, once) at the version's decision threshold."""
    version = ref if isinstance(ref, ModelVersion) else get(lake, ref)
    run = training.get(lake, version.run_id)
    return version, training.open_run(lake, run, threshold=version.threshold)  # None unless binary


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


def _all_version_runs(lake: Lake) -> list[dict]:
    return [{"name": n, "version": v, "run_id": r}
            for n, v, r in lake.query("SELECT name, version, run_id FROM lake.assay.model_versions")]
