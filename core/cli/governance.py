"""Commands of governance: register, promote, sign off, model cards, scorecards, findings and meeting reports."""
from __future__ import annotations

from core.governance import findings, meeting, registry, scorecard
from core.cli._args import json_arg
from core.cli._context import Context
from core.errors import InputError


def cmd_register(ctx: Context, args) -> dict:
    thresholds = json_arg(args.gate, "--gate", '{"roc_auc": {"min_absolute": 0.01, "min_relative": 0}}')
    version = registry.register(ctx.lake, args.run, name=args.name, actor=ctx.actor, alias=args.alias,
                                review_id=args.review, description=args.description or "", owners=tuple(args.owner or ()),
                                thresholds=thresholds)
    return {"name": version.name, "version": version.version, "aliases": list(version.aliases), "gate": version.gate,
            "review_id": version.review_id, "artifact_sha256": version.artifact_sha256}


def cmd_promote(ctx: Context, args) -> dict:
    return registry.promote(ctx.lake, args.model, alias=args.alias, actor=ctx.actor, override_reason=args.override_reason)


def cmd_signoff(ctx: Context, args) -> dict:
    return registry.signoff(ctx.lake, args.model, decision=args.decision, comment=args.comment, actor=ctx.actor,
                            role=args.role)


def cmd_models(ctx: Context, args) -> dict:
    return {"models": registry.list_models(ctx.lake, usecase=args.usecase)}


def cmd_model_show(ctx: Context, args) -> dict:
    if args.action == "threshold":
        return cmd_model_threshold(ctx, args)
    version = registry.get(ctx.lake, args.model)
    return {**version.to_dict(), "approvals": registry.approval_status(ctx.lake, version.ref),
            "signoffs": registry.signoffs(ctx.lake, version.ref), "lineage": registry.lineage(ctx.lake, version.ref)}


def cmd_model_threshold(ctx: Context, args) -> dict:
    if args.threshold is None:
        raise InputError("Give the new decision threshold: --threshold 0.3 (and --reason TEXT).")
    return registry.set_threshold(ctx.lake, args.model, args.threshold, actor=ctx.actor, reason=args.reason or "")


def cmd_scorecard(ctx: Context, args) -> dict:
    return scorecard.export(ctx.lake, args.model, args.out, force=args.force)


def cmd_card(ctx: Context, args) -> dict:
    fields = json_arg(args.fields, "--set", '{"intended_use": "Pre-screening of applications", "targets": {"roc_auc": {"min": 0.8}}}')
    if not fields:
        raise InputError('Give the card fields to change: --set JSON, such as \'{"limitations": "..."}\'.')
    return registry.update_card(ctx.lake, args.model, fields, actor=ctx.actor).to_dict()["card"]


def cmd_findings(ctx: Context, args) -> dict:
    return {"review_id": args.review_id, "findings": findings.list_findings(ctx.lake, args.review_id)}


def cmd_report(ctx: Context, args) -> dict:
    return meeting.export(ctx.lake, args.review_id, args.out, force=args.force)


def register(sub) -> None:
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

    p = sub.add_parser("findings", help="a review's findings with their decisions, comments and action items")
    p.add_argument("review_id", metavar="REVIEW_ID")
    p.set_defaults(handler=cmd_findings)

    p = sub.add_parser("report", help="a review meeting's record as one self-contained HTML file")
    p.add_argument("review_id", metavar="REVIEW_ID")
    p.add_argument("--out", required=True, metavar="FILE.html")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (a link is never followed)")
    p.set_defaults(handler=cmd_report)
