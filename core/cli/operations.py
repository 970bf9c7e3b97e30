"""Commands for models in service: batch scoring, jobs, drift, retraining and the endpoint."""
from __future__ import annotations

from core.lake import identity
from core.operations import drift, retrain, scoring
from core.cli._context import Context
from core.errors import InputError


def cmd_score(ctx: Context, args) -> dict:
    job = scoring.score(ctx.lake, args.model, actor=ctx.actor, dataset=args.dataset, path=args.path, entity=args.entity,
                        engine=args.engine, scheduler=args.scheduler, batch_rows=args.batch_rows, output=args.output,
                        progress=ctx.progress)
    name, _, number = job.output.partition("@")
    return {**job.to_dict(), "output": name, "version": int(number)}


def cmd_jobs(ctx: Context, args) -> dict:
    return {"jobs": [j.to_dict() for j in scoring.jobs(ctx.lake, usecase=args.usecase, model=args.model, limit=args.limit)]}


def cmd_drift(ctx: Context, args) -> dict:
    current = args.current or args.dataset
    if not current:
        raise InputError("Name the batch to check: --current NAME[@V].")
    return drift.report(ctx.lake, args.model, dataset=current, reference=args.reference, actor=ctx.actor, labels=args.labels,
                        entity=args.entity, method=args.method, drift_share=args.share)


def cmd_retrain(ctx: Context, args) -> dict:
    return retrain.retrain(ctx.lake, args.model, actor=ctx.actor, dataset=args.dataset, progress=ctx.progress)


def cmd_serve(ctx: Context, args) -> dict:
    from core.operations import serve

    with identity.using("endpoint", process=True):  # its server threads write as the endpoint
        serve.run(ctx.lake, args.model, port=args.port, actor=ctx.actor)
    return {"served": args.model, "port": args.port, "stopped": True}


def register(sub) -> None:
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
