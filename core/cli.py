"""The CLI over the core functions: every command prints exactly one JSON object on stdout.

Errors exit non-zero with {"error": "..."}; progress goes to stderr. Keep commands stable:
other people's automation depends on them.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional, Sequence

import duckdb

from core import (accounts, audit, causal, cohorts, counterfactuals, datasets, demo, drift, fairness, features,
                  findings, identity, meeting, mitigation, permissions, privacy, profile, registry, retrain, review, scorecard, scoring, training,
                  usecases)
from core.config import redact
from core.errors import AssayError, InputError
from core.lake import Lake
from core.names import parse_dataset_ref


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage text and exit 2
        raise InputError(f"{message} (see `{self.prog} --help`)")


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


_AS: dict = {"user": None}


def _actor() -> str:
    """The named account (--as USER), or the local administrator ("local:OSUSER")."""
    if _AS["user"]:
        return _AS["user"]
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local"


def _sign_in(lake: Lake, args) -> Optional[str]:
    """The account named by --as (or an API token), proven by its credential once accounts exist: a password on
    standard input (--password-stdin, or typed at a terminal), or a token (ASSAY_TOKEN, --token-stdin). Every
    refusal is audited; None means the local administrator."""
    import os

    name = args.as_user
    token = sys.stdin.readline().strip() if args.token_stdin else os.environ.get("ASSAY_TOKEN", "").strip()
    if args.password_stdin and not name:
        raise InputError("--password-stdin signs in as the account named by --as NAME.")
    if name:
        try:
            accounts.get(lake, name)
        except AssayError as unknown:
            permissions.record_denial(lake, name, "sign-in", "--as names no account", details={"credential": "none"})
            raise permissions.PermissionDenied(f"{unknown} `--as` names an account, proven by its password or token.") \
                from None
    if token:
        return accounts.authenticate_token(lake, token, name=name).name
    if not name:
        return None
    if args.password_stdin or (sys.stdin is not None and sys.stdin.isatty()):
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"Password for {name}: ")
        return accounts.authenticate(lake, name, password).name
    permissions.record_denial(lake, name, "sign-in", "--as without a credential", details={"credential": "none"})
    raise permissions.PermissionDenied(
        f"Acting as {name} needs its credential: the password on standard input (--password-stdin) or an API token "
        "(ASSAY_TOKEN or --token-stdin; an admin issues one with `python -m core users token NAME`).")


def cmd_users(lake: Lake, args) -> dict:
    if args.action in (None, "list"):
        return {"users": [{**a.__dict__, "signoff_roles": accounts.signoff_roles(lake, a.name),
                           "locked": accounts.sign_in_state(lake, a.name)["locked"]}
                          for a in accounts.list_accounts(lake)], "single_user": accounts.single_user(lake)}
    if args.action == "policy":
        if args.lock_after is None and args.backoff_seconds is None:
            return accounts.sign_in_policy(lake)
        return accounts.set_sign_in_policy(lake, actor=_actor(), lock_after=args.lock_after,
                                           backoff_seconds=args.backoff_seconds)
    if not args.name:
        raise InputError(f"Name the account: users {args.action} NAME.")
    if args.action in ("grant", "revoke"):
        if not args.signoff_role:
            raise InputError(f"Name the sign-off role: users {args.action} NAME --signoff-role ROLE.")
        change = accounts.grant_signoff_role if args.action == "grant" else accounts.revoke_signoff_role
        return {"name": args.name, "signoff_roles": change(lake, args.name, args.signoff_role, actor=_actor())}
    if args.action == "token":
        return accounts.issue_token(lake, args.name, actor=_actor())
    if args.action == "unlock":
        return accounts.unlock(lake, args.name, actor=_actor())
    if args.action == "add":
        if not args.role:
            raise InputError("Give the role: users add NAME --role viewer|analyst|approver|admin.")
        password = None
        if not args.oidc:
            password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        return accounts.add(lake, args.name, role=args.role, actor=_actor(), password=password, oidc=args.oidc).__dict__
    if args.action == "remove":
        accounts.remove(lake, args.name, actor=_actor())
        return {"removed": args.name}
    if not args.role:
        raise InputError("Give the new role: users set-role NAME ROLE.")
    return accounts.set_role(lake, args.name, args.role, actor=_actor()).__dict__


def cmd_demo(lake: Lake, args) -> dict:
    if args.sample == "ihdp":
        version = demo.ingest_ihdp(lake, actor=_actor())
        return {"sample": "ihdp", "datasets": {"ihdp": version.ref}, "rows": version.rows}
    before = demo.state(lake)
    truths = demo.build(lake, rows=args.rows, seed=args.seed, actor=_actor(),
                        with_transactions=not args.no_transactions, progress=_progress)
    return {"sample": "credit", "usecase": demo.USECASE, **truths,
            **({"completed": before["partial"]} if before["state"] == "incomplete" else {})}


def cmd_doctor(lake: Lake, args) -> dict:
    from core import doctor

    if args.repair:
        return doctor.repair(lake, actor=_actor(), progress=_progress)
    return doctor.examine(lake)


def cmd_usecase_add(lake: Lake, args) -> dict:
    import math

    metrics = []
    for text in args.metric or []:
        name, sep, target = text.partition("=")
        try:
            metrics.append(usecases.SuccessMetric(name.strip(), float(target)))
        except ValueError:
            raise InputError(f"--metric {text!r}: write NAME=TARGET, for example roc_auc=0.75.") from None
        if not sep or not math.isfinite(metrics[-1].target):
            raise InputError(f"--metric {text!r}: write NAME=TARGET with a finite number, for example roc_auc=0.75.")
    case = usecases.add(lake, args.name, objective=args.objective, actor=_actor(), owner=args.owner,
                        stakeholders=tuple(args.stakeholder or ()), data_sources=tuple(args.source or ()),
                        success_metrics=tuple(metrics))
    return case.to_dict()


def cmd_usecases(lake: Lake, args) -> dict:
    return {"usecases": [u.to_dict() for u in usecases.list_usecases(lake)]}


def cmd_ingest(lake: Lake, args) -> dict:
    version = datasets.ingest_path(lake, args.path, name=args.name, actor=_actor(), usecase=args.usecase,
                                   table=args.table, description=args.description or "", progress=_progress)
    return version.to_dict()


def cmd_datasets(lake: Lake, args) -> dict:
    if args.name:
        return {"versions": [v.to_dict() for v in datasets.versions(lake, args.name)]}
    return {"datasets": [v.to_dict() for v in datasets.latest(lake, usecase=args.usecase)]}


def cmd_profile(lake: Lake, args) -> dict:
    version = datasets.get(lake, parse_dataset_ref(args.dataset))
    where, params, label = "true", [], "all rows"
    if args.cohort:
        cohort = cohorts.get(lake, args.cohort, usecase=args.usecase or version.usecase)
        where, params = cohorts.where_sql(cohort.conditions, version.column_names)
        label = cohort.name
    result = profile.profile(lake, version, where=where, params=params, cohort=label)
    return {"dataset": version.ref, "snapshot": version.snapshot, **result.to_dict()}


def cmd_cohorts(lake: Lake, args) -> dict:
    return {"cohorts": [c.to_dict() for c in cohorts.list_cohorts(lake, usecase=args.usecase, dataset=args.dataset)]}


def cmd_cohort_add(lake: Lake, args) -> dict:
    try:
        raw = _strict_json(args.where, "--where")
    except json.JSONDecodeError as exc:
        raise InputError(f"--where must be a JSON list of conditions ({exc}).") from None
    if not isinstance(raw, list):
        raise InputError('--where must be a JSON list such as [{"column": "age", "op": "<", "value": 30}].')
    version = datasets.get(lake, args.dataset)
    cohort = cohorts.save(lake, args.name, dataset=version.name, conditions=cohorts.conditions_from(raw),
                          actor=_actor(), usecase=args.usecase or version.usecase,
                          description=args.description or "", columns=version.column_names)
    return cohort.to_dict()


def _read_spec(path: str) -> str:
    """The spec file's text, read no further than one byte past the limit load_spec enforces."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(features.MAX_SPEC_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the spec file {path}: {getattr(exc, 'strerror', None) or exc}.") from None


def cmd_features_build(lake: Lake, args) -> dict:
    built = features.build(lake, features.load_spec(_read_spec(args.spec)), actor=_actor(), usecase=args.usecase,
                           progress=_progress)
    return {"feature_set": built.name, "version": built.version, "rows": built.rows, "columns": built.column_names,
            "snapshot": built.snapshot, "lineage": list(built.lineage)}


def cmd_features_preview(lake: Lake, args) -> dict:
    frame = features.preview(lake, features.load_spec(_read_spec(args.spec)), rows=args.rows)
    return {"rows": len(frame), "columns": list(frame.columns),
            "preview": json.loads(frame.to_json(orient="records", date_format="iso"))}


def cmd_features_list(lake: Lake, args) -> dict:
    return {"feature_sets": [{"name": f.name, "version": f.version, "usecase": f.usecase, "entity": f.entity,
                              "timestamp": f.timestamp, "label": f.label, "rows": f.rows, "features": f.features,
                              "description": f.description, "owner": f.owner, "created_at": f.created_at}
                             for f in features.latest(lake, usecase=args.usecase, search=args.search or "")]}


def cmd_features_show(lake: Lake, args) -> dict:
    version = features.get(lake, args.name)
    preview = datasets.read_frame(lake, version, limit=100)
    return {**version.to_dict(), "features": version.features,
            "preview": json.loads(preview.to_json(orient="records", date_format="iso"))}


def cmd_train(lake: Lake, args) -> dict:
    split_method, time_column = "random", None
    if args.split != "random":
        method, _, column = args.split.partition(":")
        if method != "time" or not column:
            raise InputError(f"--split {args.split!r}: use random or time:COLUMN.")
        split_method, time_column = "time", column
    algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    result = training.train(lake, target=args.target, actor=_actor(), dataset=args.dataset, feature_set=args.feature_set,
                            task=args.task, algorithms=algorithms, test_size=args.test_size, split_method=split_method,
                            time_column=time_column, sensitive=args.sensitive or (), exclude=args.exclude or (),
                            positive=args.positive, seed=args.seed, usecase=args.usecase, progress=_progress,
                            search_seconds=args.search_seconds, threshold=args.threshold)
    return result.to_dict()


def cmd_runs(lake: Lake, args) -> dict:
    return {"runs": [{"run_id": r.run_id, "algorithm": r.algorithm, "input": f"{r.input_kind}:{r.input_ref}",
                      "target": r.target, "task": r.task, "metrics": {k: v for k, v in r.metrics.items()
                                                                      if isinstance(v, (int, float))},
                      "created_by": r.created_by, "created_at": r.created_at}
                     for r in training.list_runs(lake, usecase=args.usecase)]}


def cmd_run_show(lake: Lake, args) -> dict:
    run = training.get(lake, args.run_id)
    curves = training.curves(lake, [run.run_id])
    return {**run.to_dict(), "curves": {name: len(group) for name, group in curves.groupby("curve")}}


def cmd_review(lake: Lake, args) -> dict:
    if args.action == "show":
        if not args.review_id:
            raise InputError("Name the review: `python -m core review show REVIEW_ID`.")
        shown = review.get(lake, args.review_id)
        return {**shown.to_dict(), "components": review.results(lake, shown.review_id)}
    if args.action or args.review_id:
        raise InputError(f"Unknown review action {args.action!r}: use `review --run RUN_ID` or `review show REVIEW_ID`.")
    if not args.run:
        raise InputError("Name the model to review: --run RUN_ID (`python -m core runs` lists them).")
    components = [c.strip() for c in args.components.split(",") if c.strip()]
    made = review.create(lake, run_id=args.run, actor=_actor(), dataset=args.dataset, scope=args.scope,
                         sensitive=args.sensitive, components=components, explain_rows=args.explain_rows,
                         cf_rows=args.cf_rows, cf_count=args.cf_count, treatments=args.treatments or (),
                         quasi=args.quasi or (), higher_is_better=args.higher_is_better, progress=_progress)
    results = review.results(lake, made.review_id)
    summary: dict = {}
    if "explain" in results:
        summary["explain"] = {"top_features": results["explain"]["top_features"],
                              "explained_rows": results["explain"]["explained_rows"]}
    if "errors" in results:
        summary["errors"] = {"overall_error_rate": results["errors"]["overall_error_rate"],
                             "cohorts": [{k: c[k] for k in ("filter", "error_rate", "coverage", "rows", "conditions")}
                                         for c in results["errors"]["cohorts"]]}
    if "overview" in results:
        summary["overview"] = {"overall": results["overview"]["overall"]}
    if "fairness" in results:
        summary["fairness"] = {"reports": [{k: r.get(k) for k in ("sensitive", "disparities", "four_fifths", "summary")}
                                           for r in results["fairness"]["reports"]],
                               **({"note": results["fairness"]["note"]} if "note" in results["fairness"] else {})}
    if "counterfactuals" in results:
        found = results["counterfactuals"]
        summary["counterfactuals"] = {k: found.get(k) for k in ("counterfactuals", "rows_without", "feature_changes",
                                                                 "rows_per_second", "note") if k in found}
        summary["counterfactuals"]["rows"] = len(found["rows"])
    if "causal" in results:
        summary["causal"] = [{k: e[k] for k in ("treatment", "outcome", "method", "ate", "ci_low", "ci_high", "p_value",
                                                "naive_difference", "overlap", "placebo", "warnings", "higher_is_better",
                                                "policy")}
                             for e in results["causal"]["effects"]]
        for entry in summary["causal"]:
            entry["overlap"] = {k: v for k, v in entry["overlap"].items() if k != "histogram"}
    if "privacy" in results:
        summary["privacy"] = {k: v for k, v in results["privacy"].items() if k not in ("dataset",)}
    return {"review_id": made.review_id, "run_id": made.run_id, "dataset": made.dataset_ref, "scope": made.scope,
            "rows": made.rows, "components": summary, "timings": made.timings}


def cmd_reviews(lake: Lake, args) -> dict:
    return {"reviews": [{"review_id": r.review_id, "run_id": r.run_id, "dataset": r.dataset_ref, "scope": r.scope,
                         "rows": r.rows, "components": r.components, "timings": r.timings,
                         "created_by": r.created_by, "created_at": r.created_at}
                        for r in review.list_reviews(lake, usecase=args.usecase, run_id=args.run)]}


def cmd_fairness(lake: Lake, args) -> dict:
    reference = None
    if args.reference:
        try:
            reference = _strict_json(args.reference, "--reference")
        except json.JSONDecodeError:
            reference = None
        if not isinstance(reference, dict):
            raise InputError('--reference takes a JSON object, such as \'{"race_ethnicity": "Group A"}\'.')
    if args.run:
        if args.label or args.prediction or args.score:
            raise InputError("With --run the model makes the predictions: drop --label, --prediction and --score.")
        result = fairness.for_run(lake, args.run, sensitive=args.sensitive, dataset=args.dataset,
                                  threshold=training.decision_threshold(training.get(lake, args.run))
                                  if args.threshold is None else args.threshold, reference=reference,
                                  n_boot=args.bootstrap)
    else:
        if not args.dataset or not args.label:
            raise InputError("Audit mode needs --dataset NAME[@V] and --label COL (or --run RUN_ID for a model).")
        result = fairness.audit(lake, args.dataset, label=args.label, sensitive=args.sensitive,
                                prediction=args.prediction, score=args.score, threshold=args.threshold,
                                positive=args.positive, reference=reference, n_boot=args.bootstrap)
    return result.to_dict()


def cmd_counterfactuals(lake: Lake, args) -> dict:
    permitted = None
    if args.ranges:
        try:
            permitted = _strict_json(args.ranges, "--ranges")
        except json.JSONDecodeError:
            permitted = None
        if not isinstance(permitted, dict):
            raise InputError('--ranges takes a JSON object, such as \'{"income": [20000, 90000]}\'.')
    return counterfactuals.for_run(
        lake, args.run, row_ids=_split(args.rows) if args.rows else None, cohort=args.cohort, rows=args.first,
        count=args.count, vary=_split(args.vary) if args.vary else None, permitted=permitted,
        desired_class=args.desired_class or "opposite", desired_range=args.range, method=args.method,
        seed=args.seed, progress=_progress)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def cmd_causal(lake: Lake, args) -> dict:
    result = causal.analyse(lake, args.dataset, treatment=args.treatment, outcome=args.outcome,
                            confounders=args.confounders, heterogeneity=args.heterogeneity, method=args.method,
                            outcome_class=args.outcome_class, treated_value=args.treated, exclude=args.exclude or (),
                            treatment_cost=args.cost, higher_is_better=not args.lower_is_better, seed=args.seed,
                            progress=_progress)
    result["overlap"] = {k: v for k, v in result["overlap"].items() if k != "histogram"}
    result["individual"] = {k: v for k, v in result["individual"].items() if k != "sample"}
    return result


def cmd_privacy(lake: Lake, args) -> dict:
    return privacy.assess(lake, args.dataset, quasi=args.quasi or (), sensitive=args.sensitive, k=args.k,
                          run_id=args.run)


def cmd_register(lake: Lake, args) -> dict:
    thresholds = _json_arg(args.gate, "--gate", '{"roc_auc": {"min_absolute": 0.01, "min_relative": 0}}')
    version = registry.register(lake, args.run, name=args.name, actor=_actor(), alias=args.alias,
                                review_id=args.review, description=args.description or "", owners=tuple(args.owner or ()),
                                thresholds=thresholds)
    return {"name": version.name, "version": version.version, "aliases": list(version.aliases), "gate": version.gate,
            "review_id": version.review_id, "artifact_sha256": version.artifact_sha256}


def _json_arg(text: Optional[str], flag: str, example: str) -> Optional[dict]:
    if not text:
        return None
    try:
        value = _strict_json(text, flag)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InputError(f"{flag} takes a JSON object, such as '{example}'.")
    return value


def cmd_promote(lake: Lake, args) -> dict:
    return registry.promote(lake, args.model, alias=args.alias, actor=_actor(), override_reason=args.override_reason)


def cmd_signoff(lake: Lake, args) -> dict:
    return registry.signoff(lake, args.model, decision=args.decision, comment=args.comment, actor=_actor(),
                            role=args.role)


def cmd_models(lake: Lake, args) -> dict:
    return {"models": registry.list_models(lake, usecase=args.usecase)}


def cmd_model_show(lake: Lake, args) -> dict:
    if args.action == "threshold":
        return cmd_model_threshold(lake, args)
    version = registry.get(lake, args.model)
    return {**version.to_dict(), "approvals": registry.approval_status(lake, version.ref),
            "signoffs": registry.signoffs(lake, version.ref), "lineage": registry.lineage(lake, version.ref)}


def cmd_model_threshold(lake: Lake, args) -> dict:
    if args.threshold is None:
        raise InputError("Give the new decision threshold: --threshold 0.3 (and --reason TEXT).")
    return registry.set_threshold(lake, args.model, args.threshold, actor=_actor(), reason=args.reason or "")


def cmd_scorecard(lake: Lake, args) -> dict:
    return scorecard.export(lake, args.model, args.out, force=args.force)


def cmd_card(lake: Lake, args) -> dict:
    fields = _json_arg(args.fields, "--set", '{"intended_use": "Pre-screening of applications", "targets": {"roc_auc": {"min": 0.8}}}')
    if not fields:
        raise InputError('Give the card fields to change: --set JSON, such as \'{"limitations": "..."}\'.')
    return registry.update_card(lake, args.model, fields, actor=_actor()).to_dict()["card"]


def cmd_audit(lake: Lake, args) -> dict:
    if (args.out and args.action != "anchor") or (args.anchor and args.action != "verify"):
        raise InputError("--out goes with `audit anchor`, --anchor FILE with `audit verify`.")
    if args.action == "anchor":
        mark = audit.anchor(lake)
        if args.out:
            from core import outputs

            written = outputs.write_output(args.out, (json.dumps(mark, indent=2) + "\n").encode("utf-8"), lake=lake)
            return {**mark, "out": str(written)}
        return mark
    if args.action == "verify":
        return audit.verify(lake, anchor=audit.read_anchor(args.anchor) if args.anchor else None)
    return {"entries": audit.entries(lake, limit=args.limit, action=args.only, obj=args.object)}


def cmd_score(lake: Lake, args) -> dict:
    job = scoring.score(lake, args.model, actor=_actor(), dataset=args.dataset, path=args.path, entity=args.entity,
                        engine=args.engine, scheduler=args.scheduler, batch_rows=args.batch_rows, output=args.output,
                        progress=_progress)
    name, _, number = job.output.partition("@")
    return {**job.to_dict(), "output": name, "version": int(number)}


def cmd_jobs(lake: Lake, args) -> dict:
    return {"jobs": [j.to_dict() for j in scoring.jobs(lake, usecase=args.usecase, model=args.model, limit=args.limit)]}


def cmd_drift(lake: Lake, args) -> dict:
    current = args.current or args.dataset
    if not current:
        raise InputError("Name the batch to check: --current NAME[@V].")
    return drift.report(lake, args.model, dataset=current, reference=args.reference, actor=_actor(), labels=args.labels,
                        entity=args.entity, method=args.method, drift_share=args.share)


def cmd_retrain(lake: Lake, args) -> dict:
    return retrain.retrain(lake, args.model, actor=_actor(), dataset=args.dataset, progress=_progress)


def cmd_serve(lake: Lake, args) -> dict:
    from core import serve

    with identity.using("endpoint", process=True):  # its server threads write as the endpoint
        serve.run(lake, args.model, port=args.port, actor=_actor())
    return {"served": args.model, "port": args.port, "stopped": True}


def cmd_findings(lake: Lake, args) -> dict:
    return {"review_id": args.review_id, "findings": findings.list_findings(lake, args.review_id)}


def cmd_report(lake: Lake, args) -> dict:
    return meeting.export(lake, args.review_id, args.out, force=args.force)


def cmd_mitigate(lake: Lake, args) -> dict:
    result = mitigation.mitigate(lake, args.run, sensitive=args.sensitive, method=args.method,
                                 constraint=args.constraint, eps=args.eps, actor=_actor(), progress=_progress)
    return result.to_dict()


def _strict_json(text: str, flag: str) -> Any:
    """json.loads that refuses NaN and Infinity (Python's json accepts them; no range or threshold can use them)."""
    def refuse(constant: str) -> None:
        raise InputError(f"{flag}: {constant} is not a number a range or threshold can use; give finite numbers.")
    return json.loads(text, parse_constant=refuse)


# Sane bounds of the numeric options, checked after parsing (argparse checks only the type): option -> (low, high).
# A value outside (or NaN/Infinity in any float option) is refused with the option's name and its range.
_BOUNDS: dict[str, tuple[float, float]] = {
    "seed": (0, 2**32 - 1), "test_size": (0.01, 0.99), "train.threshold": (0.0, 1.0), "search_seconds": (0, 86_400),
    "cf_rows": (1, 100_000), "cf_count": (1, 50), "explain_rows": (1, 10_000_000), "bootstrap": (0, 10_000),
    "eps": (0.000001, 1.0), "first": (1, 100_000), "count": (1, 50), "cost": (-1e12, 1e12), "k": (2, 1_000_000),
    "batch_rows": (1_000, 10_000_000), "limit": (1, 100_000), "share": (0.000001, 1.0), "port": (1, 65_535),
}


def _check_bounds(args: argparse.Namespace) -> None:
    import math

    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            flag = "-k" if name == "k" else "--" + name.replace("_", "-")
            if isinstance(item, float) and not math.isfinite(item):
                raise InputError(f"{flag}: {item} is not a finite number.")
            bounds = _BOUNDS.get(f"{getattr(args, 'command', '')}.{name}") or _BOUNDS.get(name)
            if bounds:
                low, high = bounds
                if not low <= item <= high:
                    whole = isinstance(item, int)
                    raise InputError(f"{flag} must be {'a whole number ' if whole else ''}from {low:,} to {high:,}, "
                                     f"not {item:,}.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Assay: responsible-AI review over a DuckDB lake.")
    parser.add_argument("--lake", help="folder of the lake (default: $ASSAY_LAKE or data/lake)")
    parser.add_argument("--as", dest="as_user", metavar="USER",
                        help="act as this account, proven by its credential (default: the local administrator)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="with --as: read the account's password from the first line of standard input")
    parser.add_argument("--token-stdin", action="store_true",
                        help="read an API token from the first line of standard input (or set ASSAY_TOKEN)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="generate the demo data into the lake")
    p.add_argument("--rows", type=int, default=50_000, help="applications to generate (1,000 to 10,000,000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--sample", choices=["credit", "ihdp"], default="credit")
    p.add_argument("--no-transactions", action="store_true", help="skip the transactions table")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("usecase", help="manage use cases")
    usub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    a = usub.add_parser("add", help="create a use case")
    a.add_argument("name")
    a.add_argument("--objective", required=True)
    a.add_argument("--owner")
    a.add_argument("--stakeholder", action="append")
    a.add_argument("--source", action="append", help="a data source the use case needs")
    a.add_argument("--metric", action="append", help="success metric with target, NAME=TARGET")
    a.set_defaults(handler=cmd_usecase_add)

    p = sub.add_parser("usecases", help="list use cases")
    p.set_defaults(handler=cmd_usecases)

    p = sub.add_parser("ingest", help="ingest a CSV, Parquet, JSON lines or DuckDB file as a new dataset version")
    p.add_argument("path")
    p.add_argument("--name", required=True)
    p.add_argument("--usecase", default="default")
    p.add_argument("--table", help="table to ingest from a DuckDB file")
    p.add_argument("--description")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("datasets", help="list datasets (newest versions), or the versions of one")
    p.add_argument("name", nargs="?")
    p.add_argument("--usecase")
    p.set_defaults(handler=cmd_datasets)

    p = sub.add_parser("profile", help="profile a dataset version: rows, types, missing values, statistics")
    p.add_argument("dataset", metavar="NAME[@VERSION]")
    p.add_argument("--cohort", help="profile only the rows of this saved cohort")
    p.add_argument("--usecase")
    p.set_defaults(handler=cmd_profile)

    p = sub.add_parser("cohorts", help="list saved cohorts")
    p.add_argument("--usecase")
    p.add_argument("--dataset")
    p.set_defaults(handler=cmd_cohorts)

    p = sub.add_parser("cohort", help="manage cohorts")
    csub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    a = csub.add_parser("add", help="save a cohort: a filter over a dataset")
    a.add_argument("name")
    a.add_argument("--dataset", required=True)
    a.add_argument("--where", required=True, help='JSON list, e.g. [{"column": "age", "op": "<", "value": 30}]')
    a.add_argument("--usecase")
    a.add_argument("--description")
    a.set_defaults(handler=cmd_cohort_add)

    p = sub.add_parser("features", help="build, list and show feature sets")
    fsub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    a = fsub.add_parser("build", help="build and register a feature set from a YAML or JSON spec")
    a.add_argument("spec", metavar="SPEC_FILE")
    a.add_argument("--usecase", help="use case (default: the spec's, else the base dataset's)")
    a.set_defaults(handler=cmd_features_build)
    a = fsub.add_parser("preview", help="the first rows of a spec's feature set, computed live (bounded; any role)")
    a.add_argument("spec", metavar="SPEC_FILE")
    a.add_argument("--rows", type=int, default=100, help="rows to compute (1 to 1,000)")
    a.set_defaults(handler=cmd_features_preview)
    a = fsub.add_parser("list", help="newest version of each feature set")
    a.add_argument("--usecase")
    a.add_argument("--search", help="text to find in names, descriptions, owners and features")
    a.set_defaults(handler=cmd_features_list)
    a = fsub.add_parser("show", help="spec, lineage, statistics and the first 100 rows")
    a.add_argument("name", metavar="NAME[@VERSION]")
    a.set_defaults(handler=cmd_features_show)

    p = sub.add_parser("train", help="train models on a dataset or feature set; every run is tracked")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", metavar="NAME[@V]")
    source.add_argument("--feature-set", metavar="NAME[@V]")
    p.add_argument("--target", required=True)
    p.add_argument("--task", choices=["binary", "multiclass", "regression", "timeseries"])
    p.add_argument("--algorithms", default="logistic,lightgbm", help=f"comma-separated: {','.join(training.ALGORITHMS)}")
    p.add_argument("--test-size", type=float, default=0.3)
    p.add_argument("--split", default="random", help="random or time:COLUMN")
    p.add_argument("--sensitive", nargs="+", metavar="COL", help="kept out of the model, kept for the review")
    p.add_argument("--exclude", nargs="+", metavar="COL")
    p.add_argument("--positive", help="the positive class of a binary target")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threshold", type=float, default=0.5,
                   help="binary: score at or above which the positive class is predicted (confusion matrix, F1...)")
    p.add_argument("--search-seconds", type=float, default=0.0,
                   help="time budget for a hyperparameter search, shared by the algorithms (0: defaults)")
    p.add_argument("--usecase")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("runs", help="list training runs")
    p.add_argument("--usecase")
    p.set_defaults(handler=cmd_runs)

    p = sub.add_parser("run", help="training runs")
    rsub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    a = rsub.add_parser("show", help="everything recorded about one run")
    a.add_argument("run_id")
    a.set_defaults(handler=cmd_run_show)

    p = sub.add_parser("review", help="review a model (--run RUN_ID), or show a review (show REVIEW_ID)")
    p.add_argument("action", nargs="?", metavar="show")
    p.add_argument("review_id", nargs="?")
    p.add_argument("--run", metavar="RUN_ID")
    p.add_argument("--dataset", metavar="NAME@V", help="evaluation dataset (default: the run's input)")
    p.add_argument("--scope", choices=["test", "all"], help="the run's held-out rows (default on its input) or all rows")
    p.add_argument("--sensitive", nargs="+", metavar="COL", help="default: the run's sensitive columns")
    p.add_argument("--components", default=",".join(review.DEFAULT_COMPONENTS),
                   help="comma-separated, from: " + ",".join(review.COMPONENTS))
    p.add_argument("--cf-rows", type=int, default=100, help="counterfactuals: held-out rows (a seeded sample)")
    p.add_argument("--cf-count", type=int, default=5, help="counterfactuals per row")
    p.add_argument("--treatments", nargs="+", metavar="COL", help="causal: treatment column(s); outcome: the target")
    p.add_argument("--quasi", nargs="+", metavar="COL", help="privacy: quasi-identifiers for k-anonymity")
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--higher-is-better", dest="higher_is_better", action="store_const", const=True,
                           help="causal (required with it): a higher outcome is the good one")
    direction.add_argument("--lower-is-better", dest="higher_is_better", action="store_const", const=False,
                           help="causal (required with it): a lower outcome is the good one (e.g. default)")
    p.add_argument("--explain-rows", type=int, default=100_000,
                   help="explain at most this many rows (a seeded sample above it); errors use every row")
    p.set_defaults(handler=cmd_review)

    p = sub.add_parser("fairness", help="group metrics, disparities and the four-fifths rule (a model, or stored predictions)")
    p.add_argument("--run", metavar="RUN_ID", help="a binary model; default rows: its held-out rows")
    p.add_argument("--dataset", metavar="NAME[@V]")
    p.add_argument("--label", help="audit mode: the true outcome column")
    p.add_argument("--prediction", help="audit mode: the predicted class column")
    p.add_argument("--score", help="audit mode: a score column, with --threshold")
    p.add_argument("--threshold", type=float, help="a score at or above it is a positive prediction")
    p.add_argument("--positive", help="the positive label value (audit mode)")
    p.add_argument("--sensitive", nargs="+", required=True, metavar="COL")
    p.add_argument("--reference", help='reference group for the four-fifths rule, JSON: {"col": "value"}')
    p.add_argument("--bootstrap", type=int, default=100, help="bootstrap resamples for intervals (0: none)")
    p.set_defaults(handler=cmd_fairness)

    p = sub.add_parser("mitigate", help="a fairness-mitigated copy of a binary run, saved as a new run")
    p.add_argument("--run", metavar="RUN_ID", required=True)
    p.add_argument("--sensitive", nargs="+", required=True, metavar="COL")
    p.add_argument("--method", required=True, choices=list(mitigation.METHODS),
                   help="threshold: ThresholdOptimizer (per-group thresholds); expgrad: ExponentiatedGradient (retraining)")
    p.add_argument("--constraint", required=True, choices=list(mitigation.CONSTRAINTS))
    p.add_argument("--eps", type=float, default=0.01, help="expgrad: allowed constraint violation on the training rows")
    p.set_defaults(handler=cmd_mitigate)

    p = sub.add_parser("counterfactuals", help="the smallest changes that flip a model's decision, for chosen rows")
    p.add_argument("--run", metavar="RUN_ID", required=True)
    p.add_argument("--rows", metavar="ID,ID,...", help="lake row ids of the run's input (default: held-out rows)")
    p.add_argument("--cohort", help="a saved cohort's rows instead")
    p.add_argument("--first", type=int, default=20, help="how many rows without --rows (default 20)")
    p.add_argument("--count", type=int, default=5, help="counterfactuals per row")
    p.add_argument("--vary", metavar="COL,...", help="features allowed to change (default: all but age-, sex-, race-like)")
    p.add_argument("--ranges", help='permitted ranges, JSON: {"income": [20000, 90000], "region": ["north"]}')
    p.add_argument("--desired-class", help="default: the opposite class (binary)")
    p.add_argument("--range", nargs=2, type=float, metavar=("LOW", "HIGH"), help="regression: desired prediction range")
    p.add_argument("--method", default="random", choices=list(counterfactuals.METHODS))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_counterfactuals)

    p = sub.add_parser("causal", help="the effect of a treatment column on an outcome, with overlap and placebo checks")
    p.add_argument("--dataset", metavar="NAME[@V]", required=True)
    p.add_argument("--treatment", required=True, metavar="COL")
    p.add_argument("--outcome", required=True, metavar="COL")
    p.add_argument("--confounders", nargs="+", metavar="COL", help="default: every other usable column")
    p.add_argument("--heterogeneity", nargs="+", metavar="COL", help="default: up to 6 numeric confounders")
    p.add_argument("--exclude", nargs="+", metavar="COL", help="columns never to adjust for (ids, later outcomes)")
    p.add_argument("--method", default="linear", choices=list(causal.METHODS))
    p.add_argument("--outcome-class", help="a multiclass outcome: the class to analyse")
    p.add_argument("--treated", help="the treated value of a binary treatment (default: 1/yes/true or the second)")
    p.add_argument("--cost", type=float, default=0.0, help="treatment cost per row, in outcome units (policy)")
    p.add_argument("--lower-is-better", action="store_true", help="a lower outcome is the good one (e.g. default)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_causal)

    p = sub.add_parser("privacy", help="personal data, k-anonymity and l-diversity, membership inference")
    p.add_argument("--dataset", metavar="NAME[@V]", required=True)
    p.add_argument("--quasi", nargs="+", metavar="COL", help="quasi-identifiers for k-anonymity")
    p.add_argument("--sensitive", metavar="COL", help="for l-diversity (with --quasi)")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--run", metavar="RUN_ID", help="a model trained on it: membership-inference risk")
    p.set_defaults(handler=cmd_privacy)

    p = sub.add_parser("register", help="register a run as the next version of a model (runs the gate)")
    p.add_argument("--run", metavar="RUN_ID", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--alias", default="challenger", help="alias for the new version (default challenger)")
    p.add_argument("--review", metavar="REVIEW_ID", help="default: the run's newest review")
    p.add_argument("--description")
    p.add_argument("--owner", nargs="+")
    p.add_argument("--gate", help='thresholds, JSON: {"roc_auc": {"min_absolute": 0.01, "min_relative": 0}}')
    p.set_defaults(handler=cmd_register)

    p = sub.add_parser("promote", help="move an alias (champion needs the gate and the sign-offs)")
    p.add_argument("model", metavar="NAME@VERSION")
    p.add_argument("--alias", default="champion")
    p.add_argument("--override-reason", help="promote a version that failed the gate, with the reason (audited)")
    p.set_defaults(handler=cmd_promote)

    p = sub.add_parser("signoff", help="approve or reject a model version")
    p.add_argument("model", metavar="NAME@VERSION")
    p.add_argument("--decision", required=True, choices=list(registry.DECISIONS))
    p.add_argument("--comment", required=True)
    p.add_argument("--role", required=True, help="the approval role, e.g. data_science_lead or risk_compliance")
    p.set_defaults(handler=cmd_signoff)

    p = sub.add_parser("models", help="list registered models")
    p.add_argument("--usecase")
    p.set_defaults(handler=cmd_models)

    p = sub.add_parser("model", help="show a model version: model show NAME@VERSION|NAME@ALIAS; "
                                      "model threshold NAME@VERSION --threshold T --reason TEXT")
    p.add_argument("action", choices=["show", "threshold"])
    p.add_argument("model", metavar="NAME@VERSION")
    p.add_argument("--threshold", help="threshold: the version's new decision threshold, between 0 and 1")
    p.add_argument("--reason", help="threshold: why it changes (kept in the audit trail)")
    p.set_defaults(handler=cmd_model_show)

    p = sub.add_parser("scorecard", help="the responsible-AI scorecard of a model version, as PDF or HTML")
    p.add_argument("model", metavar="NAME@VERSION")
    p.add_argument("--out", required=True, metavar="FILE.pdf|FILE.html")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (a link is never followed)")
    p.set_defaults(handler=cmd_scorecard)

    p = sub.add_parser("card", help="edit a model version's card: card NAME@VERSION --set JSON")
    p.add_argument("model", metavar="NAME@VERSION")
    p.add_argument("--set", dest="fields", required=True)
    p.set_defaults(handler=cmd_card)

    p = sub.add_parser("audit", help="the audit trail: audit verify [--anchor FILE] | audit list | audit anchor [--out FILE]")
    p.add_argument("action", choices=["verify", "list", "anchor"])
    p.add_argument("--anchor", metavar="FILE", help="verify: also check the chain still holds the entry this anchor names")
    p.add_argument("--out", metavar="FILE", help="anchor: write it to this new file (never overwritten) as well")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--only", metavar="ACTION", help="list: only this action (ingest, train, register, ...)")
    p.add_argument("--object", help="list: objects containing this text")
    p.set_defaults(handler=cmd_audit)

    p = sub.add_parser("users", help="accounts: users [list] | users add NAME --role ROLE [--oidc] | users remove NAME | "
                                     "users set-role NAME ROLE (the password is read from standard input) | "
                                     "users grant|revoke NAME --signoff-role ROLE | users token NAME | users unlock NAME | "
                                     "users policy [--lock-after N] [--backoff-seconds S]")
    p.add_argument("action", nargs="?", choices=["list", "add", "remove", "set-role", "grant", "revoke", "token",
                                                 "unlock", "policy"])
    p.add_argument("--signoff-role", metavar="ROLE", help="grant/revoke: a sign-off role, e.g. data_science_lead")
    p.add_argument("--lock-after", type=int, metavar="N", help="policy: lock an account after N failed sign-ins")
    p.add_argument("--backoff-seconds", type=float, metavar="S",
                   help="policy: the wait after the first failed sign-in (doubling with each further one)")
    p.add_argument("name", nargs="?")
    p.add_argument("role_positional", nargs="?", metavar="ROLE")
    p.add_argument("--role", choices=list(permissions.ROLES))
    p.add_argument("--oidc", action="store_true", help="an account that signs in through the OIDC provider (no password)")
    p.set_defaults(handler=cmd_users)

    p = sub.add_parser("score", help="batch-score a dataset version or a Parquet path with a registered model")
    p.add_argument("--model", required=True, metavar="NAME@ALIAS|NAME@VERSION")
    p.add_argument("--dataset", metavar="NAME[@V]")
    p.add_argument("--path", metavar="FILE.parquet|s3://...")
    p.add_argument("--entity", metavar="COL", help="the id column kept beside each prediction (default: *_id)")
    p.add_argument("--output", metavar="NAME", help="the predictions dataset (default: scores_MODEL)")
    p.add_argument("--engine", default="embedded", choices=list(scoring.ENGINES) + ["duckdb"],
                   help="embedded (DuckDB, streaming; 'duckdb' is the same) or dask")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask: a dask.distributed scheduler (default: a LocalCluster)")
    p.add_argument("--batch-rows", type=int, default=scoring.BATCH_ROWS)
    p.set_defaults(handler=cmd_score)

    p = sub.add_parser("jobs", help="scoring and endpoint jobs with their metrics")
    p.add_argument("--usecase")
    p.add_argument("--model", metavar="NAME")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(handler=cmd_jobs)

    p = sub.add_parser("drift", help="data, prediction and performance drift of a batch against the training data")
    p.add_argument("--model", required=True, metavar="NAME@ALIAS|NAME@VERSION")
    p.add_argument("--current", metavar="NAME[@V]", help="the batch (as ingested)")
    p.add_argument("--dataset", metavar="NAME[@V]", help="the same as --current")
    p.add_argument("--reference", metavar="NAME@V", help="default: the model's training rows")
    p.add_argument("--labels", metavar="NAME[@V]", help="a dataset with the outcomes, joined by --entity")
    p.add_argument("--entity", metavar="COL")
    p.add_argument("--method", default="auto", choices=list(drift.METHODS))
    p.add_argument("--share", type=float, default=0.5, help="dataset drift when at least this share of features drift")
    p.set_defaults(handler=cmd_drift)

    p = sub.add_parser("retrain", help="retrain a model on its newest data, review, register as challenger, gate")
    p.add_argument("--model", required=True, metavar="NAME")
    p.add_argument("--dataset", metavar="NAME[@V]", help="default: the newest version of the model's input")
    p.set_defaults(handler=cmd_retrain)

    p = sub.add_parser("serve", help="a real-time JSON prediction endpoint on localhost")
    p.add_argument("--model", required=True, metavar="NAME@ALIAS")
    p.add_argument("--port", type=int, default=8502)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("findings", help="a review's findings with their decisions, comments and action items")
    p.add_argument("review_id", metavar="REVIEW_ID")
    p.set_defaults(handler=cmd_findings)

    p = sub.add_parser("report", help="a review meeting's record as one self-contained HTML file")
    p.add_argument("review_id", metavar="REVIEW_ID")
    p.add_argument("--out", required=True, metavar="FILE.html")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (a link is never followed)")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("doctor", help="find what crashed jobs left (untracked files, artifacts, spool, a half-built demo)")
    p.add_argument("--repair", action="store_true",
                   help="remove it (admin; never what a running process may own) and complete a half-built demo")
    p.set_defaults(handler=cmd_doctor)

    p = sub.add_parser("reviews", help="list reviews")
    p.add_argument("--usecase")
    p.add_argument("--run", metavar="RUN_ID")
    p.set_defaults(handler=cmd_reviews)
    return parser


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
        _check_bounds(args)
        if getattr(args, "role_positional", None):
            args.role = args.role or args.role_positional
        lake = Lake.open(args.lake, sweep=args.command != "doctor")  # doctor reports leftovers before removing them
        try:
            _AS["user"] = None
            with identity.using("cli"):
                _AS["user"] = _sign_in(lake, args)  # --as needs the account's credential
                result = args.handler(lake, args)
        finally:
            lake.close()
        code = 1 if result.get("ok") is False else 0  # a check that ran and found a problem (audit verify)
    except AssayError as exc:
        result, code = {"error": str(exc)}, 2
    except duckdb.Error as exc:
        result, code = {"error": f"The lake reported an error: {str(exc).splitlines()[0][:400]}"}, 1
    except SystemExit as exc:  # --help
        if exc.code in (0, None):
            return 0
        result, code = {"error": "invalid arguments"}, 2
    except (OSError, ValueError) as exc:
        result, code = {"error": f"{type(exc).__name__}: {exc}"}, 1
    except MemoryError:  # the last line of defence: the limits in core.features and DuckDB's memory limit come first
        result, code = {"error": "Out of memory: the command needed more memory than this process may have. "
                                 "Lower ASSAY_MEMORY_LIMIT or ask for less (fewer rows or columns)."}, 1
    if code == 2 or (code == 1 and "error" in result):
        result = {"error": redact(str(result["error"]))}  # no password or key ever reaches the terminal or a log
    out.write(json.dumps(result, default=_json_default, allow_nan=False) + "\n")
    return code
