"""Commands over training: train, list and show runs, and fairness-mitigated copies."""
from __future__ import annotations

from core import training
from core.analysis import mitigation
from core.cli._context import Context, Parser
from core.errors import InputError


def cmd_train(ctx: Context, args) -> dict:
    split_method, time_column = "random", None
    if args.split != "random":
        method, _, column = args.split.partition(":")
        if method != "time" or not column:
            raise InputError(f"--split {args.split!r}: use random or time:COLUMN.")
        split_method, time_column = "time", column
    algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    result = training.train(ctx.lake, target=args.target, actor=ctx.actor, dataset=args.dataset, feature_set=args.feature_set,
                            task=args.task, algorithms=algorithms, test_size=args.test_size, split_method=split_method,
                            time_column=time_column, sensitive=args.sensitive or (), exclude=args.exclude or (),
                            positive=args.positive, seed=args.seed, usecase=args.usecase, progress=ctx.progress,
                            search_seconds=args.search_seconds, threshold=args.threshold)
    return result.to_dict()


def cmd_runs(ctx: Context, args) -> dict:
    return {"runs": [{"run_id": r.run_id, "algorithm": r.algorithm, "input": f"{r.input_kind}:{r.input_ref}",
                      "target": r.target, "task": r.task, "metrics": {k: v for k, v in r.metrics.items()
                                                                      if isinstance(v, (int, float))},
                      "created_by": r.created_by, "created_at": r.created_at}
                     for r in training.list_runs(ctx.lake, usecase=args.usecase)]}


def cmd_run_show(ctx: Context, args) -> dict:
    run = training.get(ctx.lake, args.run_id)
    curves = training.curves(ctx.lake, [run.run_id])
    return {**run.to_dict(), "curves": {name: len(group) for name, group in curves.groupby("curve")}}


def cmd_mitigate(ctx: Context, args) -> dict:
    result = mitigation.mitigate(ctx.lake, args.run, sensitive=args.sensitive, method=args.method,
                                 constraint=args.constraint, eps=args.eps, actor=ctx.actor, progress=ctx.progress)
    return result.to_dict()


def register(sub) -> None:
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
    rsub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    a = rsub.add_parser("show", help="everything recorded about one run")
    a.add_argument("run_id")
    a.set_defaults(handler=cmd_run_show)

    p = sub.add_parser("mitigate", help="a fairness-mitigated copy of a binary run, saved as a new run")
    p.add_argument("--run", metavar="RUN_ID", required=True)
    p.add_argument("--sensitive", nargs="+", required=True, metavar="COL")
    p.add_argument("--method", required=True, choices=list(mitigation.METHODS),
                   help="threshold: ThresholdOptimizer (per-group thresholds); expgrad: ExponentiatedGradient (retraining)")
    p.add_argument("--constraint", required=True, choices=list(mitigation.CONSTRAINTS))
    p.add_argument("--eps", type=float, default=0.01, help="expgrad: allowed constraint violation on the training rows")
    p.set_defaults(handler=cmd_mitigate)
