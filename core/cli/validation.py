"""The validation suite from the command line: `checks --run RUN_ID [--dataset NAME@V] [--sensitive COL ...]
[--only NAME,...]` prints every check's status, severity, summary, evidence and conditions, with the counts."""
from __future__ import annotations

from core import validation
from core.cli._context import Context


def cmd_checks(ctx: Context, args) -> dict:
    suite = validation.run_checks(ctx.lake, args.run, dataset=args.dataset, sensitive=args.sensitive, only=args.only,
                                  seed=args.seed, progress=ctx.progress)
    out = suite.to_dict()
    for check in out["checks"]:
        check.pop("seconds")
    out["timings"] = {c.check: round(c.seconds, 3) for c in suite.checks}
    return out


def register(sub) -> None:
    p = sub.add_parser("checks", help="validation checks of a model: data, leakage, calibration, robustness, weak "
                                      "slices, conformal coverage (pass/warn/fail with evidence)")
    p.add_argument("--run", metavar="RUN_ID", required=True)
    p.add_argument("--dataset", metavar="NAME@V", help="evaluation dataset (default: the run's held-out rows)")
    p.add_argument("--sensitive", nargs="+", metavar="COL", help="groups for conformal coverage (default: the run's)")
    p.add_argument("--only", metavar="NAME,...", help="only these checks, from: " + ",".join(validation.ORDER))
    p.add_argument("--seed", type=int, default=0, help="seed of the samples some checks draw (they say so)")
    p.set_defaults(handler=cmd_checks)
