"""Commands over data: the demo, use cases, ingesting, dataset versions, profiles and cohorts."""
from __future__ import annotations

import json
import math

from core.data import cohorts, datasets, demo, profile, usecases
from core.cli._args import strict_json
from core.cli._context import Context, Parser
from core.errors import InputError
from core.names import parse_dataset_ref


def cmd_demo(ctx: Context, args) -> dict:
    if args.sample == "ihdp":
        version = demo.ingest_ihdp(ctx.lake, actor=ctx.actor)
        return {"sample": "ihdp", "datasets": {"ihdp": version.ref}, "rows": version.rows}
    before = demo.state(ctx.lake)
    truths = demo.build(ctx.lake, rows=args.rows, seed=args.seed, actor=ctx.actor,
                        with_transactions=not args.no_transactions, progress=ctx.progress)
    return {"sample": "credit", "usecase": demo.USECASE, **truths,
            **({"completed": before["partial"]} if before["state"] == "incomplete" else {})}


def cmd_usecase_add(ctx: Context, args) -> dict:
    metrics = []
    for text in args.metric or []:
        name, sep, target = text.partition("=")
        try:
            metrics.append(usecases.SuccessMetric(name.strip(), float(target)))
        except ValueError:
            raise InputError(f"--metric {text!r}: write NAME=TARGET, for example roc_auc=0.75.") from None
        if not sep or not math.isfinite(metrics[-1].target):
            raise InputError(f"--metric {text!r}: write NAME=TARGET with a finite number, for example roc_auc=0.75.")
    case = usecases.add(ctx.lake, args.name, objective=args.objective, actor=ctx.actor, owner=args.owner,
                        stakeholders=tuple(args.stakeholder or ()), data_sources=tuple(args.source or ()),
                        success_metrics=tuple(metrics))
    return case.to_dict()


def cmd_usecases(ctx: Context, args) -> dict:
    return {"usecases": [u.to_dict() for u in usecases.list_usecases(ctx.lake)]}


def cmd_ingest(ctx: Context, args) -> dict:
    version = datasets.ingest_path(ctx.lake, args.path, name=args.name, actor=ctx.actor, usecase=args.usecase,
                                   table=args.table, description=args.description or "", progress=ctx.progress)
    return version.to_dict()


def cmd_datasets(ctx: Context, args) -> dict:
    if args.name:
        return {"versions": [v.to_dict() for v in datasets.versions(ctx.lake, args.name)]}
    return {"datasets": [v.to_dict() for v in datasets.latest(ctx.lake, usecase=args.usecase)]}


def cmd_profile(ctx: Context, args) -> dict:
    version = datasets.get(ctx.lake, parse_dataset_ref(args.dataset))
    where, params, label = "true", [], "all rows"
    if args.cohort:
        cohort = cohorts.get(ctx.lake, args.cohort, usecase=args.usecase or version.usecase)
        where, params = cohorts.where_sql(cohort.conditions, version.column_names)
        label = cohort.name
    result = profile.profile(ctx.lake, version, where=where, params=params, cohort=label)
    return {"dataset": version.ref, "snapshot": version.snapshot, **result.to_dict()}


def cmd_cohorts(ctx: Context, args) -> dict:
    return {"cohorts": [c.to_dict() for c in cohorts.list_cohorts(ctx.lake, usecase=args.usecase, dataset=args.dataset)]}


def cmd_cohort_add(ctx: Context, args) -> dict:
    try:
        raw = strict_json(args.where, "--where")
    except json.JSONDecodeError as exc:
        raise InputError(f"--where must be a JSON list of conditions ({exc}).") from None
    if not isinstance(raw, list):
        raise InputError('--where must be a JSON list such as [{"column": "age", "op": "<", "value": 30}].')
    version = datasets.get(ctx.lake, args.dataset)
    cohort = cohorts.save(ctx.lake, args.name, dataset=version.name, conditions=cohorts.conditions_from(raw),
                          actor=ctx.actor, usecase=args.usecase or version.usecase,
                          description=args.description or "", columns=version.column_names)
    return cohort.to_dict()


def register(sub) -> None:
    p = sub.add_parser("demo", help="generate the demo data into the lake")
    p.add_argument("--rows", type=int, default=50_000, help="applications to generate (1,000 to 10,000,000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--sample", choices=["credit", "ihdp"], default="credit")
    p.add_argument("--no-transactions", action="store_true", help="skip the transactions table")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("usecase", help="manage use cases")
    usub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
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
    csub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    a = csub.add_parser("add", help="save a cohort: a filter over a dataset")
    a.add_argument("name")
    a.add_argument("--dataset", required=True)
    a.add_argument("--where", required=True, help='JSON list, e.g. [{"column": "age", "op": "<", "value": 30}]')
    a.add_argument("--usecase")
    a.add_argument("--description")
    a.set_defaults(handler=cmd_cohort_add)
