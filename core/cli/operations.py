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

    options = serve.Options(max_batch_rows=args.max_batch_rows, max_wait_ms=args.max_wait_ms,
                            workers=serve.Options().workers if args.workers is None else args.workers,
                            max_body_bytes=args.max_body_bytes,
                            allowed_hosts=tuple(args.allowed_host or ()), cors_origins=tuple(args.cors_origin or ()),
                            flush_seconds=args.flush_seconds)
    with identity.using("endpoint", process=True):  # its server threads write as the endpoint
        summary = serve.run(ctx.lake, args.model, port=args.port, actor=ctx.actor, host=args.host, options=options)
    return {"served": args.model, "port": args.port, "stopped": True, **summary}


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
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--max-batch-rows", type=int, default=256, metavar="N",
                   help="rows predicted together at most, from requests that arrive together (default 256)")
    p.add_argument("--max-wait-ms", type=float, default=0.0, metavar="MS",
                   help="how long a batch waits for more requests when a worker is free (default 0: it goes at once; "
                        "batches form from the requests that queued while every worker was busy)")
    p.add_argument("--workers", type=int, metavar="N", help="prediction threads (default: one per core)")
    p.add_argument("--max-body-bytes", type=int, default=4 * 2**20, metavar="BYTES",
                   help="larger request bodies are refused with 413 (default 4 MiB)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a further Host name the endpoint answers to (repeatable; default: the bind address and "
                        "localhost); '*' answers to any")
    p.add_argument("--cors-origin", action="append", metavar="ORIGIN",
                   help="a web origin allowed to call it from a browser (repeatable; default: none, CORS off)")
    p.add_argument("--flush-seconds", type=float, default=10.0, metavar="S",
                   help="how often statistics are written to the lake (default 10)")
    p.set_defaults(handler=cmd_serve)
