"""Commands for monitoring without labels: `monitor` (estimated and realized performance, multivariate and
per-feature drift per chunk, alerts), the stored reports, the webhook, and retraining from an alert."""
from __future__ import annotations

from core import monitoring
from core.cli._args import split
from core.cli._context import Context


def cmd_monitor(ctx: Context, args) -> dict:
    return monitoring.monitor(ctx.lake, args.model, current=args.current, actor=ctx.actor, chunk_size=args.chunk_size,
                              timestamp=args.timestamp, chunk_period=args.chunk_period, labels=args.labels,
                              entity=args.entity, metrics=split(args.metrics) if args.metrics else None,
                              method=args.method, progress=ctx.progress)


def cmd_monitor_reports(ctx: Context, args) -> dict:
    if args.report:
        return monitoring.get(ctx.lake, args.report)
    return {"reports": monitoring.reports(ctx.lake, model=args.model, usecase=args.usecase, limit=args.limit)}


def cmd_monitor_webhook(ctx: Context, args) -> dict:
    return monitoring.set_webhook(ctx.lake, None if args.clear else args.url, actor=ctx.actor)


def cmd_monitor_retrain(ctx: Context, args) -> dict:
    return monitoring.retrain_from_alert(ctx.lake, args.alert, actor=ctx.actor, dataset=args.dataset,
                                         progress=ctx.progress)


def register(sub) -> None:
    p = sub.add_parser("monitor", help="estimated (CBPE, DLE) and realized performance, multivariate drift and alerts "
                                       "per chunk of a scored set")
    p.add_argument("--model", required=True, metavar="NAME@ALIAS|NAME@VERSION")
    p.add_argument("--current", required=True, metavar="NAME[@V]", help="the data the model now sees")
    p.add_argument("--timestamp", metavar="COL", help="with --chunk-period: the DATE or TIMESTAMP column")
    p.add_argument("--chunk-period", choices=list(monitoring.PERIODS))
    p.add_argument("--chunk-size", type=int, metavar="N", help=f"rows per chunk (at least {monitoring.MIN_CHUNK_ROWS})")
    p.add_argument("--labels", metavar="NAME@V", help="outcomes that have arrived, joined by --entity")
    p.add_argument("--entity", metavar="COL")
    p.add_argument("--metrics", metavar="roc_auc,accuracy,...", help="default: every metric of the method")
    p.add_argument("--method", default="auto", choices=list(monitoring.METHODS),
                   help="auto: CBPE for classifiers, DLE for regressors; realized: labelled rows only")
    p.set_defaults(handler=cmd_monitor)

    p = sub.add_parser("monitor-reports", help="stored monitoring reports (one in full with --report ID)")
    p.add_argument("--report", metavar="ID")
    p.add_argument("--model", metavar="NAME")
    p.add_argument("--usecase")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(handler=cmd_monitor_reports)

    p = sub.add_parser("monitor-webhook", help="the URL told (POST, JSON) about monitoring alerts (admin)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--url", metavar="http(s)://...")
    group.add_argument("--clear", action="store_true")
    p.set_defaults(handler=cmd_monitor_webhook)

    p = sub.add_parser("monitor-retrain", help="retrain the model of an alert: review, challenger, gate")
    p.add_argument("--alert", required=True, metavar="ALERT_ID")
    p.add_argument("--dataset", metavar="NAME[@V]", help="default: the newest version of the model's input")
    p.set_defaults(handler=cmd_monitor_retrain)
